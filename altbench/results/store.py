"""The one reader and the one writer of results (``results.json`` + per-scoring ``*.scores.jsonl``).

Layout of a run folder (docs/results-schema.md)::

    run.json                               run id and fingerprint (written when the run is claimed)
    predictions.jsonl                      the generation, append-only
    results.json                           altbench.results/2: the run, and a summary of every scoring
    scorings/<key>.scores.jsonl            per-item scores of each scoring

:func:`add_scoring` is the only way a scoring is written: under an exclusive lock on the folder it writes
the scoring's per-item file, then rewrites ``results.json`` with that scoring added (or replaced, when the
same settings are scored again), both atomically, so a concurrent or interrupted scoring never loses or
mixes another. Version 1 folders (``results.json`` + ``scores.jsonl``, one scoring) are read as they are and
converted on the first new scoring, their scores kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from altbench.errors import DataError, WriteError
from altbench.io import write_json_atomic, write_jsonl_atomic
from altbench.results.model import (
    SCHEMA,
    SCHEMA_V1,
    ItemScores,
    ItemSubset,
    MetricResult,
    RunResults,
    Scoring,
)

RESULTS = "results.json"
PROVENANCE = ("display_name",)  # model header fields a later scoring updates (they are not the run's identity)
SCORINGS = "scorings"
LOCK = ".results.lock"


def ids_sha256(ids: Sequence[str]) -> str:
    """Of the sorted ids: the same item set gives the same hash, whatever the order it was listed in."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def scoring_key(conventions: Sequence[str], model_metrics: Sequence[str], metric_args: dict[str, Any] | None,
                resamples: int, seed: int, items: ItemSubset) -> str:
    """``<convention>[+<model metrics>]-<n>of<N>-<hash>``: readable, and distinct for distinct settings.

    The hash covers everything that changes a scoring's numbers: conventions, model metrics and their
    settings, bootstrap resamples and seed, and the exact evaluated item ids.
    """
    conv = "both" if sorted(conventions) == ["coco", "paper"] else "+".join(conventions)
    name = "+".join([conv, *sorted(model_metrics)])
    settings = {"conventions": list(conventions), "model_metrics": sorted(model_metrics),
                "metric_args": metric_args or {}, "resamples": resamples, "seed": seed, "ids": items.ids_sha256}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{name}-{items.n_evaluated}of{items.n_split}-{digest}"


# -------------------------------------------------------------------------------------------- reading
def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def resolve(path: Path) -> tuple[Path, Path]:
    """(run folder, results file) for a run folder or a results file."""
    path = Path(path)
    if path.is_dir():
        results = path / RESULTS
        if not results.is_file():
            raise DataError(f"{path}: no results.json in this folder (is it an altbench run folder?)")
        return path, results
    if path.is_file():
        return path.parent, path
    raise DataError(f"{path}: no such run folder or results file")


def load_run(path: Path | str) -> RunResults:
    """Read a run folder (or its results file), schema 2 or 1."""
    folder, results_path = resolve(Path(path))
    data = read_json(results_path)
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema == SCHEMA:
        return _from_v2(folder, results_path, data)
    if schema == SCHEMA_V1:
        return _from_v1(folder, results_path, data)
    found = schema if isinstance(data, dict) else type(data).__name__
    raise DataError(f"{results_path}: expected an {SCHEMA} (or {SCHEMA_V1}) results file, got schema {found!r}")


def _require(data: dict, keys: Sequence[str], where: Path) -> None:
    for key in keys:
        if not isinstance(data.get(key), dict):
            raise DataError(f"{where}: field {key!r} is missing or not an object")


def _scoring(key: str, d: dict[str, Any], folder: Path, where: Path, scores_file: str) -> Scoring:
    _require(d, ("metrics", "counts"), where)
    items = d.get("items") or {}
    try:
        metrics = {k: MetricResult.from_dict(k, m) for k, m in d["metrics"].items()}
        counts = {k: int(v) for k, v in d["counts"].items()}
    except (AttributeError, TypeError, ValueError):
        raise DataError(f"{where}: scoring {key!r} has malformed metrics or counts") from None
    n_eval = int(items.get("n_evaluated", counts.get("items", 0)))
    subset = ItemSubset(n_eval, int(items.get("n_split", n_eval)), str(items.get("ids_sha256") or ""),
                        items.get("limit"))
    conventions = list(d.get("conventions") or [d.get("convention")])
    return Scoring(
        key=key, convention=str(d.get("convention")), conventions=[str(c) for c in conventions if c],
        metrics=metrics, counts=counts, items=subset, failures=list(d.get("failures") or []),
        missing=[str(i) for i in d.get("missing") or []], model_metrics=list(d.get("model_metrics") or []),
        metric_failures=dict(d.get("metric_failures") or {}), metric_models=dict(d.get("metric_models") or {}),
        empty_references=[str(i) for i in d.get("empty_references") or []],
        bootstrap=dict(d.get("bootstrap") or {}), seed=int(d.get("seed") or 0),
        versions=dict(d.get("versions") or {}), git_commit=d.get("git_commit"),
        timestamps=dict(d.get("timestamps") or {}), scores_file=scores_file, scores_path=folder / scores_file)


def _from_v2(folder: Path, where: Path, data: dict[str, Any]) -> RunResults:
    _require(data, ("model", "split", "scorings"), where)
    scorings = {}
    for key, d in data["scorings"].items():
        if not isinstance(d, dict):
            raise DataError(f"{where}: scoring {key!r} is not an object")
        scorings[key] = _scoring(key, d, folder, where, str(d.get("scores_file") or f"{SCORINGS}/{key}.scores.jsonl"))
    if not scorings:
        raise DataError(f"{where}: the run has no scoring")
    return RunResults(folder, str(data.get("run_id") or folder.name), data["model"], data["split"], scorings, SCHEMA)


def _from_v1(folder: Path, where: Path, data: dict[str, Any]) -> RunResults:
    """A version 1 file is one scoring; its split block also holds the evaluated subset."""
    _require(data, ("model", "split", "metrics", "counts"), where)
    split = data["split"]
    named = where.with_name(f"{where.stem}.scores.jsonl")  # `X.json` + `X.scores.jsonl`, else scores.jsonl
    scores_file = named.name if named.is_file() else "scores.jsonl"
    ids = None
    d = dict(data)
    d["items"] = {"n_evaluated": split.get("n_evaluated", data["counts"].get("items", 0)),
                  "n_split": split.get("n_items", split.get("n_evaluated", 0)), "limit": split.get("limit")}
    probe = _scoring("v1", d, folder, where, scores_file)
    if probe.scores_path and probe.scores_path.is_file():
        ids = list(probe.rows())
    # the evaluated ids of a v1 scoring are not recorded: the scored ids, failed and missing ones stand in
    evaluated = (ids or []) + [f["id"] for f in probe.failures if "id" in f] + probe.missing
    probe.items = ItemSubset(probe.items.n_evaluated, probe.items.n_split, ids_sha256(evaluated),
                             probe.items.limit)
    key = scoring_key(probe.conventions, probe.model_metrics, None, int(probe.bootstrap.get("resamples") or 0),
                      probe.seed, probe.items)
    probe.key = key
    header_split = {k: split.get(k) for k in ("name", "source", "n_items", "sha256")}
    return RunResults(folder, str(data.get("run_id") or folder.name), data["model"], header_split, {key: probe},
                      SCHEMA_V1)


# -------------------------------------------------------------------------------------------- writing
@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on a run folder's results, held across read-modify-write."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a read-only or refused folder: nothing can be stored there
        raise WriteError(folder, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def header_dict(run: RunResults) -> dict[str, Any]:
    return {"schema": SCHEMA, "run_id": run.run_id, "model": run.model, "split": run.split}


def to_dict(run: RunResults) -> dict[str, Any]:
    return {**header_dict(run), "headline": run.headline.key,
            "scorings": {k: s.summary_dict() for k, s in run.scorings.items()}}


def add_scoring(folder: Path, *, run_id: str, model: dict[str, Any], split: dict[str, Any], scoring: Scoring,
                rows: Sequence[ItemScores]) -> RunResults:
    """Store ``scoring`` (with its per-item ``rows``) in ``folder``; returns the run with every scoring.

    A scoring with the key of an existing one replaces it (same settings, scored again); every other
    scoring is kept. The run header (model, split) must match a folder's existing one; its provenance (the
    model's ``display_name``, the split's ``location``) is the latest scoring's.
    """
    folder = Path(folder)
    with locked(folder):
        existing = load_run(folder) if (folder / RESULTS).is_file() else None
        if existing is not None:
            _check_same_run(existing, run_id, split)
            latest = {k: model[k] for k in PROVENANCE if model.get(k)}
            model = {**existing.model, **model} if existing.schema == SCHEMA_V1 else {**existing.model, **latest}
            scorings = _convert_v1(existing) if existing.schema == SCHEMA_V1 else dict(existing.scorings)
        else:
            scorings = {}
        scoring.scores_file = f"{SCORINGS}/{scoring.key}.scores.jsonl"
        scoring.scores_path = folder / scoring.scores_file
        write_jsonl_atomic(scoring.scores_path, (r.to_dict() for r in rows))
        scoring.set_rows(list(rows))
        scorings[scoring.key] = scoring
        run = RunResults(folder, run_id, model, split, scorings, SCHEMA)
        write_json_atomic(folder / RESULTS, to_dict(run))
        if existing is not None and existing.schema == SCHEMA_V1:
            _remove_v1_scores(existing)
    return run


def _check_same_run(existing: RunResults, run_id: str, split: dict[str, Any]) -> None:
    if existing.run_id != run_id:
        raise DataError(f"{existing.path}: holds results of run {existing.run_id}, not {run_id}; "
                        "choose another --out")
    if existing.split_sha256 and split.get("sha256") and existing.split_sha256 != split.get("sha256"):
        raise DataError(f"{existing.path}: its results are for split {existing.split_name} with other content "
                        f"(sha256 {str(existing.split_sha256)[:12]} vs {str(split.get('sha256'))[:12]})")


def _convert_v1(existing: RunResults) -> dict[str, Scoring]:
    """Move a version 1 scoring's per-item file to the version 2 place, keeping every row."""
    out = {}
    for key, s in existing.scorings.items():
        rows = list(s.rows().values())
        s.scores_file = f"{SCORINGS}/{key}.scores.jsonl"
        new_path = existing.path / s.scores_file
        write_jsonl_atomic(new_path, (r.to_dict() for r in rows))
        s.scores_path = new_path
        out[key] = s
    return out


def _remove_v1_scores(existing: RunResults) -> None:
    old = existing.path / "scores.jsonl"
    if old.is_file():
        old.unlink()


def _is_probe(folder: Path) -> bool:
    return folder.parent.name == "probes" and (folder.parent.parent / RESULTS).is_file()


def find_run_dirs(paths: Sequence[Path]) -> list[Path]:
    """Run folders named by ``paths``: a run folder, its ``results.json``, or a folder holding run folders."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_file():
            if path.name != RESULTS:
                raise DataError(f"{path}: expected a run folder or its results.json")
            found.append(path.parent)
        elif (path / RESULTS).is_file():
            found.append(path)
        elif path.is_dir():
            # a run's probes (run/probes/<probe>/, docs/probes.md) belong to that run: not runs of their own
            nested = sorted(p.parent for p in path.rglob(RESULTS) if not _is_probe(p.parent))
            if not nested:
                raise DataError(f"{path}: no results.json in it or below it (is it a run folder?)")
            found.extend(nested)
        else:
            raise DataError(f"{path}: no such run folder")
    unique: list[Path] = []
    seen: set[Path] = set()
    for p in found:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique
