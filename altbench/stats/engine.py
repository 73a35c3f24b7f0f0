"""The one analysis engine: which pairs of runs differ significantly on which metric.

``altbench compare``, ``altbench regress`` and the leaderboard's significance-aware ranks all call
:func:`analyse_pair`, under one :class:`Policy` (docs/statistics.md, "Significance policy"):

* test:   paired approximate randomization (each trial swaps the two runs' outputs on a random half of the
  items; corpus metrics re-aggregated from their per-item statistics), two-sided, ``p = (c + 1) / (N + 1)``;
  the paired bootstrap gives the interval of the difference and a second p-value, which is shown, not used;
* family: one pair of runs; its *quality* metrics are every non-diagnostic metric both runs report with the
  same settings on the same items, its *diagnostic* metrics a second family; each family is Holm-adjusted;
* decision: significant when the Holm-adjusted permutation p-value is below ``alpha``.

Because the family is the pair's own metrics, and the resampling draws depend only on the number of items
and the seed, a pair's verdict is the same whichever command asks, whichever metrics it displays and
whichever other runs it is shown with. Multiplicity across pairs is not corrected (a leaderboard of k
models makes k(k-1)/2 such decisions per metric); docs/statistics.md says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from altbench.errors import AltbenchError
from altbench.results.numbers import reported
from altbench.stats import defaults
from altbench.stats.comparable import LoadedRun, incomparability
from altbench.stats.paired import PairedResult, compare_pairs, holm
from altbench.tasks import Starmap

QUALITY, DIAGNOSTIC = "quality", "diagnostic"


@dataclass(frozen=True)
class Policy:
    """How significance is decided; every field is recorded with the results that use it."""

    resamples: int = defaults.RESAMPLES  # bootstrap resamples for the interval of the difference
    trials: int = defaults.TRIALS  # permutation trials for the p-value that decides
    seed: int = defaults.SEED
    level: float = defaults.LEVEL
    alpha: float = defaults.ALPHA

    def __post_init__(self) -> None:
        for name in ("resamples", "trials"):
            if getattr(self, name) < 1:
                raise AltbenchError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("level", "alpha"):
            if not 0 < getattr(self, name) < 1:
                raise AltbenchError(f"{name} must lie strictly between 0 and 1, got {getattr(self, name)}")

    @property
    def signature(self) -> str:
        return (f"paired:items|ci:percentile-bootstrap|n:{self.resamples}|p:approx-randomization"
                f"|trials:{self.trials}|seed:{self.seed}|level:{self.level}|correction:holm-per-pair-family"
                f"|alpha:{self.alpha}")

    DESCRIPTION = ("paired approximate-randomization test, two-sided, Holm-adjusted over the quality metrics "
                   "the two runs share (diagnostics: a family of their own)")


def family(key: str) -> str:
    return DIAGNOSTIC if key.startswith("diag/") else QUALITY


@dataclass(frozen=True)
class PairTest:
    """One metric, one pair: run ``b`` minus run ``a``, decided under the policy.

    ``value_a``/``value_b`` are the runs' stored (reported) values, as the run table shows them; the test's
    difference and interval come from the per-item statistics, unrounded (round them with
    :meth:`reported`)."""

    a: str
    b: str
    metric: str
    n: int
    value_a: float
    value_b: float
    higher_is_better: bool
    scale: float
    test: PairedResult
    p_holm: float  # permutation p-value, Holm-adjusted within the pair's family
    p_bootstrap_holm: float
    alpha: float
    decimals: int | None = None  # of the reported scale, when the convention rounds (paper: 3)

    def reported(self, x: float) -> float:
        """A difference (or a bound of its interval) rounded as the metric's values are (NaN kept)."""
        r = reported(x, self.decimals)
        return math.nan if r is None else r

    @property
    def significant(self) -> bool:
        return math.isfinite(self.p_holm) and self.p_holm < self.alpha

    @property
    def better(self) -> str | None:
        """Label of the significantly better run, else None."""
        if not self.significant or self.test.delta == 0:
            return None
        return self.b if (self.test.delta > 0) == self.higher_is_better else self.a


@dataclass(frozen=True)
class PairAnalysis:
    a: str
    b: str
    tests: dict[str, PairTest]  # every testable metric of the pair (both families)
    untestable: dict[str, str]  # metric -> why it could not be tested for this pair

    def significant(self) -> set[str]:
        return {k for k, t in self.tests.items() if t.significant}


def testable_keys(a: LoadedRun, b: LoadedRun) -> tuple[list[str], dict[str, str]]:
    """(metrics both runs report with the same settings on the same items, {other shared metric: why not})."""
    shared = [k for k in a.metrics if k in b.metrics]
    ok, why = [], {}
    for key in shared:
        reason = incomparability(a, b, key)
        if reason is None:
            ok.append(key)
        else:
            why[key] = reason
    return ok, why


def analyse_pair(a: LoadedRun, b: LoadedRun, policy: Policy | None = None, keep_replicates: bool = False,
                 starmap: Starmap | None = None) -> PairAnalysis:
    """Every testable metric of the pair, each family Holm-adjusted (see the module docstring).
    ``keep_replicates``: each test keeps the bootstrap replicates of its difference (for regress).
    ``starmap``: where the chunks of resamples and trials are computed (:mod:`altbench.tasks`)."""
    policy = policy or Policy()
    keys, untestable = testable_keys(a, b)
    tests: dict[str, PairTest] = {}
    for fam in (QUALITY, DIAGNOSTIC):
        fam_keys = [k for k in keys if family(k) == fam]
        # metrics scored on different scorings may pair different (equal) item sets: group by item order
        by_order: dict[tuple[str, ...], list[str]] = {}
        for k in fam_keys:
            by_order.setdefault(tuple(a.ids(k)), []).append(k)
        raw: list[tuple[str, int, PairedResult, float, float]] = []
        for order, group in by_order.items():
            blocks = [[a.block(k, order) for k in group], [b.block(k, order) for k in group]]
            (results,) = compare_pairs(blocks, [(0, 1)], resamples=policy.resamples, trials=policy.trials,
                                       seed=policy.seed, level=policy.level, keep_replicates=keep_replicates,
                                       starmap=starmap)
            raw += [(k, len(order), r, _stored(a, k), _stored(b, k)) for k, r in zip(group, results)]
        p_perm = holm([r.p_permutation for _, _, r, _, _ in raw])
        p_boot = holm([r.p_bootstrap for _, _, r, _, _ in raw])
        for j, (k, n, r, va, vb) in enumerate(raw):
            meta = a.metrics[k]
            tests[k] = PairTest(a.label, b.label, k, n, va, vb, meta.higher_is_better, meta.scale, r,
                                float(p_perm[j]), float(p_boot[j]), policy.alpha, meta.decimals)
    ordered = {k: tests[k] for k in keys if k in tests}
    return PairAnalysis(a.label, b.label, ordered, untestable)


def _stored(run: LoadedRun, key: str) -> float:
    value = run.metrics[key].value
    return math.nan if value is None else float(value)


def analyse_pairs(runs: Sequence[LoadedRun], pairs: Sequence[tuple[int, int]],
                  policy: Policy | None = None, starmap: Starmap | None = None) -> list[PairAnalysis]:
    return [analyse_pair(runs[i], runs[j], policy, starmap=starmap) for i, j in pairs]
