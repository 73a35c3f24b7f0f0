"""The permutation test's false-rejection rate when every pair of a leaderboard shares one set of swap masks.

    python bench/bench_shared_null.py [--seeds 400] [--systems 20] [--items 300] [--trials 2000]

Each seed draws ``--systems`` systems from one distribution (a shared item difficulty plus independent noise,
so the null is true for every pair) and tests every pair on two metrics, an item mean and a corpus-level ratio
of summed statistics, with :func:`altbench.stats.paired.compare_pairs` (the shared products: one set of masks
for all pairs, as the leaderboard does). It prints the share of p-values below 0.01, 0.05 and 0.10 per metric;
each should be at most its alpha, and near it. The pairs of one seed are dependent (shared systems, shared
masks), so the rate's Monte Carlo error is larger than a binomial one over the same count; seeds are
independent. tests/test_stats_products.py runs a smaller version (200 seeds x 10 systems x 100 items).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_stats_products import _null_p_values


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=400)
    ap.add_argument("--systems", type=int, default=20)
    ap.add_argument("--items", type=int, default=300)
    ap.add_argument("--trials", type=int, default=2000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    p = np.concatenate([_null_p_values(1_000_000 + s, args.systems, args.items, args.trials)
                        for s in range(args.seeds)])
    pairs = args.seeds * args.systems * (args.systems - 1) // 2
    print(f"{args.seeds} seeds x {args.systems} systems ({pairs:,} pairs) x {args.items} items, {args.trials:,} "
          f"trials, shared masks per seed; {time.perf_counter() - t0:.0f} s")
    seed_rates = [(chunk < 0.05).mean() for chunk in np.array_split(p, args.seeds)]
    for m, name in enumerate(("item mean", "corpus ratio")):
        rates = "  ".join(f"p<{a}: {(p[:, m] < a).mean():.4f}" for a in (0.01, 0.05, 0.10))
        print(f"{name:<13} {rates}")
    print(f"both          p<0.05: {(p < 0.05).mean():.4f} (sd of a seed's rate {np.std(seed_rates):.4f})")


if __name__ == "__main__":
    main()
