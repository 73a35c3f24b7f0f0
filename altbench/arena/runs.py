"""The runs of an arena: each run folder's predictions (``predictions.jsonl``) and its ``run.json``.

Every run must have been made on the same split (name and content hash in its fingerprint) unless ``--split``
names the split explicitly; a run's label is its model name, made unique with the folder name when two runs
share a model name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from altbench.data.splits import Split, load_split
from altbench.errors import AltbenchError, DataError
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


def load_run(path: Path) -> ArenaRun:
    folder = Path(path).expanduser()
    if folder.is_file() and folder.name == "predictions.jsonl":
        folder = folder.parent
    pred_path = folder / "predictions.jsonl"
    if not pred_path.is_file():
        raise AltbenchError(f"arena: {folder} is not a run folder (no predictions.jsonl); give run folders made "
                            "by altbench run")
    fingerprint: dict = {}
    meta_path = folder / "run.json"
    if meta_path.is_file():
        try:
            fingerprint = json.loads(meta_path.read_text(encoding="utf-8")).get("fingerprint") or {}
        except (OSError, ValueError, AttributeError) as exc:
            raise DataError(f"arena: {meta_path}: unreadable run.json ({exc})") from None
    records = pred_store.read(pred_path)
    model = str(fingerprint.get("model") or folder.name)
    return ArenaRun(model, folder, model, fingerprint.get("split"), fingerprint.get("split_sha256"),
                    {k: r.prediction for k, r in records.items()})


def load_runs(paths: Sequence[Path]) -> list[ArenaRun]:
    """The runs, labelled uniquely; the same folder twice is an error (a model cannot battle itself)."""
    runs = [load_run(p) for p in paths]
    seen: set[Path] = set()
    for r in runs:
        if r.path.resolve() in seen:
            raise AltbenchError(f"arena: run {r.path} is given twice")
        seen.add(r.path.resolve())
    names = [r.model for r in runs]
    out = []
    for r in runs:
        label = r.model if names.count(r.model) == 1 else f"{r.model} ({r.path.name})"
        out.append(ArenaRun(label, r.path, r.model, r.split, r.split_sha256, r.predictions))
    return out


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
