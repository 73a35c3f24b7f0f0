"""Runs for comparison: run folders -> per-metric item statistics, and whether two runs can be compared.

A run may hold several scorings (docs/results-schema.md); each metric is read from the fullest scoring that
reports it (:meth:`~altbench.results.RunResults.scoring_for`), so a ``--limit`` rescore or a scoring in
another convention never narrows a comparison of full runs.

:func:`check_comparable` refuses, with one line, runs that differ in split content (``split.sha256``), a
compared metric's signature (the interval settings after ``|ci:`` aside) or the items that metric scored;
items are paired by id, in split order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from altbench.errors import AltbenchError, DataError
from altbench.metrics.base import AGGREGATORS
from altbench.results import MetricResult, RunResults, Scoring
from altbench.results import load_run as read_run
from altbench.stats.bootstrap import StatBlock


class NotComparableError(AltbenchError):
    """Runs that cannot be compared item by item (other split, metric settings or items)."""

    exit_code = 4

    def __init__(self, reason: str) -> None:
        super().__init__(f"not comparable: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class LoadedRun:
    """One run as compare, regress and the leaderboard's ranks see it.

    path:       what the user gave (run folder or results file).
    run:        the typed results, every scoring.
    label:      a short display name (the run's display name, made unique by :func:`label_runs`).
    """

    path: Path
    run: RunResults
    label: str = ""

    @property
    def results_path(self) -> Path:
        return self.run.path / "results.json"

    @property
    def split_sha256(self) -> str | None:
        return self.run.split_sha256

    def scoring(self, key: str) -> Scoring | None:
        return self.run.scoring_for(key)

    @cached_property
    def metrics(self) -> dict[str, MetricResult]:
        """Each metric from the fullest scoring that reports it (worked out once per run: every pair and
        metric of a comparison asks)."""
        out = {}
        for key in self.run.metric_keys():
            s = self.scoring(key)
            if s is not None:
                out[key] = s.metrics[key]
        return out

    def ids(self, key: str) -> list[str]:
        """The items metric ``key`` was scored on, in split order."""
        return list(self.id_order(key))

    def id_order(self, key: str) -> tuple[str, ...]:
        """:meth:`ids` as a tuple, made once per metric (a leaderboard asks for every pair)."""
        if key not in self._orders:
            s = self.scoring(key)
            ids = tuple(s.rows()) if s else ()
            digest = hashlib.blake2b("\x1f".join(ids).encode("utf-8"), digest_size=16).digest()
            self._orders[key] = (ids, digest + len(ids).to_bytes(8, "little"))
        return self._orders[key][0]

    def order_digest(self, key: str) -> bytes:
        """A short key of :meth:`id_order` (a hash of the ids and their count): equal for the same items in the
        same order; cheap to compare and to hash, where the order itself costs a pass over the items."""
        self.id_order(key)
        return self._orders[key][1]

    @cached_property
    def _orders(self) -> dict[str, tuple[tuple[str, ...], bytes]]:
        return {}

    def block(self, key: str, order: Sequence[str]) -> StatBlock:
        """Metric ``key``'s per-item statistics in the given item order, checked against results.json."""
        s = self.scoring(key)
        if s is None:
            raise DataError(f"{self.results_path}: no scoring reports {key}")
        meta, rows, where = s.metrics[key], s.rows(), s.scores_path
        missing = [i for i in order if i not in rows]
        if missing:
            raise DataError(f"{where}: item {missing[0]!r} has no per-item scores for {key}")
        if meta.aggregator == "mean":
            scores = np.array([_score(rows[i].scores, key, i, where) for i in order], dtype=float)
            if np.isnan(scores).all() and len(scores):
                block = StatBlock(np.zeros((len(order), 1)), scale=meta.scale, fn=_undefined)
            elif np.isnan(scores).any():  # undefined per-item scores: mean over the defined ones
                stats = np.column_stack([np.nan_to_num(scores), np.isfinite(scores)]).astype(float)
                block = StatBlock(stats, scale=meta.scale, fn=_nanmean)
            else:
                block = StatBlock(scores.reshape(-1, 1), scale=meta.scale)
        else:
            if meta.aggregator not in AGGREGATORS:
                raise DataError(f"{key}: unknown aggregator {meta.aggregator!r}; is this altbench older than the "
                                "one that wrote the run?")
            stats = [_stats(rows[i].stats, key, i, where) for i in order]
            widths = {len(x) for x in stats}
            if len(widths) > 1:
                raise DataError(f"{where}: {key} stats have differing lengths {sorted(widths)}")
            block = StatBlock(np.array(stats, dtype=float).reshape(len(order), -1), meta.aggregator, meta.scale)
        if list(order) == list(rows):
            _check_value(self, s, key, block)
        return block


def _score(scores: dict, key: str, item_id: str, where: Path | None) -> float:
    if key not in scores:
        raise DataError(f"{where}: item {item_id!r} has no score for {key}")
    value = scores[key]
    return math.nan if value is None else float(value)


def _stats(stats: dict, key: str, item_id: str, where: Path | None) -> list[float]:
    try:
        return [float(x) for x in stats[key]]
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: item {item_id!r} has no sufficient statistics for {key}") from None


def _nanmean(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    return summed[..., 0] / summed[..., 1]


def _undefined(summed: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.full(np.shape(summed)[:-1], np.nan)


def _check_value(run: LoadedRun, s: Scoring, key: str, block: StatBlock) -> None:
    """The per-item file must rebuild the reported value (up to the convention's rounding)."""
    reported = s.metrics[key].value
    if reported is None:
        return
    rebuilt = block.value()
    tol = 1e-3 * max(abs(float(reported)), float(s.metrics[key].scale), 1.0)
    if not math.isfinite(rebuilt) or abs(rebuilt - float(reported)) > tol:
        raise DataError(f"{s.scores_path}: {key} rebuilt from per-item statistics is {rebuilt:.6g} but "
                        f"{run.results_path.name} reports {reported:.6g}; the two files are not from the same "
                        "scoring (re-run `altbench score`)")


# ------------------------------------------------------------------------------------------- loading
def load_run(path: Path | str) -> LoadedRun:
    run = read_run(Path(path))
    return LoadedRun(Path(path), run, run.display_name)


def label_runs(runs: Sequence[LoadedRun]) -> list[LoadedRun]:
    """Unique labels: the display name (``run --name``, else a short model name), then ``name@run_id``,
    then the path."""
    def unique(labels: list[str]) -> bool:
        return len(set(labels)) == len(labels)

    candidates = [
        [r.run.display_name for r in runs],
        [f"{r.run.display_name}@{r.run.run_id[:8]}" for r in runs],
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


def incomparability(a: LoadedRun, b: LoadedRun, key: str) -> str | None:
    """Why metric ``key`` of runs ``a`` and ``b`` cannot be compared item by item, or None when it can."""
    pair = f"{a.label} vs {b.label}"
    if a.split_sha256 != b.split_sha256:
        return (f"{pair}: different split content ({a.run.split_name} sha256 {_short(a.split_sha256)} vs "
                f"{b.run.split_name} sha256 {_short(b.split_sha256)})")
    ma, mb = a.metrics.get(key), b.metrics.get(key)
    if ma is None or mb is None:
        missing = [r.label for r, m in ((a, ma), (b, mb)) if m is None]
        return f"{pair}: metric {key} is missing from {', '.join(missing)}"
    if ma.base_signature != mb.base_signature:
        return f"{pair}: {key} was computed with other settings ({_signature_diff(ma.base_signature, mb.base_signature)})"
    if a.order_digest(key) == b.order_digest(key):  # the usual case, and cheap: the same items in the same order
        return None
    ids_a, ids_b = set(a.ids(key)), set(b.ids(key))
    if ids_a != ids_b:
        only_a, only_b = sorted(ids_a - ids_b), sorted(ids_b - ids_a)
        example = f"e.g. {only_a[0]!r} only in {a.label}" if only_a else f"e.g. {only_b[0]!r} only in {b.label}"
        return (f"{pair}: different scored items for {key} ({len(ids_a)} vs {len(ids_b)}; {len(only_a)} only in "
                f"the first, {len(only_b)} only in the second; {example}; failed or --limit items?)")
    return None


def check_comparable(runs: Sequence[LoadedRun], keys: Sequence[str]) -> None:
    """Raise :class:`NotComparableError` naming the first difference between ``runs[0]`` and another run."""
    first = runs[0]
    for other in runs[1:]:
        if first.split_sha256 != other.split_sha256:
            raise NotComparableError(incomparability(first, other, keys[0] if keys else "") or "")
        for key in keys:
            reason = incomparability(first, other, key)
            if reason:
                raise NotComparableError(reason)


def _signature_diff(a: str, b: str) -> str:
    pa, pb = a.split("|"), b.split("|")
    for x, y in zip(pa, pb):
        if x != y:
            return f"{x} vs {y}"
    return f"{a} vs {b}"


def all_metric_keys(runs: Sequence[LoadedRun]) -> list[str]:
    everything: list[str] = []
    for run in runs:
        everything += [k for k in run.metrics if k not in everything]
    return everything


def select_metrics(runs: Sequence[LoadedRun], requested: Sequence[str] = (),
                   include_diagnostics: bool = False, convention: str | None = None) -> tuple[list[str], list[str]]:
    """(metric keys to compare, keys skipped because not every run has them).

    ``requested`` names are full keys (``paper/rougeL``) or short names (``rougeL``) resolved against the
    runs' metrics; without any, every metric that all runs report, diagnostics (``diag/*``) only on request.
    ``convention``: only that convention's metrics (and the diagnostics), short names resolved among them.
    """
    everything = all_metric_keys(runs)
    if convention is not None:
        everything = [k for k in everything if k.split("/", 1)[0] in (convention, "diag")]
    common = [k for k in everything if all(k in r.metrics for r in runs)]
    if requested:
        keys = []
        for name in requested:
            if convention is not None and "/" in name and name not in everything:
                raise AltbenchError(f"{name} is not a metric of convention {convention}")
            key = resolve_metric(name, everything, common)
            if key not in keys:
                keys.append(key)
        return keys, []
    wanted = [k for k in everything if include_diagnostics or not k.startswith("diag/")]
    keys = [k for k in wanted if k in common]
    return keys, [k for k in wanted if k not in keys]


def resolve_metric(name: str, keys: Sequence[str], common: Sequence[str] = ()) -> str:
    """A full key, or a short name (``rougeL``) that names one key; one that every run reports wins, so a
    run that also holds a scoring in the other convention does not make ``rougeL`` ambiguous."""
    if name in keys:
        return name
    shared = [k for k in common if k.split("/", 1)[-1] == name]
    if len(shared) == 1:
        return shared[0]
    matches = [k for k in keys if k.split("/", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AltbenchError(f"metric {name!r} is ambiguous ({', '.join(matches)}); give the full name")
    known = ", ".join(keys) or "none"
    raise AltbenchError(f"unknown metric {name!r}; the runs report: {known}")
