"""What every model-based metric family shares: the request and result types and small shared functions.

A *family* (:mod:`~altbench.metrics.model.clipscore`, :mod:`~altbench.metrics.model.bertscore`,
:mod:`~altbench.metrics.model.judge`) computes every metric of the family in one pass and exposes:

- ``OPTIONS``: option name -> default (what ``--metric-arg FAMILY.KEY=VALUE`` may set);
- ``preflight(options)``: cheap checks before any generation or loading (a file that is not there, an API key
  that is not set), raising :class:`~altbench.errors.MissingResourceError` with the option to set;
- ``compute(request) -> MetricResult``.

Items a model metric cannot score (an unreadable image, a judge's unparsable answer, an API failure) get a NaN
per-item score: excluded from the mean (aggregator ``mean_defined``), counted in ``MetricResult.failures``,
never scored as zero. This module sits below the families and the registry and imports neither.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from altbench.data.items import Item
from altbench.data.splits import Split, cache_dir
from altbench.io import write_json_atomic
from altbench.metrics.base import MetricScores


class Family(Protocol):
    """What a family module provides (checked by type, not registered: the registry imports it by name).

    A family rather than one class per metric, because its metrics share one expensive pass (CLIPScore and
    RefCLIPScore the same image and text features; the judge's criteria one answer per item).
    """

    OPTIONS: dict[str, Any]

    def preflight(self, options: dict[str, Any]) -> None: ...

    def compute(self, request: MetricRequest) -> MetricResult: ...


@dataclass(frozen=True)
class MetricRequest:
    """What a family computes on: the scored items of a split (split order) and their predictions.

    wanted:      metric names of this family that were asked for, e.g. ``("clipscore", "refclipscore")``.
    split:       the whole split (document frequencies and the like come from all of its references).
    items:       the scored items; ``predictions[i]`` belongs to ``items[i]``.
    options:     the family's ``OPTIONS`` updated with the user's settings.
    """

    wanted: tuple[str, ...]
    split: Split
    items: tuple[Item, ...]
    predictions: tuple[str, ...]
    options: dict[str, Any]


@dataclass
class MetricResult:
    """A family's output; keys are metric keys without the ``model/`` prefix (``judge.accuracy``).

    scores:   per-item scores (NaN where an item could not be scored) and signatures.
    failures: key -> {reason: count} for items left unscored, e.g. ``{"parse": 2, "api": 1}``.
    models:   key -> identity of the scoring model (name, weights path, sha256...) and, for the judge, usage.
    """

    scores: dict[str, MetricScores] = field(default_factory=dict)
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def merge(self, other: MetricResult, prefix: str = "") -> None:
        self.scores.update({prefix + k: v for k, v in other.scores.items()})
        self.failures.update({prefix + k: v for k, v in other.failures.items()})
        self.models.update({prefix + k: v for k, v in other.models.items()})



def defined_scores(name: str, values: Sequence[float], signature: str, *, scale: float = 1.0,
                   higher_is_better: bool = True) -> MetricScores:
    """A mean-of-items metric whose NaN items are left out of the mean (and of every bootstrap resample)."""
    per_item = tuple(float(v) for v in values)
    arr = np.asarray(per_item, dtype=np.float64).reshape(-1)
    defined = ~np.isnan(arr)
    stats = np.column_stack([np.where(defined, arr, 0.0), defined.astype(np.float64)]) if len(arr) else \
        np.zeros((0, 2))
    value = float(arr[defined].mean()) * scale if defined.any() else math.nan
    return MetricScores(name=name, value=value, per_item=per_item, signature=signature, stats=stats,
                        aggregator="mean_defined", scale=scale, higher_is_better=higher_is_better)


# ------------------------------------------------------------------------------------------------ utilities
def metric_cache(*parts: str) -> Path:
    """A folder under ``$ALTBENCH_CACHE`` (default ``~/.cache/altbench``)."""
    path = cache_dir().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: Path) -> str:
    """sha256 of a (possibly large) file, remembered by (path, size, mtime) so weights are hashed once."""
    path = Path(path).resolve()
    st = path.stat()
    memo_path = cache_dir() / "sha256-memo.json"
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    memo = _read_json(memo_path)
    if key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    memo = _read_json(memo_path)  # re-read: another process may have added entries meanwhile
    memo[key] = digest
    write_json_atomic(memo_path, memo)
    return digest


def sha256_text(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def library_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def torch_device(option: str) -> str:
    if option != "auto":
        return option
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def require_packages(metric: str, modules: Sequence[str]) -> None:
    """A one-line error naming the extra to install when a metric's libraries are absent (no import)."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        from altbench.errors import MissingResourceError

        raise MissingResourceError(f"{metric} needs {', '.join(missing)}: pip install 'altbench[model-metrics]'")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
