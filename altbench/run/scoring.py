"""Predictions -> per-item scores and metric summaries (no model, no torch).

Items are taken in split order. An item with a failed generation is counted and listed with its reason,
never scored as an empty string; an item with no record at all is "missing". CIDEr's document frequencies
always come from the references of the *whole* split, so a subset run scores its items as the full run
would.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from altbench.data.splits import Split
from altbench.errors import AltbenchError, DataError
from altbench.executor import Executor
from altbench.metrics.base import MetricScores
from altbench.metrics.diagnostics import score_diagnostics, submit_diagnostics
from altbench.run.predictions import PredictionRecord
from altbench.stats import defaults
from altbench.stats.bootstrap import bootstrap_ci

CONVENTIONS = {
    "paper": "altbench.metrics.paper:score_paper",
    "coco": "altbench.metrics.coco:score_coco",
}
CONVENTION_CHOICES = ("paper", "coco", "both")
# A scoring of this many items or more starts the executor's workers at once (smaller ones start them only
# for a starmap of many tasks, executor.MIN_TASKS): they take a few tenths of a second to start and warm up.
# Work size only: no number depends on where the work runs.
PARALLEL_MIN_ITEMS = 2000


@dataclass
class ScoredRun:
    """Everything the results file and the per-item scores file are made from."""

    metrics: dict[str, MetricScores]
    ci95: dict[str, tuple[float, float]]
    scored_ids: list[str]
    failures: list[dict[str, str]]
    missing: list[str]
    counts: dict[str, int]
    conventions: list[str] = field(default_factory=list)
    metric_failures: dict[str, dict[str, int]] = field(default_factory=dict)  # model metrics: reason -> count
    metric_models: dict[str, dict[str, Any]] = field(default_factory=dict)  # model metrics: the scoring model
    empty_references: list[str] = field(default_factory=list)  # scored items whose reference is empty or blank

    def per_item_rows(self) -> list[dict]:
        rows = []
        for i, item_id in enumerate(self.scored_ids):
            row: dict = {"id": item_id, "scores": {k: _finite(m.per_item[i]) for k, m in self.metrics.items()}}
            stats = {k: m.stats[i].tolist() for k, m in self.metrics.items() if m.aggregator != "mean"}
            if stats:
                row["stats"] = stats
            rows.append(row)
        return rows


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def conventions_for(choice: str) -> list[str]:
    if choice not in CONVENTION_CHOICES:
        raise AltbenchError(f"unknown convention {choice!r}; choose one of {', '.join(CONVENTION_CHOICES)}")
    return ["paper", "coco"] if choice == "both" else [choice]


def score_split(
    split: Split,
    records: Mapping[str, PredictionRecord],
    convention: str = "paper",
    item_ids: Sequence[str] | None = None,
    resamples: int = defaults.RESAMPLES,
    seed: int = defaults.SEED,
    metrics: Sequence[str] = (),
    metric_args: Mapping[str, Any] | None = None,
    meanwhile: Callable[[], object] | None = None,
    executor: Executor | None = None,
) -> ScoredRun:
    """Score the items of ``split`` (or its subset ``item_ids``) from their prediction records.

    ``executor``: the command's worker processes (:mod:`altbench.executor`), which get the blocks of items,
    the diagnostics and the bootstrap's chunks, and sets how many METEOR JVMs may share the coco lines (one
    per worker); None: everything here, one JVM. ``meanwhile``: work of the caller to do while the
    bootstrap's chunks are computed (see :func:`~altbench.stats.bootstrap.weighted_sums`; once, when any item
    is scored).

    ``metrics`` names model-based metrics (``clipscore``, ``refclipscore``, ``bertscore``, ``judge``), keyed
    ``model/<name>``; ``metric_args`` configures them (``{"clipscore": {"model": PATH}}``).
    """
    known = check_ids(split, records)
    wanted = set(item_ids) if item_ids is not None else known
    scored, failures, missing = [], [], []
    for item in split.items:
        if item.id not in wanted:
            continue
        rec = records.get(item.id)
        if rec is None:
            missing.append(item.id)
        elif rec.error is not None:
            failures.append({"id": item.id, "error": rec.error})
        else:
            scored.append((item, rec.prediction))
    convs = conventions_for(convention)
    if executor is not None and len(scored) >= PARALLEL_MIN_ITEMS:
        executor.start()
    scores, model_out = _score_items(split, scored, convs, metrics, metric_args, executor)
    starmap = executor.starmap if executor is not None else None
    ci = (bootstrap_ci(scores, resamples=resamples, seed=seed, starmap=starmap, meanwhile=meanwhile)
          if scored else {})
    blank = split.empty_reference_ids
    empty_refs = [item.id for item, _ in scored if item.id in blank] if blank else []
    counts = {
        "items": len(wanted), "scored": len(scored), "failed": len(failures), "missing": len(missing),
        "empty": sum(1 for _, p in scored if not p.strip()), "empty_reference": len(empty_refs),
    }
    return ScoredRun(scores, ci, [item.id for item, _ in scored], failures, missing, counts, convs,
                     model_out.failures if model_out else {}, model_out.models if model_out else {}, empty_refs)


def _score_items(split: Split, scored: list, convs: list[str], metrics: Sequence[str],
                 metric_args: Mapping[str, Any] | None, executor: Executor | None
                 ) -> tuple[dict[str, MetricScores], Any]:
    """{key: MetricScores} of every convention, the diagnostics and the model metrics; the model output."""
    scores: dict[str, MetricScores] = {}
    if not scored:
        return scores, None
    refs = [item.references for item, _ in scored]
    preds = [pred for _, pred in scored]
    df_refs = [item.references for item in split.items]
    contexts = [item.context for item, _ in scored]
    starmap = executor.starmap if executor is not None else None
    diag = submit_diagnostics(preds, contexts, starmap)  # with workers, computed there while the conventions run
    for conv in convs:
        # paper: its blocks of items go to the workers; coco: one METEOR JVM per worker (each a shard of lines)
        parallel = {"starmap": starmap} if conv == "paper" else {"meteor_jvms": executor.jobs if executor else 1}
        for name, m in _scorer(conv)(refs, preds, df_references=df_refs, **parallel).items():
            scores[f"{conv}/{name}"] = m
    for name, m in score_diagnostics(preds, contexts, pending=diag).items():
        scores[f"diag/{name}"] = m
    model_out = None
    if metrics:
        from altbench.metrics.model.registry import score_model_metrics

        model_out = score_model_metrics(metrics, split, [item for item, _ in scored], preds, metric_args)
        scores.update(model_out.scores)
    return scores, model_out


def warm_up_tasks(conventions: Sequence[str]) -> tuple[str, ...]:
    """What each worker process loads when it starts, while this one gets ready (the WordNet table...)."""
    return ("altbench.metrics.paper.items:warm_up",) if "paper" in conventions else ()


def check_ids(split: Split, records: Mapping[str, PredictionRecord]) -> set[str]:
    """The split's ids; :class:`DataError` when a prediction names an item the split does not have."""
    known = {item.id for item in split.items}
    unknown = [i for i in records if i not in known]
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:3])
        raise DataError(f"{len(unknown)} prediction id(s) are not in split {split.name} (e.g. {shown}); "
                        "wrong --split?")
    return known


def check_model_metrics(metrics: Sequence[str], metric_args: Mapping[str, Any] | None) -> None:
    """Fail early (before any generation) on unknown model metrics or options, or an absent model or key."""
    if metrics or metric_args:
        from altbench.metrics.model.registry import resolve

        resolve(metrics, metric_args)


def _scorer(convention: str):
    module_name, _, attr = CONVENTIONS[convention].partition(":")
    return getattr(importlib.import_module(module_name), attr)
