"""The statistical defaults of every command and library function, in one place.

``altbench run``/``score`` (intervals), ``compare``, ``regress`` and ``leaderboard`` (the significance policy
of :mod:`altbench.stats.engine`), the Python API (:func:`altbench.score`, :func:`altbench.evaluate`,
:func:`altbench.stats.gate.regress`, :func:`altbench.stats.compare.compare_runs`, the leaderboard's
configuration) and ``arena``/``meta-eval`` read their defaults from here; ``tests/test_stats_defaults.py``
fails when any option or signature drifts from these constants. docs/statistics.md, section 0.
"""

from __future__ import annotations

RESAMPLES = 10_000  # bootstrap resamples: the 95% intervals of every run, the interval of a paired difference
TRIALS = 10_000  # approximate-randomization (paired permutation) trials: the p-value that decides significance
SEED = 0
LEVEL = 0.95  # confidence level of the intervals
ALPHA = 0.05  # significance level of the decisions (compare, leaderboard ranks; regress's interval is 1 - alpha)
FAMILYWISE_METHODS = ("none", "holm", "bonferroni")  # regress: the regression side over the gated metrics
FAMILYWISE = "none"  # each gated metric at alpha (the run-level rate is higher: docs/statistics.md, section 3)

# The arena refits the Bradley-Terry model once per resample (a scipy optimisation each, not a matrix product).
# Measured for 3 runs x 48 items (3 pairs, judged outcomes) on the 2-core development machine at load 4:
# 7.9 s for 1,000 resamples, 63 s for 10,000; more models cost more per refit. 10,000 would cost minutes on
# a real arena, so it stays at 1,000 (the intervals' Monte Carlo error at 1,000 is a few rating points).
ARENA_RESAMPLES = 1_000

# meta-eval recomputes scipy's Kendall tau-b and tau-c per resample and per metric. Measured on the same
# machine: 3.9 s per metric for 1,000 resamples of 5,664 judgments (Flickr8k-Expert's size), so 10,000 would
# take about 40 s per metric and about 9 minutes for the paper and coco metrics together: 1,000 it is.
METAEVAL_RESAMPLES = 1_000

# judge-check computes each reliability figure per resample (a mean, Cohen's kappa, Krippendorff's alpha, or a
# small Newton fit of the length slope), far cheaper than the arena's refits; 1,000 keeps it in step with the
# arena whose battles it checks.
JUDGECHECK_RESAMPLES = 1_000
