"""Simulation of the regress gate's run-level error (numbers recorded in docs/statistics.md, section 3).

    OMP_NUM_THREADS=1 python bench/bench_regress_familywise.py                  # 10,000 runs, k = 1, 2, 4, 8
    python bench/bench_regress_familywise.py --runs 2000 --resamples 10000 --k 4 --rho 0.5

Each simulated run gates a candidate against a baseline on k metrics, n items, paired (a shared item
difficulty plus independent noise per system; ``--rho`` correlates the k metrics' noise). Two settings:

* at the margin: every metric's true improvement is exactly -margin, the least favourable case for a false
  regression. A run is a false regression when any metric is called a regression;
* one real drop: one metric drops by ``--drop`` (the others at 0), to show what the adjustment costs in power.

The decisions are the gate's own (:func:`altbench.stats.gate.regression_pvalues` and
:func:`~altbench.stats.gate.familywise_regressions`) on the paired bootstrap's replicates, exactly as
``altbench regress`` makes them; 100 runs share one set of resampling weights, each group its own seed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from altbench.stats.bootstrap import Multinomial, StatBlock, replicates
from altbench.stats.gate import familywise_regressions, regression_pvalues

GROUP = 100
METHODS = ("none", "holm", "bonferroni")


def simulate(k: int, runs: int, n: int, margin: float, truth: np.ndarray, rho: float, resamples: int,
             alpha: float, seed: int) -> dict[str, float]:
    """Share of runs with a regression by each method (and of metrics with one, unadjusted)."""
    rng = np.random.default_rng(seed)
    flags = {m: [] for m in METHODS}
    cols = GROUP * k

    def noise() -> np.ndarray:  # sd 0.1; the k metrics of a run correlated by rho, runs independent
        shared = rng.normal(0, 1, (n, GROUP, 1))
        own = rng.normal(0, 1, (n, GROUP, k))
        return (0.1 * (np.sqrt(rho) * shared + np.sqrt(1 - rho) * own)).reshape(n, cols)

    for g in range(runs // GROUP):
        difficulty = rng.normal(0.5, 0.15, (n, cols))
        a = difficulty + noise()
        b = difficulty + noise() + np.tile(truth, GROUP)
        reps = replicates([StatBlock(x[:, [c]]) for x in (a, b) for c in range(cols)],
                          Multinomial(resamples, seed + g))
        p = regression_pvalues(reps[:, cols:] - reps[:, :cols], margin).reshape(GROUP, k)
        for m in METHODS:
            flags[m].append(familywise_regressions(p, alpha, m))
    out = {m: float(np.concatenate(flags[m]).any(axis=1).mean()) for m in METHODS}
    out["per metric"] = float(np.concatenate(flags["none"]).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--n", type=int, default=200, help="items per run")
    parser.add_argument("--margin", type=float, default=0.01, help="raw scale (0.01 = 1 point)")
    parser.add_argument("--drop", type=float, default=0.04, help="true drop of one metric, raw scale")
    parser.add_argument("--rho", type=float, default=0.0, help="correlation of the k metrics' noise")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{args.runs} runs, {args.n} items, margin {args.margin}, rho {args.rho}, {args.resamples} resamples, "
          f"alpha {args.alpha}")
    print(f"{'k':>2}  {'setting':<22} {'per metric':>10} " + " ".join(f"{m:>10}" for m in METHODS) + "   seconds")
    for k in args.k:
        for name, truth in (("at the margin (false)", np.full(k, -args.margin)),
                            (f"one drop of {args.drop:g} (power)", np.r_[-args.drop, np.zeros(k - 1)])):
            start = time.perf_counter()
            rates = simulate(k, args.runs, args.n, args.margin, truth, args.rho, args.resamples, args.alpha,
                             args.seed)
            print(f"{k:>2}  {name:<22} {rates['per metric']:>10.4f} "
                  + " ".join(f"{rates[m]:>10.4f}" for m in METHODS) + f"   {time.perf_counter() - start:.1f}")


if __name__ == "__main__":
    main()
