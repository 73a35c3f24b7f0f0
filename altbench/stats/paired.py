"""Paired tests between systems scored on the same items: every function is vectorised over metrics.

For a pair (A, B) and each metric, ``delta = value_B - value_A`` (reported scale, rebuilt from the summed
per-item statistics, unrounded) gets:

* a percentile bootstrap interval: the items are resampled once (multinomial weights shared by both systems
  and every metric) and each metric is re-aggregated from the resampled statistics of each system;
* a paired bootstrap p-value, two-sided, by the shift method: the replicates ``delta*`` are centred on the
  observed ``delta`` to mimic the null, ``c = #{|delta* - delta| >= |delta|}``;
* an approximate-randomization (paired permutation) p-value: each trial swaps the two systems' outputs on a
  random half of the items (independently per item), ``c = #{|delta_perm| >= |delta|}``;
* an effect size ``d_z``: mean over the standard deviation of per-item differences for metrics that are item
  means; for corpus-level metrics the same quantity estimated as ``delta / (se_bootstrap * sqrt(n))``.

p-values are ``(c + 1) / (N + 1)`` as in sacrebleu (never 0, valid for finite N); ties count against
rejection, so a system compared with itself gets p = 1. :func:`holm` adjusts a family of p-values.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from altbench.stats import defaults
from altbench.stats.bootstrap import (
    Multinomial,
    Scheme,
    StatBlock,
    Swaps,
    percentile_interval,
    replicates,
    stack,
    weighted_sums,
)
from altbench.stats.products import (
    Products,
    bootstrap_pvalue,
    pair_draws,
    permutation_pvalue,
    shared_products,
)
from altbench.tasks import Starmap


@dataclass(frozen=True)
class PairedResult:
    """One metric, one pair: B minus A.

    delta:            value_B - value_A in the metric's reported scale (unrounded).
    ci_low, ci_high:  percentile bootstrap interval of delta at ``level``.
    se:               bootstrap standard deviation of delta.
    p_bootstrap:      two-sided paired bootstrap p-value (shift method).
    p_permutation:    two-sided approximate-randomization p-value.
    effect_size:      d_z (NaN when undefined, e.g. no variation at all but a non-zero difference).
    effect_size_kind: ``"dz"`` (per-item differences) or ``"dz-bootstrap"`` (delta / (se * sqrt(n))).
    replicates:       the bootstrap replicates of delta (``keep_replicates``; for the regress gate's p-values).
    """

    delta: float
    ci_low: float
    ci_high: float
    level: float
    se: float
    p_bootstrap: float
    p_permutation: float
    effect_size: float
    effect_size_kind: str
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)  # of delta, when kept


def bootstrap_replicates(runs: Sequence[Sequence[StatBlock]], scheme: Scheme,
                         starmap: Starmap | None = None) -> np.ndarray:
    """(replicates, n_runs, n_metrics) values of every metric of every run under one set of resamples."""
    flat = [block for run in runs for block in run]
    out = replicates(flat, scheme, starmap)
    return out.reshape(scheme.replicates, len(runs), -1)


def permutation_deltas(a: Sequence[StatBlock], b: Sequence[StatBlock], scheme: Scheme,
                       starmap: Starmap | None = None) -> np.ndarray:
    """(trials, n_metrics) values of B* - A* when the scheme's 0/1 weights swap items between A and B."""
    diffs = [StatBlock(y.stats - x.stats) for x, y in zip(a, b)]
    matrix, slices = stack(diffs)
    moved = weighted_sums(matrix, scheme, starmap)  # sum over swapped items of (stats_B - stats_A)
    out = np.empty((scheme.replicates, len(a)))
    for j, (x, y, sl) in enumerate(zip(a, b, slices)):
        moved_j = moved[:, sl]
        out[:, j] = y.aggregate(y.stats.sum(0) - moved_j) - x.aggregate(x.stats.sum(0) + moved_j)
    return out


def effect_sizes(a: Sequence[StatBlock], b: Sequence[StatBlock], deltas: np.ndarray,
                 se: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """d_z per metric: exact for item means, bootstrap-based for corpus-level metrics."""
    values = np.full(len(a), np.nan)
    kinds: list[str] = []
    for j, (x, y) in enumerate(zip(a, b)):
        if x.linear and y.linear and x.scale == y.scale and x.n > 1:
            d = (y.stats[:, 0] - x.stats[:, 0]) * x.scale
            values[j] = _ratio(float(d.mean()), float(d.std(ddof=1)))
            kinds.append("dz")
        else:
            values[j] = _ratio(float(deltas[j]), float(se[j]) * math.sqrt(max(x.n, 1)))
            kinds.append("dz-bootstrap")
    return values, kinds


def _ratio(num: float, den: float) -> float:
    if not (math.isfinite(num) and math.isfinite(den)):
        return math.nan
    if den > 0:
        return num / den
    return 0.0 if num == 0 else math.nan


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone); NaN entries are left out of the family."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    if idx.size == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


PAIR_METHODS = ("shared", "per-pair")


def paired_results(a: Sequence[StatBlock], b: Sequence[StatBlock], observed: np.ndarray, deltas: np.ndarray,
                   p_perm: np.ndarray, level: float, keep_replicates: bool = False,
                   groups: Sequence[int] | None = None) -> list[PairedResult]:
    """One :class:`PairedResult` per entry (block ``b[e]`` minus block ``a[e]``) from the draws: the observed
    differences (entries,), the bootstrap replicates of the differences (resamples, entries) and the
    permutation p-values (entries,).

    ``groups``: sizes of consecutive runs of entries that one per-pair call would have held (a pair's
    metrics on one item order), when several are given at once: a one-metric call's standard error is a
    contiguous sum (numpy sums those pairwise), so it is recomputed alone to give the same bits.
    """
    lo, hi = percentile_interval(deltas, level)
    with warnings.catch_warnings():  # an all-NaN column (metric undefined) has no spread: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        se = np.nanstd(deltas, axis=0, ddof=1)
        start = 0
        for size in (groups or ()):
            if size == 1 and len(observed) > 1:
                se[start] = np.nanstd(np.ascontiguousarray(deltas[:, start : start + 1]), axis=0, ddof=1)[0]
            start += size
    p_boot = bootstrap_pvalue(deltas, observed)
    dz, kinds = effect_sizes(a, b, observed, se)
    return [
        PairedResult(float(observed[m]), float(lo[m]), float(hi[m]), level, float(se[m]),
                     float(p_boot[m]), float(p_perm[m]), float(dz[m]), kinds[m],
                     deltas[:, m].copy() if keep_replicates else None)
        for m in range(len(observed))
    ]


def pair_results(p: Products, a: Sequence[int], b: Sequence[int], level: float = defaults.LEVEL,
                 keep_replicates: bool = False, groups: Sequence[int] | None = None) -> list[PairedResult]:
    """Blocks ``b[e]`` minus blocks ``a[e]`` of the shared products ``p``: one result per entry (one pair's
    metrics, or many pairs' at once; ``groups`` as in :func:`paired_results`)."""
    observed, deltas, p_perm = pair_draws(p, a, b)
    return paired_results([p.blocks[i] for i in a], [p.blocks[j] for j in b], observed, deltas, p_perm, level,
                          keep_replicates, groups)


def compare_pairs(
    runs: Sequence[Sequence[StatBlock]],
    pairs: Sequence[tuple[int, int]],
    *,
    resamples: int = defaults.RESAMPLES,
    trials: int = defaults.TRIALS,
    seed: int = defaults.SEED,
    level: float = defaults.LEVEL,
    starmap: Starmap | None = None,
    keep_replicates: bool = False,
    method: str = "shared",
) -> list[list[PairedResult]]:
    """For each pair (i, j) of run indices, one :class:`PairedResult` per metric (run j minus run i).

    ``runs[r][m]`` is metric m of run r, all on the same items in the same order. Bootstrap resamples are
    shared by all runs and metrics; the permutation trials use one seeded set of swaps for every pair.
    ``starmap``: where the chunks of resamples and trials are computed (:mod:`altbench.tasks`; default here).
    ``method``: ``"shared"`` computes the weighted sums once per run (:mod:`altbench.stats.products`), so a
    pair costs no pass over the items; ``"per-pair"`` permutes each pair's own differences, as altbench did
    before (kept as the reference that the shared path is tested against, and for the benchmark).
    """
    if method not in PAIR_METHODS:
        raise ValueError(f"method must be one of {', '.join(PAIR_METHODS)}, got {method!r}")
    if not runs or not pairs:
        return [[] for _ in pairs]
    n_items = {block.n for run in runs for block in run}
    if len(n_items) > 1:
        raise ValueError(f"runs do not share their items: item counts {sorted(n_items)}")
    if method == "shared":
        flat = [block for run in runs for block in run]
        starts = np.cumsum([0] + [len(run) for run in runs])
        products = shared_products(flat, resamples, trials, seed, starmap)
        return [pair_results(products, range(starts[i], starts[i + 1]), range(starts[j], starts[j + 1]), level,
                             keep_replicates, [starts[i + 1] - starts[i]]) for i, j in pairs]
    values = np.array([[block.value() for block in run] for run in runs])
    boot = bootstrap_replicates(runs, Multinomial(resamples, seed), starmap)
    swaps = Swaps(trials, seed)
    out = []
    for i, j in pairs:
        observed = values[j] - values[i]
        p_perm = permutation_pvalue(permutation_deltas(runs[i], runs[j], swaps, starmap), observed)
        out.append(paired_results(runs[i], runs[j], observed, boot[:, j, :] - boot[:, i, :], p_perm, level,
                                  keep_replicates))
    return out
