"""Benchmark: seconds per optimizer step of the SFT, DPO and MCM-DPO recipes on the tiny offline LLaVA.

    python bench/bench_train.py [--batch-size 4] [--steps 20] [--warmup 4] [--repeats 2] [--max-ratio 4.5]
                                [--json FILE]

Same batch of preference pairs for DPO and MCM-DPO (MCM-DPO runs 8 sequences per pair through policy and
reference, DPO 2, so 4x is the floor) and the same items for SFT (1 sequence per item). Each recipe trains
``--steps`` steps on the demo train split; the first ``--warmup`` are dropped and the median of the rest is
reported, per wall-clock second and per second of this process's CPU time (on a machine whose cores other jobs
share, wall-clock times swing; the CPU time of a single-threaded run measures the work itself). Exits 1 when
the CPU-time ratio MCM-DPO / DPO exceeds ``--max-ratio``. Threads: 1, like the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def step_times(recipe: str, batch_size: int, steps: int, warmup: int, workdir: str) -> dict[str, float]:
    from transformers import TrainerCallback

    from altbench.train.config import load_config
    from altbench.train.data import load_items
    from altbench.train.recipes import build

    class Clock(TrainerCallback):
        def __init__(self) -> None:
            self.wall: list[float] = []
            self.cpu: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            self._w, self._c = time.perf_counter(), time.process_time()

        def on_step_end(self, args, state, control, **kwargs):
            self.wall.append(time.perf_counter() - self._w)
            self.cpu.append(time.process_time() - self._c)

    items, _ = load_items("demo-train", max_items=batch_size * steps)
    config = load_config(f"baselines/demo-{recipe}.yaml", recipe, max_steps=steps,
                         per_device_train_batch_size=batch_size, logging_steps=1000)
    trainer, _ = build(config, str(Path(workdir) / recipe), items=items, base_dir=workdir)
    clock = Clock()
    trainer.add_callback(clock)
    trainer.train()
    return {"wall_s": statistics.median(clock.wall[warmup:]), "cpu_s": statistics.median(clock.cpu[warmup:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-ratio", type=float, default=4.5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for recipe in ("sft", "dpo", "mcmdpo"):
                timed = step_times(recipe, args.batch_size, args.steps, args.warmup, tmp)
                best = results.setdefault(recipe, timed)
                results[recipe] = {k: min(best[k], timed[k]) for k in timed}
        for recipe in results:
            print(f"{recipe:>7}: {results[recipe]['wall_s']:.3f} s/step wall, {results[recipe]['cpu_s']:.3f} "
                  f"s/step CPU (batch {args.batch_size})", flush=True)
    ratio_cpu = results["mcmdpo"]["cpu_s"] / results["dpo"]["cpu_s"]
    ratio_wall = results["mcmdpo"]["wall_s"] / results["dpo"]["wall_s"]
    print(f"MCM-DPO / DPO: {ratio_cpu:.2f}x CPU time, {ratio_wall:.2f}x wall (limit {args.max_ratio}x, floor 4x)")
    if args.json:
        args.json.write_text(json.dumps({"batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup,
                                         "repeats": args.repeats,
                                         "results": results, "ratio_cpu": ratio_cpu, "ratio_wall": ratio_wall,
                                         "torch": torch.__version__, "machine": platform.platform()}, indent=2))
    return 0 if ratio_cpu <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
