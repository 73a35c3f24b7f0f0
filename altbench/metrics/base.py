"""What every metric returns, and how a corpus value is rebuilt from per-item statistics.

Modelled on sacrebleu: a metric yields per-item *sufficient statistics*; the corpus value is a pure
function of their sum over items (an "aggregator"). That makes bootstrap resampling exact and cheap
(resample rows, sum, aggregate) for corpus-level metrics such as COCO BLEU and METEOR 1.5, while
mean-of-items metrics simply carry their per-item score as a one-column statistic.

Aggregators are declared as data (:data:`AGGREGATOR_TABLE`: name -> ``"module:function"``) and imported
only when first used, so no module has to be imported for its side effects before a results file that
names one can be read, and reading a results file never imports a module it names.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np

# f(summed_stats[..., k], n_items[...]) -> corpus value in the metric's *raw* scale.
# Vectorised over leading axes so a bootstrap can pass (B, k) sums at once.
Aggregator = Callable[[np.ndarray, np.ndarray], np.ndarray]

AGGREGATOR_TABLE: Mapping[str, str] = {
    "mean": "altbench.metrics.base:mean",
    "mean_defined": "altbench.metrics.base:mean_defined",
    "ratio": "altbench.metrics.base:ratio",
    "coco_bleu1": "altbench.metrics.coco.bleu:bleu1_from_stats",
    "coco_bleu2": "altbench.metrics.coco.bleu:bleu2_from_stats",
    "coco_bleu3": "altbench.metrics.coco.bleu:bleu3_from_stats",
    "coco_bleu4": "altbench.metrics.coco.bleu:bleu4_from_stats",
    "coco_meteor": "altbench.metrics.coco.meteor_stats:meteor_from_stats",
}


def mean(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean of a one-column per-item score."""
    return summed[..., 0] / np.maximum(n, 1)


def mean_defined(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean over the items that have a score: columns (score or 0, 1 if scored else 0); NaN when none has.

    For model-based metrics, where an item's score can be missing (a judge's unparsable answer, an API
    failure, an unreadable image): such an item is excluded from the mean, never counted as zero.
    """
    count = summed[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, summed[..., 0] / np.where(count > 0, count, 1), np.nan)


def ratio(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Ratio of two summed columns (numerator, denominator), e.g. a corpus-level precision."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return summed[..., 0] / summed[..., 1]


@cache
def get_aggregator(name: str) -> Aggregator:
    """The aggregator declared under ``name`` in :data:`AGGREGATOR_TABLE`, imported on first use."""
    try:
        target = AGGREGATOR_TABLE[name]
    except KeyError:
        raise KeyError(f"unknown aggregator {name!r}; known: {', '.join(AGGREGATOR_TABLE)}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class _Aggregators(Mapping[str, Aggregator]):
    """Read-only view name -> aggregator function over :data:`AGGREGATOR_TABLE` (lazily resolved)."""

    def __getitem__(self, name: str) -> Aggregator:
        return get_aggregator(name)

    def __contains__(self, name: object) -> bool:
        return name in AGGREGATOR_TABLE

    def __iter__(self) -> Iterator[str]:
        return iter(AGGREGATOR_TABLE)

    def __len__(self) -> int:
        return len(AGGREGATOR_TABLE)


AGGREGATORS: Mapping[str, Aggregator] = _Aggregators()


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
        return get_aggregator(self.aggregator)(np.asarray(summed, float), np.asarray(n, float)) * self.scale


class Metric(ABC):
    """One lexical metric of one convention, sacrebleu-style: per-item statistics, an aggregate of their
    sum, a signature. ``C`` is the convention's prepared corpus (tokens and the like, computed once and
    shared by the metrics of a convention).

    Subclasses set :attr:`name`, :attr:`aggregator`, :attr:`scale`, :attr:`higher_is_better` and implement
    :meth:`item_stats` and :meth:`signature`; :meth:`corpus_value` is the convention's reported value
    (by default the aggregate of the summed statistics) and :meth:`per_item` the raw per-item score.
    """

    name: str
    aggregator: str = "mean"
    scale: float = 1.0
    higher_is_better: bool = True

    @abstractmethod
    def item_stats(self, corpus) -> np.ndarray:
        """(n_items, k) float64 sufficient statistics of every item of ``corpus``."""

    @abstractmethod
    def signature(self, corpus) -> str:
        """``name|key:value|...`` pinning every setting that changes the numbers."""

    def aggregate(self, summed: np.ndarray, n: np.ndarray | int) -> np.ndarray:
        """Corpus value in the reported scale (unrounded) from summed statistics; vectorised."""
        return get_aggregator(self.aggregator)(np.asarray(summed, float), np.asarray(n, float)) * self.scale

    def per_item(self, stats: np.ndarray) -> list[float]:
        """Raw per-item scores from per-item statistics (a one-column statistic is the score itself)."""
        return stats[:, 0].tolist()

    def corpus_value(self, stats: np.ndarray, per_item: list[float]) -> float:
        """The value as the convention reports it."""
        return float(self.aggregate(stats.sum(axis=0), len(stats)))

    def scores(self, corpus, stats: np.ndarray | None = None) -> MetricScores:
        """The metric's :class:`MetricScores` on ``corpus`` (``stats``: precomputed :meth:`item_stats`)."""
        stats = self.item_stats(corpus) if stats is None else np.asarray(stats, dtype=np.float64)
        per_item = self.per_item(stats)
        return MetricScores(
            name=self.name, value=self.corpus_value(stats, per_item), per_item=tuple(per_item),
            signature=self.signature(corpus), stats=stats, aggregator=self.aggregator, scale=self.scale,
            higher_is_better=self.higher_is_better,
        )


def signature(name: str, **settings: object) -> str:
    """``name|key:value|...`` in the given order; values are str()-ed."""
    return "|".join([name, *(f"{k}:{v}" for k, v in settings.items())])
