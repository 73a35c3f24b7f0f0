"""A scored run -> a typed :class:`~altbench.results.Scoring`, stored in its run folder (docs/results-schema.md)."""

from __future__ import annotations

import math
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from altbench import __version__
from altbench.data.splits import Split
from altbench.results import (
    ItemScores,
    ItemSubset,
    MetricResult,
    RunResults,
    Scoring,
    add_scoring,
    ids_sha256,
    scoring_key,
)
from altbench.results.model import finite_or_none
from altbench.run.scoring import ScoredRun, conventions_for
from altbench.stats.bootstrap import signature_suffix

SCORING_LIBRARIES = ("nltk", "rouge", "pycocoevalcap", "numpy")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"altbench": __version__, "python": platform.python_version()}
    for lib in SCORING_LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def git_commit() -> str | None:
    """Commit of the altbench source tree, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def split_header(split: Split) -> dict[str, Any]:
    """The run's split: name, source, size and content hash (the evaluated subset is per scoring), and where
    its data was found this time (provenance: later commands find the references and images there)."""
    header = {"name": split.name, "source": split.source, "n_items": len(split), "sha256": split.sha256()}
    if split.location is not None:
        header["location"] = split.location.to_dict()
    return header


def key_for(split: Split, evaluated_ids: Sequence[str], *, convention: str, seed: int, resamples: int,
            limit: int | None = None, model_metrics: Sequence[str] = (), metric_args: dict[str, Any] | None = None,
            **_: Any) -> str:
    """The key the scoring with these settings is stored under, known before scoring."""
    items = ItemSubset(len(evaluated_ids), len(split), ids_sha256(evaluated_ids), limit)
    return scoring_key(conventions_for(convention), model_metrics, metric_args, resamples, seed, items)


def to_scoring(scored: ScoredRun, *, split: Split, evaluated_ids: Sequence[str], convention: str, seed: int,
               resamples: int, started: str, limit: int | None = None, model_metrics: Sequence[str] = (),
               metric_args: dict[str, Any] | None = None) -> tuple[Scoring, list[ItemScores]]:
    """A scored run as a typed :class:`Scoring` (keyed by its settings) and its per-item rows."""
    ci_sig = signature_suffix(resamples, seed)
    metrics = {}
    for key, m in scored.metrics.items():
        lo, hi = scored.ci95.get(key, (math.nan, math.nan))
        metrics[key] = MetricResult(key, finite_or_none(m.value), (finite_or_none(lo), finite_or_none(hi)),
                                    m.n_scored, m.higher_is_better, m.scale, m.aggregator,
                                    f"{m.signature}|{ci_sig}")
    items = ItemSubset(len(evaluated_ids), len(split), ids_sha256(evaluated_ids), limit)
    key = key_for(split, evaluated_ids, convention=convention, seed=seed, resamples=resamples, limit=limit,
                  model_metrics=model_metrics, metric_args=metric_args)
    scoring = Scoring(
        key=key, convention=convention, conventions=list(scored.conventions), metrics=metrics,
        counts=dict(scored.counts), items=items, failures=list(scored.failures), missing=list(scored.missing),
        model_metrics=list(model_metrics), metric_failures=scored.metric_failures,
        metric_models=scored.metric_models, empty_references=list(scored.empty_references),
        bootstrap={"resamples": resamples, "seed": seed, "method": "percentile, paired over items", "level": 0.95},
        seed=seed, versions=versions(), git_commit=git_commit(),
        timestamps={"started": started, "finished": utc_now()})
    rows = [ItemScores(r["id"], r["scores"], r.get("stats", {})) for r in scored.per_item_rows()]
    return scoring, rows


def store_scoring(folder: Path, *, run_id: str, model: dict[str, Any], split: Split, scored: ScoredRun,
                  **settings: Any) -> tuple[RunResults, Scoring]:
    """Add ``scored`` to the run folder as a new scoring; returns (the run, that scoring)."""
    scoring, rows = to_scoring(scored, split=split, **settings)
    run = add_scoring(folder, run_id=run_id, model=model, split=split_header(split), scoring=scoring, rows=rows)
    return run, run.scorings[scoring.key]
