"""Benchmark: seconds per optimizer step of every recipe (SFT, DPO, MCM-DPO, mDPO, MPO) on the tiny offline LLaVA,
and each one's cost relative to DPO.

    python bench/bench_train.py [--batch-size 4] [--steps 20] [--warmup 4] [--repeats 2] [--max-ratio 4.5]
                                [--recipes sft,dpo,mcmdpo,mdpo,mpo] [--json FILE]

The same batch of preference pairs for the preference recipes (sequences per pair through policy and reference:
DPO 2, MPO 2, mDPO 3, MCM-DPO 8, so 1x, 1.5x and 4x DPO are the floors) and the same items for SFT (1 sequence
per item, no reference). Each recipe trains ``--steps`` steps on the demo train split with its demo config; the
first ``--warmup`` are dropped and the median of the rest is reported, per wall-clock second and per second of
this process's CPU time (on a machine whose cores other jobs share, wall-clock times swing; the CPU time of a
single-threaded run measures the work itself), best of ``--repeats`` interleaved rounds. Exits 1 when the
CPU-time ratio MCM-DPO / DPO exceeds ``--max-ratio``. Threads: 1, like the tests.
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


RECIPES = ("sft", "dpo", "mcmdpo", "mdpo", "mpo")
SEQUENCES_PER_PAIR = {"sft": 1, "dpo": 2, "mcmdpo": 8, "mdpo": 3, "mpo": 2}


def step_times(recipe: str, batch_size: int, steps: int, warmup: int, workdir: str) -> dict[str, float]:
    from altbench.models.hf_files import ensure_torchvision

    ensure_torchvision()  # transformers' trainer imports torchvision, whose operators need this beside a CPU torch
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
    parser.add_argument("--recipes", default=",".join(RECIPES),
                        help="comma-separated; DPO is always timed (the ratios' denominator)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    recipes = [r for r in RECIPES if r in {*args.recipes.split(","), "dpo"}]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for recipe in recipes:
                timed = step_times(recipe, args.batch_size, args.steps, args.warmup, tmp)
                best = results.setdefault(recipe, timed)
                results[recipe] = {k: min(best[k], timed[k]) for k in timed}
    dpo = results["dpo"]
    ratios = {r: {"cpu": results[r]["cpu_s"] / dpo["cpu_s"], "wall": results[r]["wall_s"] / dpo["wall_s"]}
              for r in recipes}
    print(f"batch {args.batch_size}, {args.steps} steps ({args.warmup} dropped), best of {args.repeats}, 1 thread")
    print(f"{'recipe':>7}  {'seq/pair':>8}  {'s/step CPU':>10}  {'s/step wall':>11}  {'x DPO (CPU)':>11}  "
          f"{'x DPO (wall)':>12}")
    for recipe in recipes:
        print(f"{recipe:>7}  {SEQUENCES_PER_PAIR[recipe]:>8}  {results[recipe]['cpu_s']:>10.3f}  "
              f"{results[recipe]['wall_s']:>11.3f}  {ratios[recipe]['cpu']:>10.2f}x  {ratios[recipe]['wall']:>11.2f}x",
              flush=True)
    ratio_cpu = ratios.get("mcmdpo", {}).get("cpu", 0.0)
    ratio_wall = ratios.get("mcmdpo", {}).get("wall", 0.0)
    if "mcmdpo" in ratios:
        print(f"MCM-DPO / DPO: {ratio_cpu:.2f}x CPU time, {ratio_wall:.2f}x wall (limit {args.max_ratio}x, floor 4x)")
    if args.json:
        args.json.write_text(json.dumps({"batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup,
                                         "repeats": args.repeats,
                                         "results": results, "ratios_to_dpo": ratios,
                                         "ratio_cpu": ratio_cpu, "ratio_wall": ratio_wall,
                                         "torch": torch.__version__, "machine": platform.platform()}, indent=2))
    return 0 if ratio_cpu <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
