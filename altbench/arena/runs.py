"""The runs of an arena: each run folder's predictions (``predictions.jsonl``) and its ``run.json``.

Every run must have been made on the same split (name and content hash in its fingerprint) unless ``--split``
names the split explicitly, and the split is read where the runs recorded its data (run.json's ``data``)
unless ``--data-root`` says otherwise; a run's label is its display name (run.json's ``name``, else a short
model name), made unique with the folder name when two runs share one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from altbench.data.location import DataLocation, recorded_location
from altbench.data.reload import reload_split
from altbench.data.splits import Split, load_split
from altbench.errors import AltbenchError, DataError
from altbench.results.model import short_model_name
from altbench.run import predictions as pred_store


@dataclass(frozen=True)
class ArenaRun:
    """label: how the run is shown; predictions: id -> text, None where the run failed that item."""

    label: str
    path: Path
    model: str
    split: str | None
    split_sha256: str | None
    predictions: dict[str, str | None]
    location: DataLocation | None = None  # where the run found the split's data (run.json ``data``)


def load_run(path: Path) -> ArenaRun:
    folder = Path(path).expanduser()
    if folder.is_file() and folder.name == "predictions.jsonl":
        folder = folder.parent
    pred_path = folder / "predictions.jsonl"
    if not pred_path.is_file():
        raise AltbenchError(f"arena: {folder} is not a run folder (no predictions.jsonl); give run folders made "
                            "by altbench run")
    meta: dict = {}
    meta_path = folder / "run.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            fingerprint = meta.get("fingerprint") or {}
        except (OSError, ValueError, AttributeError) as exc:
            raise DataError(f"arena: {meta_path}: unreadable run.json ({exc})") from None
    else:
        fingerprint = {}
    records = pred_store.read(pred_path)
    model = str(fingerprint.get("model") or folder.name)
    name = str(meta.get("name") or short_model_name(model))
    return ArenaRun(name, folder, model, fingerprint.get("split"), fingerprint.get("split_sha256"),
                    {k: r.prediction for k, r in records.items()}, recorded_location(meta.get("data")))


def load_runs(paths: Sequence[Path]) -> list[ArenaRun]:
    """The runs, labelled uniquely; the same folder twice is an error (a model cannot battle itself)."""
    runs = [load_run(p) for p in paths]
    seen: set[Path] = set()
    for r in runs:
        if r.path.resolve() in seen:
            raise AltbenchError(f"arena: run {r.path} is given twice")
        seen.add(r.path.resolve())
    names = [r.label for r in runs]
    return [r if names.count(r.label) == 1 else replace(r, label=f"{r.label} ({r.path.name})") for r in runs]


def resolve_split(runs: Sequence[ArenaRun], split: str | None, data_root: Path | None = None) -> Split:
    """The split every run was made on (from run.json), or ``split`` when given; mismatches are errors."""
    if split is None:
        names = {r.split for r in runs}
        if None in names:
            bad = next(r for r in runs if r.split is None)
            raise AltbenchError(f"arena: {bad.path} has no run.json naming its split; pass --split NAME")
        if len(names) > 1:
            raise AltbenchError(f"arena: the runs were made on different splits ({', '.join(sorted(names))}); "
                                "battles need the same items")
        split = names.pop()
        recorded = next((r for r in runs if r.location is not None), None)
        if data_root is None and recorded is not None:  # where the run found the data, if it is still there
            loaded = reload_split(split, split, recorded.split_sha256, recorded.location)
        else:
            loaded = load_split(split, data_root)
    else:
        loaded = load_split(split, data_root)
    for r in runs:
        if r.split_sha256 and r.split == loaded.name and r.split_sha256 != loaded.sha256():
            raise AltbenchError(f"arena: {r.path} was made on another version of split {loaded.name} "
                                "(content hash differs)")
    known = {item.id for item in loaded.items}
    for r in runs:
        if not known & set(r.predictions):
            raise AltbenchError(f"arena: {r.path} has no prediction for any item of split {loaded.name}")
    return loaded
