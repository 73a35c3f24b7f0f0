"""Run folders -> :class:`RunData`, grouped by split into :class:`SplitGroup` (with the split's items).

A run folder is read by the one results reader (:func:`altbench.results.load_run`: every scoring, schema 2
or 1), plus its ``predictions.jsonl`` and ``run.json``. Only ``results.json`` is required; pages say what is
missing when the rest is absent. A run is one entry per split however many scorings it holds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, DataError
from altbench.results import RunResults, Scoring, find_run_dirs
from altbench.results import load_run as read_run
from altbench.results.store import read_json
from altbench.run.predictions import PredictionRecord
from altbench.run.predictions import read as read_predictions

log = logging.getLogger(__name__)

def slugify(text: str, max_len: int = 60) -> str:
    """A file-name-safe slug (lower-case ASCII letters, digits and dashes)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:max_len].strip("-")
    return slug or "x"


@dataclass
class RunData:
    """One run folder as the pages show it: the typed results, its predictions, and display names.

    Metrics (and their per-item scores) come from the fullest scoring that reports each one; counts and
    failures from the run's headline scoring (see :class:`altbench.results.RunResults`).
    """

    path: Path
    run: RunResults
    predictions: dict[str, PredictionRecord]
    run_meta: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    name: str | None = None  # a display name given for this build (--label), over the run's own
    label: str = ""  # display name, unique within its split group
    slug: str = ""  # file-name part, unique within its split group

    @property
    def model_name(self) -> str:
        return self.run.model_name

    @property
    def display_name(self) -> str:
        """The name given for this build, else the run's (``run --name``, else a short model name)."""
        return self.name or self.run.display_name

    @property
    def headline(self) -> Scoring:
        return self.run.headline

    @property
    def split(self) -> dict[str, Any]:
        """The split header plus the headline scoring's evaluated subset."""
        items = self.headline.items
        return {**self.run.split, "n_evaluated": items.n_evaluated, "subset": items.subset, "limit": items.limit}

    @property
    def split_name(self) -> str:
        return self.run.split_name

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @cached_property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """Each metric's results.json entry, from the fullest scoring that reports it (made once: every table
        cell asks)."""
        return {k: m.to_dict() for k, m in self.run.metric_view().items()}

    @property
    def counts(self) -> dict[str, int]:
        return self.headline.counts

    @property
    def failures(self) -> list[dict[str, str]]:
        return self.headline.failures

    @property
    def results(self) -> dict[str, Any]:
        """The headline scoring with the run header, flat, for the pages' facts; metrics from every scoring."""
        return {**self.run.flat(), "metrics": self.metrics, "scorings": list(self.run.scorings)}

    @cached_property
    def scores(self) -> dict[str, dict[str, float | None]]:
        """id -> metric -> per-item score (raw scale), each metric from its own scoring; split order."""
        out: dict[str, dict[str, float | None]] = {}
        for key in self.run.metric_keys():
            for item_id, row in self._rows(key).items():
                out.setdefault(item_id, {})[key] = row.scores.get(key)
        return out

    @cached_property
    def stats(self) -> dict[str, dict[str, list[float]]]:
        """id -> metric -> sufficient statistics, for corpus-level metrics."""
        out: dict[str, dict[str, list[float]]] = {}
        for key in self.run.metric_keys():
            for item_id, row in self._rows(key).items():
                if key in row.stats:
                    out.setdefault(item_id, {})[key] = row.stats[key]
        return out

    def _rows(self, key: str) -> dict:
        s = self.run.scoring_for(key)
        if s is None:
            return {}
        try:
            return s.rows()
        except DataError as exc:
            note = f"per-item scores unreadable: {exc}"
            if note not in self.notes:
                self.notes.append(note)
            return {}

    @cached_property
    def probes(self) -> Any:
        """The run's ``probes.json`` (:class:`~altbench.probes.results.ProbeReport`) or None; unreadable: a note."""
        from altbench.probes.results import probes_of

        try:
            return probes_of(self.path)
        except DataError as exc:
            self.notes.append(f"probes unreadable: {exc}")
            return None

    @property
    def report_name(self) -> str:
        """Folder name of this run's report: ``<display name>-<split>-<run_id>``."""
        return "-".join(p for p in (slugify(self.display_name), slugify(self.split_name), slugify(self.run_id)) if p)


def scorings_text(run: RunData) -> str:
    """Every scoring of the run, the headline first: key and what it evaluated."""
    parts = []
    for s in run.run.ordered():
        role = "headline" if s.key == run.headline.key else ""
        what = f"{s.items.n_evaluated} of {s.items.n_split} items, {'+'.join(s.conventions)}"
        parts.append(f"{s.key} ({', '.join(x for x in (role, what) if x)})")
    return "; ".join(parts) + ". Each metric is shown from the fullest scoring that reports it."


def load_run(path: Path) -> RunData:
    """Read one run folder; raises :class:`AltbenchError` when its results file is unusable."""
    run = read_run(path)
    notes: list[str] = []
    predictions: dict[str, PredictionRecord] = {}
    pred_path = path / "predictions.jsonl"
    if not pred_path.is_file():
        other = run.model.get("predictions")  # `altbench score --out` records the file it scored
        pred_path = Path(other) if isinstance(other, str) else pred_path
    if pred_path.is_file():
        try:
            predictions = read_predictions(pred_path)
        except DataError as exc:
            notes.append(f"predictions unreadable: {exc}")
    else:
        notes.append("no predictions.jsonl beside results.json: predictions are not shown")
    run_meta: dict[str, Any] = {}
    if (path / "run.json").is_file():
        meta = read_json(path / "run.json")
        run_meta = meta if isinstance(meta, dict) else {}
    data = RunData(path, run, predictions, run_meta, notes)
    if not any((s.scores_path and s.scores_path.is_file()) for s in run.scorings.values()):
        notes.append("no per-item scores beside results.json: item-level scores and ranks are not available")
    return data


def load_runs(paths: list[Path], names: dict[Path, str] | None = None) -> list[RunData]:
    """The runs in ``paths``; ``names``: display names for some of them by run folder (or results.json)."""
    runs = [load_run(p) for p in find_run_dirs(paths)]
    apply_names(runs, names or {})
    return runs


def apply_names(runs: list[RunData], names: dict[Path, str]) -> None:
    """Give runs the display names in ``names`` (keys: run folders or their results.json); a key that is not
    one of the runs is an error (a typo would otherwise go unnoticed)."""
    by_folder = {r.path.resolve(): r for r in runs}
    for key, name in names.items():
        folder = Path(key).resolve()
        folder = folder.parent if folder.name == "results.json" else folder
        if folder not in by_folder:
            raise AltbenchError(f"label for {key}: it is not one of the runs given")
        by_folder[folder].name = name


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
    names = [r.display_name for r in runs]
    used: set[str] = set()
    for run in runs:
        name = run.display_name
        run.label = name if names.count(name) == 1 else f"{name} (run {run.run_id})"
        run.slug = _unique(slugify(run.label), used)


def _unique(base: str, used: set[str]) -> str:
    slug, k = base, 2
    while slug in used:
        slug, k = f"{base}-{k}", k + 1
    used.add(slug)
    return slug


def attach_items(group: SplitGroup, data_root: Path | None = None, images: Path | None = None) -> None:
    """Load the split's items (context, references, image) for ``group``; on failure record why.

    Without ``data_root``/``images``, the split is found where its runs recorded it (results.json's split
    ``location``, else run.json's ``data``). Never downloads. The split's content hash must match the one the
    runs were scored on; when it does not, the note says what is missing or changed.
    """
    from altbench.data.location import recorded_location
    from altbench.data.reload import reload_split

    location = recorded_location(*(r.run.split.get("location") for r in group.runs),
                                 *(r.run_meta.get("data") for r in group.runs))
    try:
        split = reload_split(group.name, group.source, group.sha256, location, data_root, images)
    except AltbenchError as exc:
        reason = str(exc).removeprefix(f"split {group.name}: ")
        group.items_note = (f"split {group.name} could not be loaded: {reason}; context, references and images "
                            "are not shown (--data-root / --images say where the data is)")
        log.warning("%s", group.items_note)
        return
    group.items = {item.id: item for item in split.items}
