"""What every metric returns, and how a corpus value is rebuilt from per-item statistics.

Modelled on sacrebleu: a metric yields per-item *sufficient statistics*; the corpus value is a pure
function of their sum over items (an "aggregator"). That makes bootstrap resampling exact and cheap
(resample rows, sum, aggregate) for corpus-level metrics such as COCO BLEU and METEOR 1.5, while
mean-of-items metrics simply carry their per-item score as a one-column statistic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# name -> f(summed_stats[..., k], n_items[...]) -> corpus value in the metric's *raw* scale.
# Vectorised over leading axes so a bootstrap can pass (B, k) sums at once.
Aggregator = Callable[[np.ndarray, np.ndarray], np.ndarray]
AGGREGATORS: dict[str, Aggregator] = {}


def register_aggregator(name: str) -> Callable[[Aggregator], Aggregator]:
    def deco(fn: Aggregator) -> Aggregator:
        AGGREGATORS[name] = fn
        return fn

    return deco


@register_aggregator("mean")
def _mean(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean of a one-column per-item score."""
    return summed[..., 0] / np.maximum(n, 1)


@register_aggregator("mean_defined")
def _mean_defined(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean over the items that have a score: columns (score or 0, 1 if scored else 0); NaN when none has.

    For model-based metrics, where an item's score can be missing (a judge's unparsable answer, an API
    failure, an unreadable image): such an item is excluded from the mean, never counted as zero.
    """
    count = summed[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, summed[..., 0] / np.where(count > 0, count, 1), np.nan)


@dataclass(frozen=True)
class MetricScores:
    """One metric over one list of items.

    name:       short id used in results.json, e.g. ``bleu4``, ``rougeL``, ``cider``.
    value:      the corpus value exactly as the convention reports it (paper: ``round(mean, 5) * 100``).
    per_item:   one raw score per item, in input order (raw scale, e.g. 0..1, CIDEr-D 0..10).
    signature:  sacrebleu-style string pinning every setting, e.g. ``bleu4|conv:paper|tok:nltk|...``.
    stats:      (n_items, k) float64 sufficient statistics; ``aggregator(stats.sum(0), n) * scale``
                reproduces ``value`` up to the convention's rounding.
    aggregator: key into :data:`AGGREGATORS`.
    scale:      factor from the raw aggregate to the reported value (100 for percentages).
    higher_is_better: direction, for comparisons and leaderboards.
    """

    name: str
    value: float
    per_item: tuple[float, ...]
    signature: str
    stats: np.ndarray = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    aggregator: str = "mean"
    scale: float = 1.0
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.stats is None:
            object.__setattr__(self, "stats", np.asarray(self.per_item, dtype=np.float64).reshape(-1, 1))
        if len(self.stats) != len(self.per_item):
            raise ValueError(f"{self.name}: {len(self.stats)} stat rows for {len(self.per_item)} items")

    @property
    def n_scored(self) -> int:
        """Items with a defined per-item score (NaN marks an item the metric could not score)."""
        return int(np.count_nonzero(~np.isnan(np.asarray(self.per_item, dtype=np.float64))))

    def aggregate(self, summed: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """Corpus value (reported scale, unrounded) from summed statistics; vectorised."""
        return AGGREGATORS[self.aggregator](np.asarray(summed, float), np.asarray(n, float)) * self.scale


def signature(name: str, **settings: object) -> str:
    """``name|key:value|...`` in the given order; values are str()-ed."""
    return "|".join([name, *(f"{k}:{v}" for k, v in settings.items())])
