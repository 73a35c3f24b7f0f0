"""Paired bootstrap over items, on per-item sufficient statistics.

One multinomial weight matrix (how often each item is drawn in each resample) is shared by every metric of
a run, so intervals are paired across metrics; corpus values are re-aggregated from the weighted sums of
per-item statistics (exact for corpus BLEU/METEOR; CIDEr's document frequencies stay those of the split).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from altbench.metrics.base import MetricScores

DEFAULT_RESAMPLES = 10_000
METHOD = "percentile"


def resample_weights(n_items: int, resamples: int, seed: int, chunk: int = 1000) -> Iterator[np.ndarray]:
    """(chunk, n_items) draw counts, resample after resample, from one seeded generator."""
    rng = np.random.default_rng(seed)
    p = np.full(n_items, 1.0 / n_items)
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        yield rng.multinomial(n_items, p, size=size).astype(np.float64)
        done += size


def bootstrap_ci(
    metrics: Mapping[str, MetricScores], resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile intervals (reported scale) for each metric, from the same resamples of items."""
    if not metrics:
        return {}
    n = len(next(iter(metrics.values())).per_item)
    if n == 0:
        return {name: (float("nan"), float("nan")) for name in metrics}
    draws: dict[str, list[np.ndarray]] = {name: [] for name in metrics}
    for weights in resample_weights(n, resamples, seed):
        for name, m in metrics.items():
            draws[name].append(m.aggregate(weights @ m.stats, n))
    alpha = (1.0 - level) / 2
    out = {}
    for name, chunks in draws.items():
        values = np.concatenate(chunks)
        lo, hi = np.nanquantile(values, [alpha, 1 - alpha]) if np.isfinite(values).any() else (np.nan, np.nan)
        out[name] = (float(lo), float(hi))
    return out


def signature_suffix(resamples: int, seed: int, level: float = 0.95) -> str:
    return f"ci:{METHOD}-bootstrap|paired:items|n:{resamples}|seed:{seed}|level:{level}"
