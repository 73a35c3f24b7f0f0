"""The one analysis engine: which pairs of runs differ significantly on which metric.

``altbench compare``, ``altbench regress`` and the leaderboard's significance-aware ranks all call
:func:`analyse_pairs` (one pair: :func:`analyse_pair`), under one :class:`Policy` (docs/statistics.md,
"Significance policy"):

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

The heavy part (the resampling weights times each run's per-item statistics) is computed once per run for
all pairs (:mod:`altbench.stats.products`); each pair's test is then made of differences of those products,
with the numbers of the per-pair computation (``method="per-pair"``, kept as the reference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from altbench.errors import AltbenchError
from altbench.results.numbers import reported
from altbench.stats import defaults
from altbench.stats.bootstrap import StatBlock
from altbench.stats.comparable import LoadedRun, incomparability
from altbench.stats.paired import PAIR_METHODS, PairedResult, compare_pairs, holm, pair_results
from altbench.stats.products import shared_products
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
    return analyse_pairs([a, b], [(0, 1)], policy, keep_replicates, starmap=starmap)[0]


@dataclass(frozen=True)
class _Plan:
    """What one pair tests: per family, its metrics grouped by the item order they are paired in."""

    keys: list[str]
    untestable: dict[str, str]
    groups: list[tuple[str, bytes, list[str]]]  # (family, item order's digest, metric keys): orders of run a


def _plan(a: LoadedRun, b: LoadedRun) -> _Plan:
    keys, untestable = testable_keys(a, b)
    groups = []
    for fam in (QUALITY, DIAGNOSTIC):
        # metrics scored on different scorings may pair different (equal) item sets: group by item order
        by_order: dict[bytes, list[str]] = {}
        for k in keys:
            if family(k) == fam:
                by_order.setdefault(a.order_digest(k), []).append(k)
        groups += [(fam, order, group) for order, group in by_order.items()]
    return _Plan(keys, untestable, groups)


def analyse_pairs(runs: Sequence[LoadedRun], pairs: Sequence[tuple[int, int]], policy: Policy | None = None,
                  keep_replicates: bool = False, method: str = "shared", starmap: Starmap | None = None
                  ) -> list[PairAnalysis]:
    """:func:`analyse_pair` for each pair ``(i, j)`` of ``runs`` (run j minus run i).

    ``method="shared"``: the heavy products (bootstrap and permutation weights times each run's per-item
    statistics) are computed once per run and item order, for all pairs at once
    (:mod:`altbench.stats.products`), so a pair costs no pass over the items. ``method="per-pair"``: each pair
    computes its own, as altbench did before; the reference of ``tests/test_stats_products.py`` (the same
    p-values and intervals) and of ``bench/bench_leaderboard.py``. ``starmap``: where the chunks of resamples
    and trials are computed (:mod:`altbench.tasks`; default here).
    """
    policy = policy or Policy()
    if method not in PAIR_METHODS:
        raise AltbenchError(f"method must be one of {', '.join(PAIR_METHODS)}, got {method!r}")
    plans = [_plan(runs[i], runs[j]) for i, j in pairs]
    if method == "per-pair":
        results = [[_per_pair(runs[i], runs[j], runs[i].id_order(group[0]), group, policy, keep_replicates, starmap)
                    for _, _, group in plan.groups] for (i, j), plan in zip(pairs, plans)]
    else:
        results = _shared(runs, pairs, plans, policy, keep_replicates, starmap)
    return [_analysis(runs[i], runs[j], plan, res, policy) for (i, j), plan, res in zip(pairs, plans, results)]


def _per_pair(a: LoadedRun, b: LoadedRun, order: tuple[str, ...], keys: list[str], policy: Policy,
              keep_replicates: bool, starmap: Starmap | None) -> list[PairedResult]:
    blocks = [[a.block(k, order) for k in keys], [b.block(k, order) for k in keys]]
    (results,) = compare_pairs(blocks, [(0, 1)], resamples=policy.resamples, trials=policy.trials, seed=policy.seed,
                               level=policy.level, keep_replicates=keep_replicates, method="per-pair",
                               starmap=starmap)
    return results


BATCH = 512  # metric entries (of several pairs) tested in one vectorised call: ~40 MB per array at 10,000 draws


def _shared(runs: Sequence[LoadedRun], pairs: Sequence[tuple[int, int]], plans: list[_Plan], policy: Policy,
            keep_replicates: bool, starmap: Starmap | None) -> list[list[list[PairedResult]]]:
    """Every pair's groups from products shared by all pairs: each (run, metric, item order) block once, and
    the pairs' tests in vectorised batches of entries."""
    index: dict[tuple[int, str, bytes], tuple[int, int]] = {}  # -> (item count, position)
    blocks: dict[int, list[StatBlock]] = {}  # item count -> blocks (the weights depend on the count only)

    def slot(r: int, key: str, order: bytes, of: int) -> tuple[int, int]:
        """Run r's block of ``key`` in the item order of run ``of`` (the pair's first run)."""
        found = index.get((r, key, order))
        if found is None:
            block = runs[r].block(key, runs[of].id_order(key))
            group = blocks.setdefault(block.n, [])
            found = index[(r, key, order)] = (block.n, len(group))
            group.append(block)
        return found

    # one job per (pair, group): its item count, and the positions of its blocks in that count's products
    jobs: dict[int, list[tuple[int, int, list[int], list[int]]]] = {}
    for p, ((i, j), plan) in enumerate(zip(pairs, plans)):
        for g, (_, order, keys) in enumerate(plan.groups):
            a = [slot(i, k, order, i) for k in keys]
            b = [slot(j, k, order, i) for k in keys]
            jobs.setdefault(a[0][0], []).append((p, g, [x[1] for x in a], [x[1] for x in b]))
    out: list[list[list[PairedResult]]] = [[[] for _ in plan.groups] for plan in plans]
    for n, todo in jobs.items():
        products = shared_products(blocks[n], policy.resamples, policy.trials, policy.seed, starmap)
        batches: list[list[tuple[int, int, list[int], list[int]]]] = [[]]
        size = 0
        for job in todo:
            if batches[-1] and size + len(job[2]) > BATCH:
                batches.append([])
                size = 0
            batches[-1].append(job)
            size += len(job[2])

        # the products are the heavy part (the chunk tasks above); a batch is array arithmetic on them, in this
        # process, where the products already are (handing them to workers would copy them per message)
        for batch in batches:
            results = pair_results(products, [x for job in batch for x in job[2]], [x for job in batch for x in job[3]],
                                   policy.level, keep_replicates, [len(job[2]) for job in batch])
            at = 0
            for p, g, a, _ in batch:
                out[p][g] = results[at : at + len(a)]
                at += len(a)
    return out


def _analysis(a: LoadedRun, b: LoadedRun, plan: _Plan, results: list[list[PairedResult]], policy: Policy
              ) -> PairAnalysis:
    """The pair's tests, each family's permutation (and bootstrap) p-values Holm-adjusted."""
    tests: dict[str, PairTest] = {}
    for fam in (QUALITY, DIAGNOSTIC):
        raw = [(k, len(a.id_order(k)), r) for (f, _, keys), res in zip(plan.groups, results) if f == fam
               for k, r in zip(keys, res)]
        p_perm = holm([r.p_permutation for _, _, r in raw])
        p_boot = holm([r.p_bootstrap for _, _, r in raw])
        for j, (k, n, r) in enumerate(raw):
            meta = a.metrics[k]
            tests[k] = PairTest(a.label, b.label, k, n, _stored(a, k), _stored(b, k), meta.higher_is_better,
                                meta.scale, r, float(p_perm[j]), float(p_boot[j]), policy.alpha, meta.decimals)
    ordered = {k: tests[k] for k in plan.keys if k in tests}
    return PairAnalysis(a.label, b.label, ordered, plan.untestable)


def _stored(run: LoadedRun, key: str) -> float:
    value = run.metrics[key].value
    return math.nan if value is None else float(value)
