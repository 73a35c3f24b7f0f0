"""``altbench score``: saved predictions -> scores, with no model and no torch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.data.splits import load_split
from altbench.run import predictions as pred_store
from altbench.run.results import build_results, utc_now, write_run_outputs
from altbench.run.runner import split_info
from altbench.run.scoring import check_model_metrics, score_split


@dataclass
class ScoreConfig:
    predictions: Path
    split: str
    convention: str = "paper"
    out: Path | None = None
    data_root: Path | None = None
    images: Path | None = None
    seed: int = 0
    resamples: int = 10_000
    metrics: tuple[str, ...] = ()  # model-based metrics by name (clipscore, refclipscore, bertscore, judge)
    metric_args: dict[str, Any] = field(default_factory=dict)


def score_file(config: ScoreConfig) -> tuple[Path, dict[str, Any]]:
    """Score a predictions file (altbench's or the reference work's) against a split; returns (out, results)."""
    started = utc_now()
    check_model_metrics(config.metrics, config.metric_args)
    split = load_split(config.split, config.data_root, config.images)
    records = pred_store.read(config.predictions)
    # Only the items the file speaks of are evaluated; the rest of the split marks it as a subset.
    ids = [it.id for it in split.items if it.id in records]
    evaluated = [it for it in split.items if it.id in records]
    scored = score_split(split, records, config.convention, ids, resamples=config.resamples, seed=config.seed,
                         metrics=config.metrics, metric_args=config.metric_args)
    run_meta = _run_meta(config.predictions)
    model = {"name": run_meta.get("fingerprint", {}).get("model", config.predictions.stem),
             "target": run_meta.get("fingerprint", {}).get("target"),
             "fingerprint": run_meta.get("fingerprint"), "predictions": str(config.predictions)}
    results = build_results(
        scored, run_id=run_meta.get("run_id", config.predictions.stem), model=model,
        split=split_info(split, evaluated, None), convention=config.convention, seed=config.seed,
        resamples=config.resamples, started=started)
    out = config.out or config.predictions.parent / f"{config.predictions.stem}.scores"
    write_run_outputs(out, scored, results)
    return out, results


def _run_meta(predictions: Path) -> dict[str, Any]:
    meta = predictions.parent / "run.json"
    if meta.is_file():
        try:
            return json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
    return {}
