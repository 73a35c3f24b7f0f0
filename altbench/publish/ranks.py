"""Significance-aware ranks: rank = 1 + the number of models significantly better in a paired test.

Every pair of models on a split is compared on the items both scored (aligned by id) with
:func:`paired_test`, a paired bootstrap over items that re-aggregates each metric from its per-item
sufficient statistics (so corpus metrics are compared as corpus metrics). The p-values of all pairs of one
metric are Holm-adjusted; a pair differs significantly when the adjusted p-value is below ``alpha``. Models
with no model significantly better share rank 1, and so on: ranks can tie, and ties are reported as such.

:func:`paired_test` is the one place to swap for ``altbench.stats.paired`` once it exists.
"""

from __future__ import annotations

import importlib
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from altbench.metrics.base import AGGREGATORS
from altbench.publish.runs import RunData

try:  # the engine of `altbench compare`; this module falls back to its own test without it
    from altbench.stats.bootstrap import StatBlock as _StatBlock
    from altbench.stats.paired import compare_pairs as _compare_pairs
except ImportError:  # pragma: no cover - depends on the checkout
    _StatBlock = _compare_pairs = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

DEFAULT_ALPHA = 0.05
DEFAULT_RESAMPLES = 1000
CHUNK = 500

METHOD = "paired bootstrap over items, two-sided, Holm-adjusted over the model pairs of each metric"


def _weights(n: int, resamples: int, seed: int):
    """(chunk, n) multinomial draw counts, resample after resample, from one seeded generator."""
    rng = np.random.default_rng(seed)
    p = np.full(n, 1.0 / n)
    done = 0
    while done < resamples:
        size = min(CHUNK, resamples - done)
        yield rng.multinomial(n, p, size=size).astype(np.float64)
        done += size


@dataclass(frozen=True)
class ItemScores:
    """One run's per-item statistics for one metric: the rows its corpus value is aggregated from."""

    ids: tuple[str, ...]
    stats: np.ndarray  # (n_items, k)
    aggregator: str
    scale: float

    def value(self, rows: np.ndarray | None = None) -> float:
        s = self.stats if rows is None else self.stats[rows]
        return float(AGGREGATORS[self.aggregator](s.sum(0), np.asarray(float(len(s)))) * self.scale)


def item_scores(run: RunData, key: str) -> ItemScores | None:
    """The per-item rows of metric ``key`` in ``run``, or None when ``scores.jsonl`` lacks them."""
    meta = run.metrics.get(key)
    if meta is None or not run.scores:
        return None
    aggregator = str(meta.get("aggregator") or "mean")
    scale = float(meta.get("scale") or 1.0)
    if aggregator not in AGGREGATORS:
        _register_aggregators(key.split("/", 1)[0])
    use_stats = aggregator != "mean" and aggregator in AGGREGATORS
    ids, rows = [], []
    for item_id, scores in run.scores.items():
        if use_stats:
            row = run.stats.get(item_id, {}).get(key)
            if row is None:
                continue
            values = [float(v) for v in row]
        else:
            v = scores.get(key)
            if v is None or not math.isfinite(v):
                continue
            values = [v]
        ids.append(item_id)
        rows.append(values)
    if not rows:
        return None
    return ItemScores(tuple(ids), np.asarray(rows, dtype=np.float64), aggregator if use_stats else "mean", scale)


def _register_aggregators(convention: str) -> None:
    """Corpus aggregators are registered by their scorer module (e.g. ``altbench.metrics.coco``)."""
    if not convention.isidentifier():
        return
    try:
        importlib.import_module(f"altbench.metrics.{convention}")
    except Exception as exc:  # noqa: BLE001 - a missing or broken scorer only means the per-item mean is used
        log.debug("no aggregators from altbench.metrics.%s: %s", convention, exc)


@dataclass(frozen=True)
class PairTest:
    a: str
    b: str
    n: int  # items both scored
    diff: float  # metric(a) - metric(b) on those items, reported scale
    ci95: tuple[float, float]
    p: float
    p_holm: float = float("nan")
    better: str | None = None  # label of the significantly better model, if any


def paired_test(a: ItemScores, b: ItemScores, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
                ) -> tuple[int, float, tuple[float, float], float]:
    """Paired bootstrap test of metric(a) - metric(b) on the items both scored (aligned by id).

    Returns (n, observed difference, 95% percentile interval of the difference, two-sided p-value), the
    p-value being the share of resampled differences at least as far from the observed one as the observed
    one is from zero (the bootstrap distribution shifted to the null), with the usual +1 correction.
    Uses :func:`altbench.stats.paired.compare_pairs` (what ``altbench compare`` uses) when it is there.
    """
    pos_b = {item_id: i for i, item_id in enumerate(b.ids)}
    shared = [(i, pos_b[item_id]) for i, item_id in enumerate(a.ids) if item_id in pos_b]
    n = len(shared)
    if n == 0:
        return 0, float("nan"), (float("nan"), float("nan")), float("nan")
    sa = a.stats[[i for i, _ in shared]]
    sb = b.stats[[j for _, j in shared]]
    if _compare_pairs is not None:
        blocks = [[_StatBlock(sa, a.aggregator, a.scale)], [_StatBlock(sb, b.aggregator, b.scale)]]
        (res,) = _compare_pairs(blocks, [(1, 0)], resamples=resamples, trials=resamples, seed=seed, threads=1)[0]
        return n, res.delta, (res.ci_low, res.ci_high), res.p_bootstrap
    return n, *_bootstrap_test(a, b, sa, sb, resamples, seed)


def _bootstrap_test(a: ItemScores, b: ItemScores, sa: np.ndarray, sb: np.ndarray, resamples: int, seed: int
                    ) -> tuple[float, tuple[float, float], float]:
    """The same test, self-contained (for when altbench.stats.paired is absent)."""
    n = len(sa)
    agg_a, agg_b = AGGREGATORS[a.aggregator], AGGREGATORS[b.aggregator]
    observed = float(agg_a(sa.sum(0), np.asarray(float(n))) * a.scale - agg_b(sb.sum(0), np.asarray(float(n))) * b.scale)
    draws = []
    for w in _weights(n, resamples, seed):
        nn = np.full(len(w), float(n))
        draws.append(agg_a(w @ sa, nn) * a.scale - agg_b(w @ sb, nn) * b.scale)
    d = np.concatenate(draws)
    d = d[np.isfinite(d)]
    if not len(d) or not math.isfinite(observed):
        return observed, (float("nan"), float("nan")), float("nan")
    lo, hi = np.quantile(d, [0.025, 0.975])
    if observed == 0.0:
        return observed, (float(lo), float(hi)), 1.0
    extreme = int(np.sum(np.abs(d - observed) >= abs(observed) * (1 - 1e-9)))
    return observed, (float(lo), float(hi)), (1 + extreme) / (1 + len(d))


def base_signature(signature: object) -> str:
    """A metric's settings without the interval settings (``|ci:...`` onwards)."""
    sig = str(signature or "")
    cut = sig.find("|ci:")
    return sig if cut < 0 else sig[:cut]


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted)."""
    valid = sorted((p, i) for i, p in enumerate(pvalues) if math.isfinite(p))
    m = len(valid)
    out = [float("nan")] * len(pvalues)
    running = 0.0
    for k, (p, i) in enumerate(valid):
        running = max(running, min(1.0, (m - k) * p))
        out[i] = running
    return out


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
    resamples: int
    seed: int
    note: str = ""


def rank_metric(runs: list[RunData], key: str, alpha: float = DEFAULT_ALPHA,
                resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> MetricRanking:
    """Significance-aware ranks of ``runs`` (labelled) on metric ``key``."""
    present = [r for r in runs if key in r.metrics]
    higher = bool(present[0].metrics[key].get("higher_is_better", True)) if present else True
    settings = {base_signature(r.metrics[key].get("signature")) for r in present}
    if len(settings) > 1:  # numbers made with other settings are not compared
        return MetricRanking(key, higher, {r.label: Standing(r.label, None) for r in present}, [], alpha, resamples,
                             seed, note="not ranked: the runs computed this metric with different settings "
                                        "(see the signatures)")
    data = {r.label: item_scores(r, key) for r in present}
    testable = [label for label, s in data.items() if s is not None]
    raw: list[PairTest] = []
    for i, a in enumerate(testable):
        for b in testable[i + 1:]:
            n, diff, ci, p = paired_test(data[a], data[b], resamples, seed)
            raw.append(PairTest(a, b, n, diff, ci, p))
    adjusted = holm([t.p for t in raw])
    pairs = []
    for t, p_adj in zip(raw, adjusted):
        better = None
        if math.isfinite(p_adj) and p_adj < alpha and t.diff != 0:
            better = t.a if (t.diff > 0) == higher else t.b
        pairs.append(PairTest(t.a, t.b, t.n, t.diff, t.ci95, t.p, p_adj, better))
    standings = {label: Standing(label, None) for label in data}
    for label in testable:
        standings[label].rank = 1
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
    return MetricRanking(key, higher, standings, pairs, alpha, resamples, seed)
