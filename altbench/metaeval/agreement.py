"""Agreement between a metric and human judgments, each with a percentile bootstrap interval.

- Item level, scores: Kendall tau-b and tau-c between the metric's and the humans' scores
  (``scipy.stats.kendalltau(variant="b" | "c")``, the variants reported for Flickr8k-CF and Flickr8k-Expert).
- Item level, pairs: pairwise accuracy, Pascal-50S style. A pair whose human votes are even is decided by a
  seeded coin, as the Pascal-50S evaluations of CLIPScore and PAC-S break vote ties at random (so accuracy is
  over every pair); a metric that gives both candidates the same score earns half a point (it did not
  choose). Reported overall and per category (HC / HI / HM / MM for Pascal-50S).
- System level (scores that name their ``model``): each model's mean metric and mean human score, then Kendall
  tau-b and Spearman rho over the models.

Items the metric could not score (NaN) are left out and counted (``unscored``). Intervals: items (or pairs)
are resampled with replacement ``resamples`` times with a fixed seed, the statistic recomputed, and the 2.5 and
97.5 percentiles taken; a resample where a statistic is undefined (e.g. constant scores) is skipped and the
number of those is reported. The resamples are drawn here, in order, from one seeded generator; the statistic
is computed on them in pure tasks of :data:`RESAMPLES_PER_TASK` resamples (:func:`statistic_chunk`), which a
starmap (:mod:`altbench.tasks`) may run anywhere: Kendall's tau of every resample is the costly part.
"""

from __future__ import annotations

import functools
import math
import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from altbench.stats import defaults
from altbench.tasks import IN_PROCESS, Starmap

RESAMPLES_PER_TASK = 50  # fixed: no interval depends on it


def kendall(x: Sequence[float], y: Sequence[float], variant: str) -> float:
    from scipy.stats import kendalltau

    if len(x) < 2:
        return math.nan
    with warnings.catch_warnings():  # constant input: undefined, returned as NaN and counted by the caller
        warnings.simplefilter("ignore")
        return float(kendalltau(x, y, variant=variant).statistic)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    from scipy.stats import spearmanr

    if len(x) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x, y).statistic)


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) item indices drawn with replacement, in order from one seeded generator (int32: the same
    values, half the memory)."""
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, n), dtype=np.int32 if n < 2**31 else np.int64)
    for r in range(resamples):
        out[r] = rng.integers(0, n, n)
    return out


def statistic_chunk(stat: Callable[[np.ndarray], float], indices: np.ndarray) -> list[float]:
    """A task: ``stat`` on each row of item indices (``stat`` picklable when the task may run elsewhere)."""
    return [stat(idx) for idx in indices]


def _interval(stat: Callable[[np.ndarray], float], n: int, resamples: int, seed: int,
              starmap: Starmap | None = None) -> dict[str, Any]:
    if resamples <= 0 or n < 2:
        return {"ci95": [None, None], "undefined_resamples": 0}
    indices = resample_indices(n, resamples, seed)
    tasks = [(stat, indices[a : a + RESAMPLES_PER_TASK]) for a in range(0, resamples, RESAMPLES_PER_TASK)]
    values = []
    undefined = 0
    for v in (v for part in (starmap or IN_PROCESS)(statistic_chunk, tasks) for v in part):
        if math.isfinite(v):
            values.append(v)
        else:
            undefined += 1
    if not values:
        return {"ci95": [None, None], "undefined_resamples": undefined}
    lo, hi = np.quantile(values, [0.025, 0.975])
    return {"ci95": [float(lo), float(hi)], "undefined_resamples": undefined}


def _value(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _kendall_at(m: np.ndarray, h: np.ndarray, variant: str, idx: np.ndarray) -> float:
    return kendall(m[idx], h[idx], variant)


def item_correlation(metric: Sequence[float], human: Sequence[float], resamples: int = defaults.METAEVAL_RESAMPLES,
                     seed: int = defaults.SEED, starmap: Starmap | None = None) -> dict[str, Any]:
    """Kendall tau-b and tau-c with their intervals; ``starmap``: where the resamples' taus are computed."""
    m = np.asarray(metric, dtype=np.float64)
    h = np.asarray(human, dtype=np.float64)
    ok = np.isfinite(m)
    m, h = m[ok], h[ok]
    out: dict[str, Any] = {"n": int(ok.sum()), "unscored": int((~ok).sum())}
    for variant in ("b", "c"):
        out[f"kendall_tau_{variant}"] = {
            "value": _value(kendall(m, h, variant)),
            **_interval(functools.partial(_kendall_at, m, h, variant), len(m), resamples, seed, starmap)}
    return out


def human_labels(preferences: Sequence[str], seed: int = 0) -> np.ndarray:
    """1 where the humans preferred ``a``, 0 for ``b``; even votes decided by a seeded coin (Pascal-50S)."""
    rng = random.Random(seed)
    return np.array([1 if p == "a" else 0 if p == "b" else int(rng.random() < 0.5) for p in preferences])


def pair_points(score_a: Sequence[float], score_b: Sequence[float], labels: np.ndarray) -> np.ndarray:
    """Per pair: 1 when the metric prefers the humans' choice, 0.5 for a metric tie, 0 otherwise, NaN unscored."""
    a = np.asarray(score_a, dtype=np.float64)
    b = np.asarray(score_b, dtype=np.float64)
    picks_a = np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5))
    points = np.where(picks_a == 0.5, 0.5, (picks_a == labels).astype(np.float64))
    return np.where(np.isfinite(a) & np.isfinite(b), points, np.nan)


def pairwise_accuracy(points: np.ndarray, categories: Sequence[str | None], resamples: int = defaults.METAEVAL_RESAMPLES, seed: int = defaults.SEED
                      ) -> dict[str, Any]:
    ok = np.isfinite(points)
    p = points[ok]
    cats = [c for c, keep in zip(categories, ok) if keep]
    out: dict[str, Any] = {"n": int(ok.sum()), "unscored": int((~ok).sum()),
                           "metric_ties": int((p == 0.5).sum()),
                           "accuracy": {"value": float(p.mean()) if len(p) else None,
                                        **_interval(lambda idx: float(p[idx].mean()), len(p), resamples, seed)}}
    names = sorted({c for c in cats if c is not None})
    if names:
        out["by_category"] = {}
        for name in names:
            sel = np.array([c == name for c in cats])
            q = p[sel]
            out["by_category"][name] = {"n": int(sel.sum()), "value": float(q.mean()),
                                        **_interval(lambda idx, q=q: float(q[idx].mean()), len(q), resamples, seed)}
    return out


def system_correlation(metric: Sequence[float], human: Sequence[float], models: Sequence[str],
                       resamples: int = defaults.METAEVAL_RESAMPLES, seed: int = defaults.SEED) -> dict[str, Any]:
    """Kendall tau-b and Spearman rho between per-model means (items resampled within the whole set)."""
    m = np.asarray(metric, dtype=np.float64)
    h = np.asarray(human, dtype=np.float64)
    ok = np.isfinite(m)
    m, h = m[ok], h[ok]
    names = sorted(set(np.asarray(models, dtype=object)[ok].tolist()))
    codes = np.array([names.index(x) for x in np.asarray(models, dtype=object)[ok]])

    def means(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = codes[idx]
        count = np.bincount(c, minlength=len(names)).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.bincount(c, m[idx], len(names)) / count, np.bincount(c, h[idx], len(names)) / count)

    def stat(fn: Callable[..., float]) -> Callable[[np.ndarray], float]:
        def run(idx: np.ndarray) -> float:
            mm, hh = means(idx)
            keep = np.isfinite(mm) & np.isfinite(hh)  # a model absent from the resample drops out
            return fn(mm[keep], hh[keep]) if keep.sum() >= 2 else math.nan
        return run

    everything = np.arange(len(m))
    mm, hh = means(everything)
    return {
        "models": len(names),
        "per_model": {n: {"metric": _value(a), "human": _value(b)} for n, a, b in zip(names, mm, hh)},
        "kendall_tau_b": {"value": _value(stat(lambda a, b: kendall(a, b, "b"))(everything)),
                          **_interval(stat(lambda a, b: kendall(a, b, "b")), len(m), resamples, seed)},
        "spearman": {"value": _value(stat(spearman)(everything)),
                     **_interval(stat(spearman), len(m), resamples, seed)},
    }
