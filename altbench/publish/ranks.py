"""Significance-aware ranks: rank = 1 + the number of models significantly better on the metric.

The leaderboard computes nothing statistical of its own: every pair of models on a split is analysed once
by :func:`altbench.stats.engine.analyse_pairs` (what ``altbench compare`` and ``altbench regress`` use),
under the same :class:`~altbench.stats.engine.Policy`, and this module only turns the engine's per-pair
decisions into ranks. Models with no model significantly better share rank 1, and so on: ranks can tie,
and ties are reported as such. A pair the engine cannot test on a metric (other settings, other items
scored) is not ranked against each other on it, and the page says why.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from altbench.publish.runs import RunData
from altbench.stats.comparable import LoadedRun
from altbench.stats.engine import PairAnalysis, Policy, analyse_pairs
from altbench.tasks import Starmap

METHOD = Policy.DESCRIPTION


@dataclass(frozen=True)
class PairTest:
    """One pair on one metric, as the pages show it: ``diff`` = metric(a) - metric(b)."""

    a: str
    b: str
    n: int  # items compared
    diff: float
    ci95: tuple[float, float]
    p: float  # permutation p-value (unadjusted)
    p_holm: float = float("nan")  # the engine's decision p-value
    better: str | None = None  # label of the significantly better model, if any


@dataclass
class Standing:
    """One model's place on one metric."""

    label: str
    rank: int | None  # None: no per-item scores to test with
    tied_with: list[str] = field(default_factory=list)
    better_than: list[str] = field(default_factory=list)  # significantly
    worse_than: list[str] = field(default_factory=list)  # significantly

    @property
    def rank_text(self) -> str:
        if self.rank is None:
            return "not ranked"
        return f"{self.rank} (tied)" if self.tied_with else str(self.rank)


@dataclass
class MetricRanking:
    key: str
    higher_is_better: bool
    standings: dict[str, Standing]
    pairs: list[PairTest]
    alpha: float
    trials: int  # of the permutation test that decides
    seed: int
    note: str = ""


def view(run: RunData) -> LoadedRun:
    return LoadedRun(run.path, run.run, run.label)


def analyse_group(runs: list[RunData], policy: Policy, starmap: Starmap | None = None
                  ) -> dict[tuple[str, str], PairAnalysis]:
    """Every pair of models of a split, analysed once (labels must be unique within the group); ``starmap``:
    where the resampling chunks are computed (:mod:`altbench.tasks`; default here)."""
    views = [view(r) for r in runs if any(s.scores_path and s.scores_path.is_file() for s in r.run.scorings.values())]
    pairs = list(itertools.combinations(range(len(views)), 2))
    # all pairs at once: the heavy sums are made once per run (altbench.stats.products), not once per pair
    analyses = analyse_pairs(views, pairs, policy, starmap=starmap)
    return {(views[i].label, views[j].label): analysis for (i, j), analysis in zip(pairs, analyses)}


def rank_metric(runs: list[RunData], key: str, analyses: dict[tuple[str, str], PairAnalysis],
                policy: Policy) -> MetricRanking:
    """Significance-aware ranks of ``runs`` (labelled) on metric ``key``, from the engine's analyses."""
    present = [r for r in runs if key in r.metrics]
    higher = bool(present[0].metrics[key].get("higher_is_better", True)) if present else True
    pairs: list[PairTest] = []
    untested: list[str] = []
    labels = {r.label for r in present}
    for (a, b), analysis in analyses.items():
        if a not in labels or b not in labels:
            continue
        t = analysis.tests.get(key)
        if t is None:
            untested.append(analysis.untestable.get(key, f"{a} vs {b}: not tested"))
            continue
        r = t.test  # a minus b here (the engine's is b minus a), rounded as the metric's values
        pairs.append(PairTest(a, b, t.n, t.reported(-r.delta), (t.reported(-r.ci_high), t.reported(-r.ci_low)),
                              r.p_permutation, t.p_holm, t.better))
    tested = {x for p in pairs for x in (p.a, p.b)}
    standings = {r.label: Standing(r.label, 1 if (r.label in tested or len(present) == 1) and _has_rows(r)
                                   else None) for r in present}
    for t in pairs:
        if t.better is None:
            continue
        worse = t.b if t.better == t.a else t.a
        standings[worse].rank = (standings[worse].rank or 1) + 1
        standings[worse].worse_than.append(t.better)
        standings[t.better].better_than.append(worse)
    for s in standings.values():
        if s.rank is not None:
            s.tied_with = [o.label for o in standings.values() if o.label != s.label and o.rank == s.rank]
    note = ""
    if untested:
        note = "some pairs are not ranked against each other: " + "; ".join(untested[:3])
        if any("other settings" in u for u in untested):
            note += " (see the signatures)"
    return MetricRanking(key, higher, standings, pairs, policy.alpha, policy.trials, policy.seed, note)


def _has_rows(run: RunData) -> bool:
    return bool(run.scores)
