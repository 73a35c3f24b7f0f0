"""The typed results model: a run's results, each of its scorings, a metric result and per-item scores.

A run folder holds one generation (``predictions.jsonl``) and any number of *scorings* of it: each scoring
is one (conventions, model metrics and their settings, bootstrap settings, item subset) and is stored under
its own key, so no rerun or rescore replaces another. The run's *headline* is its fullest scoring; a metric
is always read from the fullest scoring that has it (:meth:`RunResults.scoring_for`), so a ``--limit`` run
never shadows a full one.

These classes are plain data: :mod:`altbench.results.store` reads and writes them (schema in
docs/results-schema.md), nothing here touches the disk except :meth:`Scoring.rows`, which reads the
scoring's per-item file on first use (:func:`read_item_scores`).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from altbench.errors import DataError
from altbench.io import iter_objects
from altbench.results.numbers import reported_decimals, value_and_interval

SCHEMA = "altbench.results/2"
SCHEMA_V1 = "altbench.results/1"


_STEP = re.compile(r"(checkpoint|step|epoch|ckpt)[-_]?\d+|final|best|last|latest", re.IGNORECASE)


def short_model_name(name: str) -> str:
    """A model name as people read it. A checkpoint given as a path (``/home/me/checkpoints/tiny-mcmdpo``)
    is its folder's name: the absolute path says where it lay on one machine, not what it is; a step folder
    (``checkpoint-500``, ``final``) keeps its parent (``sft-run/checkpoint-500``). A name is taken for a path
    when it is absolute or starts with ``./``, ``../`` or ``~``, or names a folder that exists; registry
    names (``retrieval``, ``hf:ORG/NAME``) stay as they are."""
    looks_like_path = name.startswith(("/", "./", "../", "~", os.sep)) or (
        ("/" in name or os.sep in name) and ":" not in name and Path(name).expanduser().is_dir())
    if not looks_like_path:
        return name
    path = PurePath(name.rstrip("/" + os.sep))
    if not path.name or path.name in (".", ".."):
        return name
    if _STEP.fullmatch(path.name) and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name


def finite_or_none(x: float | None) -> float | None:
    """JSON has no NaN: an undefined value is written as null."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@dataclass(frozen=True)
class MetricResult:
    """One metric of one scoring, in the convention's reported scale.

    key:        ``<convention>/<name>`` (``paper/rougeL``), ``model/<name>`` or ``diag/<name>``.
    value:      the corpus value as the convention reports it; None when undefined.
    ci95:       percentile bootstrap interval over items; Nones when undefined.
    n:          items with a defined per-item score.
    aggregator: how the corpus value is rebuilt from summed per-item statistics (see metrics.base).
    scale:      raw aggregate -> reported value.
    signature:  every setting that changes the number, then the interval settings after ``|ci:``.
    """

    key: str
    value: float | None
    ci95: tuple[float | None, float | None]
    n: int
    higher_is_better: bool = True
    scale: float = 1.0
    aggregator: str = "mean"
    signature: str = ""

    def __post_init__(self) -> None:
        # the one rule for stored numbers (altbench.results.numbers), also for files written before it
        value, ci = value_and_interval(self.value, tuple(self.ci95), self.decimals)  # type: ignore[arg-type]
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "ci95", ci)

    @property
    def decimals(self) -> int | None:
        """Decimals of the reported scale the convention keeps (paper: 3), None when it does not round."""
        return reported_decimals(self.signature)

    @property
    def base_signature(self) -> str:
        """The signature without the interval settings: what must match for two numbers to be compared."""
        cut = self.signature.find("|ci:")
        return self.signature if cut < 0 else self.signature[:cut]

    @property
    def is_diagnostic(self) -> bool:
        return self.key.startswith("diag/")

    def to_dict(self) -> dict[str, Any]:
        return {"value": finite_or_none(self.value), "ci95": [finite_or_none(x) for x in self.ci95], "n": self.n,
                "higher_is_better": self.higher_is_better, "scale": self.scale, "aggregator": self.aggregator,
                "signature": self.signature}

    @classmethod
    def from_dict(cls, key: str, d: dict[str, Any]) -> MetricResult:
        ci = d.get("ci95") or [None, None]
        return cls(key, d.get("value"), (ci[0], ci[1]), int(d.get("n") or 0), bool(d.get("higher_is_better", True)),
                   float(d.get("scale") or 1.0), str(d.get("aggregator") or "mean"), str(d.get("signature") or ""))


@dataclass(frozen=True)
class ItemScores:
    """One scored item: per-item scores (raw scale; None = the metric could not score it) and, for
    corpus-level metrics, the sufficient statistics the corpus value is aggregated from."""

    id: str
    scores: dict[str, float | None]
    stats: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "scores": self.scores}
        if self.stats:
            row["stats"] = self.stats
        return row


def read_item_scores(path: Path) -> dict[str, ItemScores]:
    """Per-item rows of a scoring by id; a duplicate id or a row without ``id``/``scores`` is an error."""
    if not path.is_file():
        raise DataError(f"{path}: per-item scores not found (keep the scores file with results.json)")
    try:
        return _item_scores(_parsed_at_once(path), path)
    except (DataError, OSError, ValueError):  # read again line by line: the error then names its line
        return _item_scores(iter_objects(path, "per-item scores"), path)


def _parsed_at_once(path: Path) -> list[tuple[int, dict]]:
    """Every row of a JSON Lines file parsed in one call (a leaderboard reads hundreds of thousands of rows;
    one parse per line costs twice as much). Rows are numbered by position: use only when nothing is wrong."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = json.loads("[" + ",".join(line for line in text.split("\n") if line.strip()) + "]")
    if not all(isinstance(row, dict) for row in rows):
        raise ValueError("not one object a line")
    return list(enumerate(rows, 1))


def _item_scores(numbered, path: Path) -> dict[str, ItemScores]:
    rows: dict[str, ItemScores] = {}
    for lineno, row in numbered:
        if "id" not in row or not isinstance(row.get("scores"), dict):
            raise DataError(f"{path}:{lineno}: expected a per-item score row with 'id' and 'scores'")
        item_id = str(row["id"])
        if item_id in rows:
            raise DataError(f"{path}:{lineno}: item id {item_id!r} appears twice")
        scores = {str(k): (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
                  for k, v in row["scores"].items()}
        stats = row.get("stats") if isinstance(row.get("stats"), dict) else {}
        rows[item_id] = ItemScores(item_id, scores, stats)
    return rows


@dataclass(frozen=True)
class ItemSubset:
    """Which items of the split a scoring evaluated."""

    n_evaluated: int
    n_split: int
    ids_sha256: str  # over the evaluated ids, in split order
    limit: int | None = None

    @property
    def subset(self) -> bool:
        return self.n_evaluated < self.n_split


@dataclass
class Scoring:
    """One scoring of a run's predictions.

    key:          stable name of the settings (see :func:`altbench.results.store.scoring_key`).
    convention:   what was asked: ``paper``, ``coco`` or ``both``; ``conventions`` lists what was scored.
    model_metrics: model-based metrics asked for (``clipscore``, ...), with ``metric_models`` saying which
                  model scored and ``metric_failures`` the items each could not score, by reason.
    items:        the evaluated subset of the split.
    counts:       ``items`` (evaluated), ``scored``, ``failed``, ``missing``, ``empty``, ``empty_reference``.
    failures:     ``[{"id", "error"}]`` of failed generations (never scored as empty text).
    empty_references: scored items whose reference is empty or blank (scored as the reference scorer does).
    scores_path:  the per-item file; :meth:`rows` reads it once.
    """

    key: str
    convention: str
    conventions: list[str]
    metrics: dict[str, MetricResult]
    counts: dict[str, int]
    items: ItemSubset
    failures: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    model_metrics: list[str] = field(default_factory=list)
    metric_failures: dict[str, dict[str, int]] = field(default_factory=dict)
    metric_models: dict[str, dict[str, Any]] = field(default_factory=dict)
    empty_references: list[str] = field(default_factory=list)
    bootstrap: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    versions: dict[str, str | None] = field(default_factory=dict)
    git_commit: str | None = None
    timestamps: dict[str, str] = field(default_factory=dict)
    scores_file: str = ""  # relative to the run folder
    scores_path: Path | None = field(default=None, repr=False, compare=False)
    _rows: dict[str, ItemScores] | None = field(default=None, repr=False, compare=False)

    def rows(self) -> dict[str, ItemScores]:
        """Per-item scores by id, in split order (read from :attr:`scores_path` on first use)."""
        if self._rows is None:
            if self.scores_path is None:
                self._rows = {}
            else:
                self._rows = read_item_scores(self.scores_path)
        return self._rows

    def set_rows(self, rows: list[ItemScores]) -> None:
        self._rows = {r.id: r for r in rows}

    @property
    def fullness(self) -> tuple[int, int, int, int]:
        """Orders scorings: more items evaluated, then more scored, more conventions, more metrics."""
        return (self.items.n_evaluated, int(self.counts.get("scored", 0)), len(self.conventions), len(self.metrics))

    def empty_reference_note(self, shown: int = 5) -> str | None:
        """One sentence naming the scored items whose reference is empty (None when there are none)."""
        ids = self.empty_references
        if not ids:
            return None
        named = ", ".join(ids[:shown]) + (f", ... ({len(ids) - shown} more in results.json)" if len(ids) > shown else "")
        what = "1 item has" if len(ids) == 1 else f"{len(ids)} items have"
        return (f"{what} an empty reference (id{'s' if len(ids) > 1 else ''} {named}): scored as the reference "
                "scorer does, 0 on every overlap metric")

    @property
    def n_unscored(self) -> int:
        """Evaluated items without scores: failed generations and missing predictions."""
        return max(0, int(self.counts.get("items", 0)) - int(self.counts.get("scored", 0)))

    def shortfall(self, max_failure_rate: float = 1.0, limit_name: str = "max_failure_rate") -> str | None:
        """Why this scoring does not count as an evaluation, or None: nothing was scored, or more than
        ``max_failure_rate`` of the evaluated items went unscored. ``limit_name`` names the limit in the
        message (the CLI's ``--max-failure-rate``)."""
        items, scored, unscored = int(self.counts.get("items", 0)), int(self.counts.get("scored", 0)), self.n_unscored
        if scored == 0:
            if not items:
                return "nothing scored: no item was evaluated"
            failed, missing = int(self.counts.get("failed", 0)), int(self.counts.get("missing", 0))
            if failed == items:
                return f"nothing scored: all {items} items failed"
            parts = [f"{n} {what}" for n, what in ((failed, "failed"), (missing, "missing")) if n]
            return f"nothing scored: {', '.join(parts)} of {items} items"
        if unscored / items > max_failure_rate:
            return (f"{unscored} of {items} items not scored ({100 * unscored / items:.1f}%), over {limit_name} "
                    f"{max_failure_rate:g}")
        return None

    def summary_dict(self) -> dict[str, Any]:
        """What results.json stores for this scoring (the per-item rows live in :attr:`scores_file`)."""
        out: dict[str, Any] = {
            "convention": self.convention, "conventions": self.conventions, "model_metrics": self.model_metrics,
            "items": {"n_evaluated": self.items.n_evaluated, "n_split": self.items.n_split,
                      "subset": self.items.subset, "limit": self.items.limit,
                      "ids_sha256": self.items.ids_sha256},
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "counts": self.counts, "failures": self.failures, "missing": self.missing,
            "empty_references": self.empty_references,
            "bootstrap": self.bootstrap, "seed": self.seed, "versions": self.versions,
            "git_commit": self.git_commit, "timestamps": self.timestamps, "scores_file": self.scores_file,
        }
        if self.metric_models:
            out["metric_failures"] = self.metric_failures
            out["metric_models"] = self.metric_models
        return out

    def to_pandas(self, split: Any = None, predictions: Any = None) -> Any:
        """Per-item rows of this scoring as a pandas DataFrame (:func:`altbench.results.frames.scoring_frame`)."""
        from altbench.results.frames import scoring_frame

        return scoring_frame(self, split=split, predictions=predictions)


@dataclass
class RunResults:
    """A run's results: who generated on what, and every scoring of those predictions.

    path:    the run folder (or the folder ``altbench score --out`` wrote).
    run_id:  the run's fingerprint hash (see docs/results-schema.md).
    model:   ``name``, ``target``, ``fingerprint``; ``display_name`` (``run --name``: provenance, not part of
             the fingerprint); ``predictions`` for a scored foreign file.
    split:   ``name``, ``source``, ``n_items``, ``sha256`` (of the split's content), ``location`` (where its
             data was found: :class:`altbench.data.location.DataLocation`).
    scorings: by key, in the order they were first written.
    schema:  the schema the file was read as (version 1 files are read as one scoring).
    """

    path: Path
    run_id: str
    model: dict[str, Any]
    split: dict[str, Any]
    scorings: dict[str, Scoring]
    schema: str = SCHEMA

    @property
    def model_name(self) -> str:
        return str(self.model.get("name") or "unnamed model")

    @property
    def display_name(self) -> str:
        """What people read: the run's ``--name``, else a short form of the model name (never a long path)."""
        given = self.model.get("display_name")
        return str(given) if given else short_model_name(self.model_name)

    @property
    def split_name(self) -> str:
        return str(self.split.get("name") or "unnamed split")

    @property
    def split_sha256(self) -> str | None:
        return self.split.get("sha256")

    def ordered(self) -> list[Scoring]:
        """Scorings fullest first; among equals, the one written first (a rescore never takes over)."""
        indexed = list(enumerate(self.scorings.values()))
        return [s for _, s in sorted(indexed, key=lambda t: (tuple(-x for x in t[1].fullness), t[0]))]

    @property
    def headline(self) -> Scoring:
        """The fullest scoring: what a one-line summary of the run shows."""
        if not self.scorings:
            raise ValueError(f"{self.path}: run has no scoring")
        return self.ordered()[0]

    def scoring_for(self, metric: str, convention: str | None = None) -> Scoring | None:
        """The fullest scoring that reports ``metric`` (optionally: one that scored ``convention``)."""
        for s in self.ordered():
            if metric in s.metrics and (convention is None or convention in s.conventions):
                return s
        return None

    @property
    def probes(self) -> Any:
        """The run's counterfactual probes (``probes.json``, a :class:`~altbench.probes.results.ProbeReport`),
        or None when it has not been probed (docs/probes.md)."""
        from altbench.probes.results import probes_of

        return probes_of(self.path)

    def metric_keys(self) -> list[str]:
        """Every metric any scoring reports, headline's first."""
        keys: list[str] = []
        for s in self.ordered():
            keys += [k for k in s.metrics if k not in keys]
        return keys

    def metric(self, key: str) -> MetricResult | None:
        s = self.scoring_for(key)
        return s.metrics[key] if s else None

    def metric_view(self) -> dict[str, MetricResult]:
        """Each metric from the fullest scoring that has it."""
        return {k: m for k in self.metric_keys() if (m := self.metric(k)) is not None}

    def flat(self, scoring: Scoring | None = None) -> dict[str, Any]:
        """One scoring (default: the headline) with the run header, as one JSON-able mapping in the shape
        of a version 1 results file: what ``--json`` output and a quick look at one scoring want."""
        s = scoring or self.headline
        split = {**self.split, "n_evaluated": s.items.n_evaluated, "subset": s.items.subset, "limit": s.items.limit}
        out = {"schema": self.schema, "run_id": self.run_id, "model": self.model, "split": split,
               "scoring": s.key, **{k: v for k, v in s.summary_dict().items() if k not in ("items", "scores_file")}}
        return out

    def __iter__(self) -> Iterator[Scoring]:
        return iter(self.ordered())

    def to_pandas(self, split: Any = None, data_root: Any = None, images: Any = None,
                  scorings: Any = None) -> Any:
        """One row per (scoring, item) as a pandas DataFrame (:func:`altbench.results.frames.run_frame`)."""
        from altbench.results.frames import run_frame

        return run_frame(self, split=split, data_root=data_root, images=images, scorings=scorings)
