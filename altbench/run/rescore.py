"""``altbench score``: saved predictions -> a new scoring, with no model and no torch.

Predictions that are a run folder's own ``predictions.jsonl`` (``run.json`` beside it) are scored into that
run, as one more scoring beside the others; any other file (a foreign predictions file, the reference
work's inference output) is scored into the folder ``--out`` names.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.data.location import absolute, recorded_location
from altbench.data.reload import reload_split
from altbench.data.splits import load_split
from altbench.errors import AltbenchError, DataError
from altbench.executor import Executor
from altbench.results import RunResults, Scoring
from altbench.results.store import read_json
from altbench.run import predictions as pred_store
from altbench.run.results import store_scoring, utc_now
from altbench.run.scoring import (
    PARALLEL_MIN_ITEMS,
    check_ids,
    check_model_metrics,
    conventions_for,
    score_split,
    warm_up_tasks,
)
from altbench.stats import defaults


@dataclass
class ScoreConfig:
    predictions: Path
    split: str
    convention: str = "paper"
    out: Path | None = None
    data_root: Path | None = None
    images: Path | None = None
    seed: int = defaults.SEED
    resamples: int = defaults.RESAMPLES
    metrics: tuple[str, ...] = ()  # model-based metrics by name (clipscore, refclipscore, bertscore, judge)
    metric_args: dict[str, Any] = field(default_factory=dict)
    jobs: int | None = 1  # worker processes (altbench.executor; 1: none, None: the usable cores)


def owning_run(predictions: Path) -> tuple[Path, dict[str, Any]] | None:
    """(run folder, its run.json) when ``predictions`` is a run folder's own predictions file."""
    meta = predictions.parent / "run.json"
    if predictions.name != "predictions.jsonl" or not meta.is_file():
        return None
    data = read_json(meta)
    if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), dict) or not data.get("run_id"):
        raise DataError(f"{meta}: not an altbench run.json (no run_id and fingerprint)")
    return predictions.parent, data


def score_file(config: ScoreConfig, executor: Executor | None = None) -> tuple[RunResults, Scoring]:
    """Score a predictions file against a split; returns (the run with every scoring, the new scoring).
    ``executor``: the command's worker processes (default: ``config.jobs`` of them, for this call)."""
    # Loading, scoring and storing make millions of small objects and no garbage cycles to speak of; the
    # cyclic collector would only rescan them, more often the larger the scoring (20% of a 200,000-item
    # split's load time). Model-based metrics (torch, transformers) do make cycles: collector left on.
    enabled = gc.isenabled()
    if not config.metrics:
        gc.disable()
    try:
        if executor is not None:
            return _score_file(config, executor)
        with Executor(config.jobs, warm_up_tasks(conventions_for(config.convention))) as own:
            if _lines(config.predictions) >= PARALLEL_MIN_ITEMS:
                own.start()  # a large file: the workers start and warm up while the split is loaded
            return _score_file(config, own)
    finally:
        if enabled:
            gc.enable()


def _lines(path: Path) -> int:
    """About how many records a predictions file holds (0 when unreadable: the reader will say why)."""
    try:
        with open(path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except OSError:
        return 0


def _load_split(config: ScoreConfig, run_meta: dict[str, Any] | None):
    """The split to score against. Predictions of a run, scored against that run's split with no
    ``data_root``/``images`` given, find the data where the run recorded it (and say what is missing)."""
    if run_meta is not None and config.data_root is None and config.images is None:
        fp = run_meta["fingerprint"]
        location = recorded_location(run_meta.get("data"))
        same_file = (location is not None and location.split_file is not None
                     and Path(config.split).is_file() and Path(absolute(config.split)) == Path(location.split_file))
        if location is not None and (config.split == fp.get("split") or same_file):
            return reload_split(str(fp.get("split")), config.split, fp.get("split_sha256"), location)
    return load_split(config.split, config.data_root, config.images)


def _score_file(config: ScoreConfig, executor: Executor) -> tuple[RunResults, Scoring]:
    started = utc_now()
    check_model_metrics(config.metrics, config.metric_args)
    owner = owning_run(config.predictions)
    if owner is not None and config.out is not None and config.out.resolve() == owner[0].resolve():
        config.out = None
    split = _load_split(config, owner[1] if owner is not None else None)
    records = pred_store.read(config.predictions, allow_empty=False)
    check_ids(split, records)
    if owner is None and config.out is None:
        raise AltbenchError(f"{config.predictions}: not the predictions.jsonl of a run folder; say where its "
                            "results go with --out DIR")
    # Only the items the file speaks of are evaluated; the rest of the split marks it as a subset.
    ids = [it.id for it in split.items if it.id in records]
    if owner is not None and config.out is None:
        folder, meta = owner
        fp = meta["fingerprint"]
        if fp.get("split_sha256") and fp["split_sha256"] != split.sha256():
            raise DataError(f"{config.predictions}: generated on split {fp.get('split')} (sha256 "
                            f"{str(fp['split_sha256'])[:12]}), not on {split.name} (sha256 {split.sha256()[:12]}); "
                            "wrong --split?")
        run_id = str(meta["run_id"])
        model = {"name": fp.get("model"), "target": fp.get("target"), "fingerprint": fp,
                 "display_name": meta.get("name")}
    else:
        folder = config.out
        meta = owner[1] if owner else {}
        fp = meta.get("fingerprint") or {}
        run_id = str(meta.get("run_id") or config.predictions.stem)
        model = {"name": fp.get("model", config.predictions.stem), "target": fp.get("target"),
                 "fingerprint": fp or None, "predictions": str(config.predictions), "display_name": meta.get("name")}
    scored = score_split(split, records, config.convention, ids, resamples=config.resamples, seed=config.seed,
                         metrics=config.metrics, metric_args=config.metric_args, executor=executor,
                         meanwhile=split.sha256)  # the results need the split's hash: made while workers work
    return store_scoring(folder, run_id=run_id, model=model, split=split, scored=scored, started=started,
                         evaluated_ids=ids, convention=config.convention, seed=config.seed,
                         resamples=config.resamples, limit=None, model_metrics=config.metrics,
                         metric_args=config.metric_args)
