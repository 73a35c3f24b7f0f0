"""Run folders -> :class:`RunData`, grouped by split into :class:`SplitGroup` (with the split's items).

A run folder is what ``altbench run`` (or ``altbench score``) writes: ``results.json`` (schema
``altbench.results/1``), ``scores.jsonl`` (per-item scores, raw scale), ``predictions.jsonl`` and ``run.json``.
Only ``results.json`` is required; pages say what is missing when the rest is absent.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, DataError
from altbench.io import iter_objects
from altbench.run.predictions import PredictionRecord
from altbench.run.predictions import read as read_predictions

log = logging.getLogger(__name__)

SCHEMA = "altbench.results/1"


def slugify(text: str, max_len: int = 60) -> str:
    """A file-name-safe slug (lower-case ASCII letters, digits and dashes)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return slug or "x"


@dataclass
class RunData:
    """One run folder, read."""

    path: Path
    results: dict[str, Any]
    scores: dict[str, dict[str, float | None]]  # id -> metric -> per-item score (raw scale)
    stats: dict[str, dict[str, list[float]]]  # id -> metric -> sufficient statistics (corpus metrics)
    predictions: dict[str, PredictionRecord]
    run_meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    label: str = ""  # display name, unique within its split group
    slug: str = ""  # file-name part, unique within its split group

    @property
    def model_name(self) -> str:
        return str(self.results.get("model", {}).get("name") or "unnamed model")

    @property
    def split(self) -> dict[str, Any]:
        return self.results.get("split", {})

    @property
    def split_name(self) -> str:
        return str(self.split.get("name") or "unnamed split")

    @property
    def run_id(self) -> str:
        return str(self.results.get("run_id") or "")

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return self.results.get("metrics", {})

    @property
    def counts(self) -> dict[str, int]:
        return self.results.get("counts", {})

    @property
    def failures(self) -> list[dict[str, str]]:
        return self.results.get("failures", [])

    @property
    def report_name(self) -> str:
        """Folder name of this run's report: ``<model>-<split>-<run_id>``."""
        return "-".join(p for p in (slugify(self.model_name), slugify(self.split_name), slugify(self.run_id)) if p)


def find_run_dirs(paths: list[Path]) -> list[Path]:
    """Run folders named by ``paths``: a run folder, its ``results.json``, or a folder holding run folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            if path.name != "results.json":
                raise AltbenchError(f"{path}: expected a run folder or its results.json")
            found.append(path.parent)
        elif (path / "results.json").is_file():
            found.append(path)
        elif path.is_dir():
            nested = sorted(p.parent for p in path.rglob("results.json"))
            if not nested:
                raise AltbenchError(f"{path}: no results.json in it or below it (is it a run folder?)")
            found.extend(nested)
        else:
            raise AltbenchError(f"{path}: no such run folder")
    unique: list[Path] = []
    seen: set[Path] = set()
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def load_run(path: Path) -> RunData:
    """Read one run folder; raises :class:`AltbenchError` when its results file is unusable."""
    results_path = path / "results.json"
    results = _read_json(results_path)
    if not isinstance(results, dict) or results.get("schema") != SCHEMA:
        found = results.get("schema") if isinstance(results, dict) else type(results).__name__
        raise AltbenchError(f"{results_path}: not an {SCHEMA} file (schema: {found!r})")
    for key in ("model", "split", "metrics", "counts"):
        if not isinstance(results.get(key), dict):
            raise AltbenchError(f"{results_path}: field {key!r} is missing or not an object")
    notes: list[str] = []
    scores, stats = _read_scores(path / "scores.jsonl", notes)
    predictions: dict[str, PredictionRecord] = {}
    pred_path = path / "predictions.jsonl"
    if not pred_path.is_file():
        other = results["model"].get("predictions")  # `altbench score` records the file it scored
        pred_path = Path(other) if isinstance(other, str) else pred_path
    if pred_path.is_file():
        try:
            predictions = read_predictions(pred_path)
        except DataError as exc:
            notes.append(f"predictions unreadable: {exc}")
    else:
        notes.append("no predictions.jsonl beside results.json: predictions are not shown")
    run_meta = {}
    if (path / "run.json").is_file():
        meta = _read_json(path / "run.json")
        run_meta = meta if isinstance(meta, dict) else {}
    return RunData(path, results, scores, stats, predictions, run_meta, notes)


def load_runs(paths: list[Path]) -> list[RunData]:
    return [load_run(p) for p in find_run_dirs(paths)]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AltbenchError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AltbenchError(f"{path}: not valid JSON ({exc})") from None


def _read_scores(path: Path, notes: list[str]) -> tuple[dict, dict]:
    scores: dict[str, dict[str, float | None]] = {}
    stats: dict[str, dict[str, list[float]]] = {}
    if not path.is_file():
        notes.append("no scores.jsonl beside results.json: item-level scores and ranks are not available")
        return scores, stats
    for lineno, row in iter_objects(path, "scores"):
        if "id" not in row or not isinstance(row.get("scores"), dict):
            raise AltbenchError(f"{path}:{lineno}: expected an object with 'id' and 'scores'")
        item_id = str(row["id"])
        scores[item_id] = {k: (float(v) if isinstance(v, (int, float)) else None)
                           for k, v in row["scores"].items()}
        if isinstance(row.get("stats"), dict):
            stats[item_id] = row["stats"]
    return scores, stats


@dataclass
class SplitGroup:
    """The runs of one split (same name and content hash), with the split's items when they can be loaded."""

    name: str
    sha256: str
    runs: list[RunData]
    slug: str = ""
    items: dict[str, Item] | None = None
    items_note: str | None = None  # why items (context, references, images) are not shown

    @property
    def n_items(self) -> int:
        return max((int(r.split.get("n_items") or 0) for r in self.runs), default=0)

    @property
    def source(self) -> str:
        return str(self.runs[0].split.get("source") or "")


def group_by_split(runs: list[RunData]) -> list[SplitGroup]:
    """Runs grouped by (split name, content hash), in first-seen order, with unique labels and slugs."""
    groups: dict[tuple[str, str], SplitGroup] = {}
    for run in runs:
        key = (run.split_name, str(run.split.get("sha256") or ""))
        groups.setdefault(key, SplitGroup(key[0], key[1], []))
        groups[key].runs.append(run)
    names = [g.name for g in groups.values()]
    used: set[str] = set()
    for group in groups.values():
        base = slugify(group.name)
        if names.count(group.name) > 1:  # same split name, different content: keep them apart
            base = f"{base}-{group.sha256[:8] or 'nohash'}"
        group.slug = _unique(base, used)
        _label_runs(group.runs)
    return list(groups.values())


def _label_runs(runs: list[RunData]) -> None:
    names = [r.model_name for r in runs]
    used: set[str] = set()
    for run in runs:
        run.label = run.model_name if names.count(run.model_name) == 1 else f"{run.model_name} (run {run.run_id})"
        run.slug = _unique(slugify(run.label), used)


def _unique(base: str, used: set[str]) -> str:
    slug, k = base, 2
    while slug in used:
        slug, k = f"{base}-{k}", k + 1
    used.add(slug)
    return slug


def attach_items(group: SplitGroup, data_root: Path | None = None, images: Path | None = None) -> None:
    """Load the split's items (context, references, image) for ``group``; on failure record why.

    Never downloads: a sample split is loaded only from ``data_root``, ``$ALTBENCH_DATA`` or a complete cache.
    The split's content hash must match the one the runs were scored on.
    """
    from altbench.data import sample_download
    from altbench.data.splits import SPLITS, cache_dir, load_split

    spec = SPLITS.get(group.name)
    try:
        if spec is not None:
            if (spec.source == "sample" and not (data_root or os.environ.get("ALTBENCH_DATA"))
                    and not sample_download.is_complete(cache_dir() / "mcmdpo-sample", spec.platform, spec.part)):
                raise DataError("sample data not found (pass --data-root or set ALTBENCH_DATA)")
            split = load_split(group.name, data_root, images)
        elif group.source and Path(group.source).is_file():
            split = load_split(group.source, data_root, images)
        else:
            raise DataError(f"split file {group.source or group.name!r} not found")
    except AltbenchError as exc:
        group.items_note = f"split {group.name} could not be loaded, so context, references and images are " \
                           f"not shown: {exc}"
        log.warning("%s", group.items_note)
        return
    if group.sha256 and split.sha256() != group.sha256:
        group.items_note = (f"split {group.name} found, but its content differs from the one the runs were scored "
                            "on (sha256 mismatch), so context, references and images are not shown")
        log.warning("%s", group.items_note)
        return
    group.items = {item.id: item for item in split.items}
