"""Benchmark of the paired resampling engine (numbers recorded in docs/statistics.md).

    OMP_NUM_THREADS=1 python bench/bench_stats.py                 # 10,000 x 20,000 x 8 item-mean metrics
    python bench/bench_stats.py --mix coco                        # coco's 8: BLEU-1..4, METEOR (corpus), ...
    python bench/bench_stats.py --jobs 2 --repeat 5               # chunks on 2 worker processes

Two systems on the same items. "paired bootstrap" is what an interval and a bootstrap p-value of the
difference cost: shared multinomial weights, both systems' statistics re-aggregated, percentiles, p-values.
"permutation" is the approximate-randomization test on the same metrics; "compare" is both plus effect sizes
(what ``altbench compare`` does per pair). Memory: peak of numpy allocations (tracemalloc) during a call,
and the process's peak resident size. Wall and CPU seconds are both printed: on a shared machine the
wall time includes waiting for a core. With ``--jobs`` above 1 the chunks run in worker processes
(:mod:`altbench.executor`), whose CPU time the CPU column does not count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import tracemalloc

import numpy as np

from altbench.executor import Executor
from altbench.stats.bootstrap import Multinomial, StatBlock, Swaps, percentile_interval
from altbench.stats.paired import (
    bootstrap_pvalue,
    bootstrap_replicates,
    compare_pairs,
    permutation_deltas,
    permutation_pvalue,
)


def mean_metrics(rng: np.random.Generator, n: int, k: int, shift: float) -> list[StatBlock]:
    base = np.random.default_rng(0).beta(2, 5, (n, k))  # shared item difficulty
    return [StatBlock(np.clip(base[:, [j]] + rng.normal(shift, 0.1, (n, 1)), 0, 1), scale=100.0) for j in range(k)]


def coco_metrics(rng: np.random.Generator, n: int, shift: float) -> list[StatBlock]:
    """coco's corpus-level metrics with statistics of the real shapes (BLEU 10 columns, METEOR 24)."""
    hyp = rng.integers(5, 30, n)
    ref = np.maximum(1, hyp + rng.integers(-4, 5, n))
    totals = np.column_stack([np.maximum(0, hyp - k) for k in range(4)])
    matched = rng.binomial(totals, np.clip([0.6 + shift, 0.4 + shift, 0.25 + shift, 0.15 + shift], 0, 1))
    bleu = np.column_stack([hyp, ref, matched, totals]).astype(float)
    meteor = np.zeros((n, 24))
    meteor[:, 0], meteor[:, 1] = hyp, ref
    meteor[:, 2], meteor[:, 3] = hyp // 3, ref // 3
    for stage, p in enumerate((0.5 + shift, 0.05, 0.05, 0.02)):
        meteor[:, 4 + 4 * stage] = rng.binomial(hyp - hyp // 3, max(p, 0))
        meteor[:, 5 + 4 * stage] = meteor[:, 4 + 4 * stage]
        meteor[:, 6 + 4 * stage] = rng.binomial(hyp // 3, max(p, 0))
        meteor[:, 7 + 4 * stage] = meteor[:, 6 + 4 * stage]
    matched_words = meteor[:, 4:20].sum(axis=1) / 2
    meteor[:, 20] = np.maximum(1, rng.binomial(matched_words.astype(int), 0.3))
    meteor[:, 21] = meteor[:, 22] = matched_words
    meteor[:, 23] = meteor[:, 20]
    blocks = [StatBlock(bleu, f"coco_bleu{k}") for k in range(1, 5)]
    blocks.append(StatBlock(meteor, "coco_meteor"))
    blocks += mean_metrics(rng, n, 3, shift)  # ROUGE-L, CIDEr-D, one diagnostic: item means
    return blocks


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """(best wall seconds, best CPU seconds of this process, peak numpy bytes of a call).

    On a shared machine the wall time includes waiting for a core; the CPU time (all threads of this
    process) is what the work costs, and with one thread it is the wall time on an idle core.
    """
    best_wall = best_cpu = float("inf")
    peak = 0
    for _ in range(repeat):
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return best_wall, best_cpu, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--resamples", type=int, default=10_000)
    ap.add_argument("--metrics", type=int, default=8, help="item-mean metrics (--mix mean)")
    ap.add_argument("--mix", choices=("mean", "coco"), default="mean")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (altbench.executor); 1: this one")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    if args.mix == "mean":
        a, b = mean_metrics(rng, args.items, args.metrics, 0.0), mean_metrics(rng, args.items, args.metrics, 0.01)
    else:
        a, b = coco_metrics(rng, args.items, 0.0), coco_metrics(rng, args.items, 0.01)
    executor = Executor(args.jobs)
    starmap = executor.starmap
    observed = np.array([y.value() - x.value() for x, y in zip(a, b)])

    def paired_bootstrap():
        boot = bootstrap_replicates([a, b], Multinomial(args.resamples, args.seed), starmap)
        deltas = boot[:, 1] - boot[:, 0]
        return percentile_interval(deltas), bootstrap_pvalue(deltas, observed)

    def permutation():
        return permutation_pvalue(permutation_deltas(a, b, Swaps(args.resamples, args.seed), starmap), observed)

    def compare():
        return compare_pairs([a, b], [(0, 1)], resamples=args.resamples, trials=args.resamples, seed=args.seed,
                             starmap=starmap)

    rows = {}
    with executor:
        executor.start()
        for name, fn in (("paired bootstrap", paired_bootstrap), ("permutation", permutation), ("compare", compare)):
            wall, cpu, peak = timed(fn, args.repeat)
            rows[name] = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "peak_numpy_mib": round(peak / 2**20, 1)}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    report = {
        "items": args.items, "resamples": args.resamples, "metrics": len(a), "mix": args.mix, "systems": 2,
        "jobs": args.jobs, "repeat": args.repeat, "python": platform.python_version(), "numpy": np.__version__,
        "results": rows, "max_rss_mib": round(rss, 1), "load_average_1min": round(os.getloadavg()[0], 2),
    }
    width = max(map(len, rows))
    print(f"{args.resamples:,} paired resamples x {args.items:,} items x {len(a)} metrics ({args.mix}), "
          f"2 systems, --jobs {args.jobs}, best of {args.repeat}, load average {os.getloadavg()[0]:.1f}")
    for name, r in rows.items():
        print(f"  {name:<{width}}  wall {r['wall_s']:6.3f} s  cpu {r['cpu_s']:6.3f} s  "
              f"peak numpy memory {r['peak_numpy_mib']:6.1f} MiB")
    print(f"  process peak RSS {rss:.0f} MiB")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
