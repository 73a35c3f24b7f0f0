"""Runs for comparison: a results file or run folder -> results + per-item statistics, and whether runs match.

``load_run`` reads ``results.json`` and the ``scores.jsonl`` beside it (for a file ``X.json``:
``X.scores.jsonl`` when present, else ``scores.jsonl`` in the same folder). ``check_comparable`` refuses,
with one line, runs that differ in split content (``split.sha256``), convention, a compared metric's
signature (the interval settings after ``|ci:`` aside) or the set of scored item ids; items are then
paired by id, in the first run's order.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from altbench.errors import AltbenchError, DataError
from altbench.metrics.base import AGGREGATORS
from altbench.stats.bootstrap import StatBlock

SCHEMA = "altbench.results/1"
# modules that register corpus-level aggregators when imported (only imported when one is unknown)
AGGREGATOR_MODULES = ("altbench.metrics.coco", "altbench.metrics.paper")


class NotComparableError(AltbenchError):
    """Runs that cannot be compared item by item (other split, convention, metric settings or items)."""

    exit_code = 4

    def __init__(self, reason: str) -> None:
        super().__init__(f"not comparable: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class LoadedRun:
    """One run as compare/regress need it.

    path:         what the user gave (run folder or results file).
    results_path: the ``altbench.results/1`` file.
    scores_path:  its per-item ``scores.jsonl``.
    results:      the parsed results file.
    rows:         per-item rows by id (``{"id", "scores", "stats"}``), in file order.
    label:        a short display name (model name, made unique by :func:`label_runs`).
    """

    path: Path
    results_path: Path
    scores_path: Path
    results: dict[str, Any] = field(repr=False)
    rows: dict[str, dict[str, Any]] = field(repr=False)
    label: str = ""

    @property
    def ids(self) -> list[str]:
        return list(self.rows)

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return self.results.get("metrics", {})

    @property
    def convention(self) -> str:
        return str(self.results.get("convention"))

    @property
    def split_sha256(self) -> str | None:
        return (self.results.get("split") or {}).get("sha256")

    def block(self, key: str, order: Sequence[str]) -> StatBlock:
        """Metric ``key``'s per-item statistics in the given item order, checked against results.json."""
        meta = self.metrics[key]
        aggregator = meta.get("aggregator", "mean")
        scale = float(meta.get("scale", 1.0))
        if aggregator == "mean":
            scores = np.array([_score(self.rows[i], key, self.scores_path) for i in order], dtype=float)
            if np.isnan(scores).all() and len(scores):
                block = StatBlock(np.zeros((len(order), 1)), scale=scale, fn=_undefined)
            elif np.isnan(scores).any():  # undefined per-item scores: mean over the defined ones
                stats = np.column_stack([np.nan_to_num(scores), np.isfinite(scores)]).astype(float)
                block = StatBlock(stats, scale=scale, fn=_nanmean)
            else:
                block = StatBlock(scores.reshape(-1, 1), scale=scale)
        else:
            _ensure_aggregator(aggregator, key)
            stats = [_stats(self.rows[i], key, self.scores_path) for i in order]
            widths = {len(s) for s in stats}
            if len(widths) > 1:
                raise DataError(f"{self.scores_path}: {key} stats have differing lengths {sorted(widths)}")
            block = StatBlock(np.array(stats, dtype=float).reshape(len(order), -1), aggregator, scale)
        _check_value(self, key, block)
        return block


def _score(row: dict, key: str, where: Path) -> float:
    try:
        value = row["scores"][key]
    except (KeyError, TypeError):
        raise DataError(f"{where}: item {row.get('id')!r} has no score for {key}") from None
    return math.nan if value is None else float(value)


def _stats(row: dict, key: str, where: Path) -> list[float]:
    try:
        return [float(x) for x in row["stats"][key]]
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: item {row.get('id')!r} has no sufficient statistics for {key}") from None


def _nanmean(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    return summed[..., 0] / summed[..., 1]


def _undefined(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.full(np.shape(summed)[:-1], np.nan)


def _ensure_aggregator(name: str, key: str) -> None:
    for module in AGGREGATOR_MODULES:
        if name in AGGREGATORS:
            return
        try:
            importlib.import_module(module)
        except ImportError:
            continue
    if name not in AGGREGATORS:
        raise DataError(f"{key}: unknown aggregator {name!r} (not registered by {', '.join(AGGREGATOR_MODULES)}); "
                        "is this altbench older than the one that wrote the run?")


def _check_value(run: LoadedRun, key: str, block: StatBlock) -> None:
    """The per-item file must rebuild the reported value (up to the convention's rounding)."""
    reported = run.metrics[key].get("value")
    if reported is None:
        return
    rebuilt = block.value()
    tol = 1e-3 * max(abs(float(reported)), float(run.metrics[key].get("scale", 1.0)), 1.0)
    if not math.isfinite(rebuilt) or abs(rebuilt - float(reported)) > tol:
        raise DataError(f"{run.scores_path}: {key} rebuilt from per-item statistics is {rebuilt:.6g} but "
                        f"{run.results_path.name} reports {reported:.6g}; the two files are not from the same "
                        "scoring (re-run `altbench score`)")


# ------------------------------------------------------------------------------------------- loading
def resolve(path: Path) -> tuple[Path, Path]:
    """(results file, scores file) for a run folder or a results file."""
    path = Path(path)
    if path.is_dir():
        results = path / "results.json"
        if not results.is_file():
            raise DataError(f"{path}: no results.json in this folder (is it an altbench run folder?)")
        return results, path / "scores.jsonl"
    if path.is_file():
        named = path.with_name(f"{path.stem}.scores.jsonl")
        return path, named if named.is_file() else path.with_name("scores.jsonl")
    raise DataError(f"{path}: no such run folder or results file")


def load_run(path: Path | str) -> LoadedRun:
    results_path, scores_path = resolve(Path(path))
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{results_path}: cannot read results ({exc})") from None
    if not isinstance(results, dict) or results.get("schema") != SCHEMA:
        got = results.get("schema") if isinstance(results, dict) else type(results).__name__
        raise DataError(f"{results_path}: expected an {SCHEMA} results file, got schema {got!r}")
    if not scores_path.is_file():
        raise DataError(f"{results_path}: per-item scores {scores_path.name} not found beside it; "
                        "compare and regress need them (keep scores.jsonl with results.json)")
    rows: dict[str, dict[str, Any]] = {}
    try:
        with scores_path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                item_id = str(row["id"])
                if item_id in rows:
                    raise DataError(f"{scores_path}:{lineno}: item id {item_id!r} appears twice")
                rows[item_id] = row
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{scores_path}: cannot read per-item scores ({exc})") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise DataError(f"{scores_path}:{lineno}: not a per-item score row with an id") from None
    label = str((results.get("model") or {}).get("name") or results_path.parent.name)
    return LoadedRun(Path(path), results_path, scores_path, results, rows, label)


def label_runs(runs: Sequence[LoadedRun]) -> list[LoadedRun]:
    """Unique labels: the model name, then ``name@run_id``, then the path."""
    def unique(labels: list[str]) -> bool:
        return len(set(labels)) == len(labels)

    candidates = [
        [r.label for r in runs],
        [f"{r.label}@{str(r.results.get('run_id', ''))[:8]}" for r in runs],
        [str(r.path) for r in runs],
    ]
    labels = next((c for c in candidates if unique(c)), [f"{r.path}#{k + 1}" for k, r in enumerate(runs)])
    return [replace(r, label=lab) for r, lab in zip(runs, labels)]


# ------------------------------------------------------------------------------------- comparability
def base_signature(signature: str | None) -> str:
    """The metric's settings without the interval settings (``|ci:...`` onwards)."""
    sig = signature or ""
    cut = sig.find("|ci:")
    return sig if cut < 0 else sig[:cut]


def _short(sha: str | None) -> str:
    return (sha or "?")[:12]


def check_comparable(runs: Sequence[LoadedRun], keys: Sequence[str]) -> None:
    """Raise :class:`NotComparableError` naming the first difference between ``runs[0]`` and another run."""
    first = runs[0]
    for other in runs[1:]:
        pair = f"{first.label} vs {other.label}"
        if first.split_sha256 != other.split_sha256:
            name_a = (first.results.get("split") or {}).get("name")
            name_b = (other.results.get("split") or {}).get("name")
            raise NotComparableError(f"{pair}: different split content ({name_a} sha256 {_short(first.split_sha256)}"
                                     f" vs {name_b} sha256 {_short(other.split_sha256)})")
        if first.convention != other.convention:
            raise NotComparableError(f"{pair}: different convention ({first.convention} vs {other.convention})")
        ids_a, ids_b = set(first.rows), set(other.rows)
        if ids_a != ids_b:
            only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
            example = f"e.g. {only_a[0]!r} only in {first.label}" if only_a else f"e.g. {only_b[0]!r} only in {other.label}"
            raise NotComparableError(f"{pair}: different scored items ({len(ids_a)} vs {len(ids_b)}; "
                                     f"{len(only_a)} only in the first, {len(only_b)} only in the second; {example}; "
                                     "failed or --limit items?)")
        for key in keys:
            missing = [r.label for r in (first, other) if key not in r.metrics]
            if missing:
                raise NotComparableError(f"{pair}: metric {key} is missing from {', '.join(missing)}")
            sig_a = base_signature(first.metrics[key].get("signature"))
            sig_b = base_signature(other.metrics[key].get("signature"))
            if sig_a != sig_b:
                raise NotComparableError(f"{pair}: {key} was computed with other settings "
                                         f"({_signature_diff(sig_a, sig_b)})")


def _signature_diff(a: str, b: str) -> str:
    pa, pb = a.split("|"), b.split("|")
    for x, y in zip(pa, pb):
        if x != y:
            return f"{x} vs {y}"
    return f"{a} vs {b}"


def select_metrics(runs: Sequence[LoadedRun], requested: Sequence[str] = (),
                   include_diagnostics: bool = False) -> tuple[list[str], list[str]]:
    """(metric keys to compare, keys skipped because not every run has them).

    ``requested`` names are full keys (``paper/rougeL``) or short names (``rougeL``) resolved against the
    runs' metrics; without any, every metric that all runs report, diagnostics (``diag/*``) only on request.
    """
    everything: list[str] = []
    for run in runs:
        everything += [k for k in run.metrics if k not in everything]
    if requested:
        keys = []
        for name in requested:
            key = resolve_metric(name, everything)
            if key not in keys:
                keys.append(key)
        return keys, []
    wanted = [k for k in everything if include_diagnostics or not k.startswith("diag/")]
    keys = [k for k in wanted if all(k in r.metrics for r in runs)]
    return keys, [k for k in wanted if k not in keys]


def resolve_metric(name: str, keys: Sequence[str]) -> str:
    if name in keys:
        return name
    matches = [k for k in keys if k.split("/", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AltbenchError(f"metric {name!r} is ambiguous ({', '.join(matches)}); give the full name")
    known = ", ".join(keys) or "none"
    raise AltbenchError(f"unknown metric {name!r}; the runs report: {known}")


def aligned_blocks(runs: Sequence[LoadedRun], keys: Sequence[str]) -> list[list[StatBlock]]:
    """``[run][metric]`` statistics with items paired by id, in the first run's order."""
    order = runs[0].ids
    return [[run.block(key, order) for key in keys] for run in runs]
