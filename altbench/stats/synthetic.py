"""Synthetic run folders from arrays: for tests, the benchmark and docs.

Written by the one results writer (:func:`altbench.results.add_scoring`), exactly as ``altbench run``
writes them, so compare, regress and the leaderboard can be exercised without any model or scorer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from altbench.metrics.base import MetricScores
from altbench.results import (
    ItemScores,
    ItemSubset,
    MetricResult,
    Scoring,
    add_scoring,
    ids_sha256,
    scoring_key,
)
from altbench.stats.bootstrap import bootstrap_ci, signature_suffix

SPLIT_SHA = "0" * 64


@dataclass(frozen=True)
class Column:
    """One metric's per-item data. ``stats`` (n,) for an item mean, (n, k) for another aggregator."""

    stats: np.ndarray
    aggregator: str = "mean"
    scale: float = 1.0
    higher_is_better: bool = True
    settings: str = "synthetic"


def write_run(folder: Path, columns: Mapping[str, Column | np.ndarray], *, ids: Sequence[str] | None = None,
              model: str = "synthetic", convention: str = "paper", split: str = "synthetic",
              split_sha256: str = SPLIT_SHA, resamples: int = 200, seed: int = 0, run_id: str | None = None,
              ) -> Path:
    """Write a run folder; arrays in ``columns`` are item means in raw scale. Returns the folder.

    ``convention="both"``: one scoring of both conventions, each metric signed with its key's convention."""
    folder = Path(folder)
    conventions = ["paper", "coco"] if convention == "both" else [convention]
    folder.mkdir(parents=True, exist_ok=True)
    cols = {k: c if isinstance(c, Column) else Column(np.asarray(c, dtype=float)) for k, c in columns.items()}
    n = len(next(iter(cols.values())).stats)
    ids = [str(i) for i in (ids if ids is not None else range(n))]
    scores: dict[str, MetricScores] = {}
    for key, c in cols.items():
        stats = np.asarray(c.stats, dtype=float)
        stats2 = stats.reshape(n, -1)
        per_item = tuple(float(x) for x in (stats if stats.ndim == 1 else stats2[:, 0]))
        group = key.split("/")[0]
        conv = group if convention == "both" and group in conventions else convention
        m = MetricScores(key.split("/")[-1], 0.0, per_item, f"{key.split('/')[-1]}|conv:{conv}|{c.settings}",
                         stats2, c.aggregator, c.scale, c.higher_is_better)
        value = float(m.aggregate(stats2.sum(0), n))
        scores[key] = MetricScores(m.name, value, per_item, m.signature, stats2, c.aggregator, c.scale,
                                   c.higher_is_better)
    ci = bootstrap_ci(scores, resamples=resamples, seed=seed)
    suffix = signature_suffix(resamples, seed)
    metrics = {key: MetricResult(key, m.value, ci[key], n, m.higher_is_better, m.scale, m.aggregator,
                                 f"{m.signature}|{suffix}") for key, m in scores.items()}
    items = ItemSubset(n, n, ids_sha256(ids))
    scoring = Scoring(
        key=scoring_key(conventions, [], None, resamples, seed, items), convention=convention,
        conventions=conventions, metrics=metrics,
        counts={"items": n, "scored": n, "failed": 0, "missing": 0, "empty": 0}, items=items,
        bootstrap={"resamples": resamples, "seed": seed, "method": "percentile", "level": 0.95}, seed=seed)
    rows = [ItemScores(item_id, {k: _finite(m.per_item[i]) for k, m in scores.items()},
                       {k: m.stats[i].tolist() for k, m in scores.items() if m.aggregator != "mean"})
            for i, item_id in enumerate(ids)]
    add_scoring(folder, run_id=run_id or f"{model}-{seed}", model={"name": model},
                split={"name": split, "source": "synthetic", "n_items": n, "sha256": split_sha256},
                scoring=scoring, rows=rows)
    return folder


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x
