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
from altbench.helper import HelperError, current, second_core
from altbench.metrics.base import MetricScores
from altbench.metrics.diagnostics import score_diagnostics
from altbench.run.predictions import PredictionRecord
from altbench.stats import defaults
from altbench.stats.bootstrap import bootstrap_ci

CONVENTIONS = {
    "paper": "altbench.metrics.paper:score_paper",
    "coco": "altbench.metrics.coco:score_coco",
}
CONVENTION_CHOICES = ("paper", "coco", "both")


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
) -> ScoredRun:
    """Score the items of ``split`` (or its subset ``item_ids``) from their prediction records.

    ``meanwhile``: work of the caller to do while the helper process computes its bootstrap chunks (see
    :func:`~altbench.stats.bootstrap.weighted_sums`; at most once, maybe not at all).

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
    # a large scoring: a second interpreter takes shares of the item-level metrics and the bootstrap
    with second_core(len(scored), warm_up_tasks(convs)):
        scores, model_out = _score_items(split, scored, convs, metrics, metric_args)
        ci = bootstrap_ci(scores, resamples=resamples, seed=seed, meanwhile=meanwhile) if scored else {}
    blank = split.empty_reference_ids
    empty_refs = [item.id for item, _ in scored if item.id in blank] if blank else []
    counts = {
        "items": len(wanted), "scored": len(scored), "failed": len(failures), "missing": len(missing),
        "empty": sum(1 for _, p in scored if not p.strip()), "empty_reference": len(empty_refs),
    }
    return ScoredRun(scores, ci, [item.id for item, _ in scored], failures, missing, counts, convs,
                     model_out.failures if model_out else {}, model_out.models if model_out else {}, empty_refs)


def _score_items(split: Split, scored: list, convs: list[str], metrics: Sequence[str],
                 metric_args: Mapping[str, Any] | None) -> tuple[dict[str, MetricScores], Any]:
    """{key: MetricScores} of every convention, the diagnostics and the model metrics; the model output."""
    scores: dict[str, MetricScores] = {}
    if not scored:
        return scores, None
    refs = [item.references for item, _ in scored]
    preds = [pred for _, pred in scored]
    df_refs = [item.references for item in split.items]
    contexts = [item.context for item, _ in scored]
    helper = current()  # a large scoring: the diagnostics in the helper process, meanwhile
    diag = helper.submit("altbench.metrics.diagnostics:score_diagnostics", preds, contexts) if helper else None
    for conv in convs:
        fn = _scorer(conv)
        for name, m in fn(refs, preds, df_references=df_refs).items():
            scores[f"{conv}/{name}"] = m
    try:
        diagnostics = diag.result() if diag is not None else score_diagnostics(preds, contexts)
    except HelperError:
        diagnostics = score_diagnostics(preds, contexts)
    for name, m in diagnostics.items():
        scores[f"diag/{name}"] = m
    model_out = None
    if metrics:
        from altbench.metrics.model.registry import score_model_metrics

        model_out = score_model_metrics(metrics, split, [item for item, _ in scored], preds, metric_args)
        scores.update(model_out.scores)
    return scores, model_out


def warm_up_tasks(conventions: Sequence[str]) -> tuple[str, ...]:
    """What the helper process can load while this one gets ready (imports, the WordNet table)."""
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
