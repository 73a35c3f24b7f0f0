"""Benchmark: batched, left-padded generation against the reference code's batch-1 loop.

    python bench/bench_generation.py [--model llava] [--batch-size 8] [--new-tokens 64] [--repeats 5]

Builds a tiny random VLM offline (:mod:`altbench.models.tiny`; ``--model`` picks the architecture, or
``--path DIR`` takes a saved checkpoint), loads the 48-item demo split, and generates alt-text for every
item twice with the same adapter: one item at a time (as the reference code does) and in batches.
Decoding is greedy with a fixed number of new tokens (``min_new_tokens = max_new_tokens``), so both runs
do the same amount of work per item; the default 64 is the length of a TAlt reference alt-text in the tiny
byte-level tokenizer (the released sample's references average 109 characters, 68 such tokens). Checks that the two give identical outputs, then prints items/s for
each and their ratio, best of ``--repeats`` (default 5), both per wall-clock second and per second of this
process's CPU time: on a machine whose cores other jobs share, wall-clock rates swing by 2x from one run to
the next, while the CPU time of a single-threaded run measures the work itself. Exits 1 on any difference,
or when the CPU-time ratio is below ``--min-ratio``. Threads: 1 (``OMP_NUM_THREADS``, and no tokenizer thread pool), like the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread for the tokenizer too
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _timed(adapter, items, images, batch_size: int) -> tuple[float, float, list[str]]:
    """(wall seconds, this process's CPU seconds, outputs) for generating every item."""
    wall, cpu = time.perf_counter(), time.process_time()
    texts: list[str] = []
    for i in range(0, len(items), batch_size):
        texts += [g.prediction for g in adapter.generate(items[i : i + batch_size], images[i : i + batch_size])]
    return time.perf_counter() - wall, time.process_time() - cpu, texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", default="llava", help="tiny architecture: llava, llava_next, qwen2_vl, idefics3"
    )
    parser.add_argument("--path", default=None, help="a saved checkpoint instead of a tiny one")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-ratio", type=float, default=0.0)
    args = parser.parse_args()

    import torch
    import transformers

    from altbench.data.images import load_image
    from altbench.data.splits import load_split
    from altbench.models import tiny
    from altbench.models.registry import REGISTRY

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path or str(tiny.BUILDERS[args.model](Path(tmp) / args.model, seed=0))
        _, adapter = REGISTRY.create(path, {"max_new_tokens": args.new_tokens})
        adapter.decoding["min_new_tokens"] = args.new_tokens  # equal work per item in both loops
        items = list(load_split("demo").items)
        images = [load_image(it) for it in items]
        _timed(adapter, items[:2], images[:2], 2)  # warm-up
        best = {"loop": [float("inf")] * 2, "batched": [float("inf")] * 2}  # [wall, cpu] seconds
        for _ in range(args.repeats):
            *t1, one = _timed(adapter, items, images, 1)
            *tb, many = _timed(adapter, items, images, args.batch_size)
            if one != many:
                diff = sum(a != b for a, b in zip(one, many))
                print(f"outputs differ between batch 1 and batch {args.batch_size} on {diff} items", file=sys.stderr)
                return 1
            best["loop"] = [min(a, b) for a, b in zip(best["loop"], t1)]
            best["batched"] = [min(a, b) for a, b in zip(best["batched"], tb)]
    n = len(items)
    report = {
        "model": args.path or f"tiny-{args.model}",
        "items": n,
        "new_tokens": args.new_tokens,
        "batch_size": args.batch_size,
        "outputs_identical": True,
        "loop_items_per_s": round(n / best["loop"][0], 2),
        "batched_items_per_s": round(n / best["batched"][0], 2),
        "ratio": round(best["loop"][0] / best["batched"][0], 2),
        "loop_items_per_cpu_s": round(n / best["loop"][1], 2),
        "batched_items_per_cpu_s": round(n / best["batched"][1], 2),
        "cpu_ratio": round(best["loop"][1] / best["batched"][1], 2),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
    }
    print(json.dumps(report, indent=2))
    return 0 if report["cpu_ratio"] >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
