"""Model-based metrics by name (CLIPScore, RefCLIPScore, BERTScore, the LLM/VLM judge) and their shared helpers.

A user asks for metrics by name (``--metrics clipscore,bertscore,judge``). Each name belongs to a *family*: a
module that computes every metric of the family in one pass (``clipscore`` and ``refclipscore`` share the
image and caption features). Families are imported only when used, so scoring without model metrics never
imports torch. A family module exposes:

- ``OPTIONS``: option name -> default (what ``--metric-arg FAMILY.KEY=VALUE`` may set);
- ``preflight(options)``: cheap checks before any generation or loading (a file that is not there, an API key
  that is not set), raising :class:`~altbench.errors.MissingResourceError` with the option to set;
- ``compute(request) -> MetricResult``.

Items a model metric cannot score (an unreadable image, a judge's unparsable answer, an API failure) get a NaN
per-item score: excluded from the mean (aggregator ``mean_defined``), counted in ``MetricResult.failures``,
never scored as zero.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from altbench.data.items import Item
from altbench.data.splits import Split, cache_dir
from altbench.errors import AltbenchError
from altbench.io import write_json_atomic
from altbench.metrics.base import MetricScores

log = logging.getLogger(__name__)

PREFIX = "model/"
# metric name -> family; a family computes all of its requested metrics at once
METRICS: dict[str, str] = {
    "clipscore": "clipscore",
    "refclipscore": "clipscore",
    "bertscore": "bertscore",
    "judge": "judge",
}
FAMILIES: dict[str, str] = {
    "clipscore": "altbench.metrics.clipscore",
    "bertscore": "altbench.metrics.bertscore",
    "judge": "altbench.metrics.judge",
}


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


# ------------------------------------------------------------------------------------- names and options
def parse_metric_names(specs: Iterable[str]) -> tuple[str, ...]:
    """``["clipscore,bertscore", "judge"]`` -> known names, in order, without repeats."""
    names: list[str] = []
    for spec in specs:
        for raw in str(spec).split(","):
            name = raw.strip().lower()
            if not name:
                continue
            if name not in METRICS:
                close = difflib.get_close_matches(name, METRICS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise AltbenchError(f"unknown model metric {name!r}{hint} (known: {', '.join(METRICS)})")
            if name not in names:
                names.append(name)
    return tuple(names)


def nest_metric_args(args: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"clipscore.model": X}`` or ``{"clipscore": {"model": X}}`` -> ``{"clipscore": {"model": X}}``."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in args.items():
        if isinstance(value, Mapping):
            out.setdefault(str(key), {}).update(value)
            continue
        family, sep, option = str(key).partition(".")
        if not sep or not option:
            raise AltbenchError(f"--metric-arg expects METRIC.KEY=VALUE (e.g. clipscore.model=PATH), got {key!r}")
        out.setdefault(family, {})[option] = value
    return out


def family_options(family: str, user: Mapping[str, Any] | None) -> dict[str, Any]:
    """The family's defaults updated with the user's settings; unknown keys are an error with a hint."""
    module = _family_module(family)
    options = dict(module.OPTIONS)
    for key, value in (user or {}).items():
        if key not in options:
            close = difflib.get_close_matches(key, options, n=1)
            hint = f"; did you mean {family}.{close[0]}?" if close else f"; options: {', '.join(sorted(options))}"
            raise AltbenchError(f"unknown option {family}.{key}{hint}")
        options[key] = value
    return options


def resolve(names: Sequence[str], metric_args: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Validate names and options, run each requested family's preflight; returns family -> options."""
    nested = nest_metric_args(metric_args or {})
    if "refclipscore" in nested:
        raise AltbenchError("refclipscore shares clipscore's options: use clipscore.KEY=VALUE")
    for family in nested:
        if family not in FAMILIES:
            close = difflib.get_close_matches(family, FAMILIES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(FAMILIES)}"
            raise AltbenchError(f"--metric-arg for unknown metric {family!r}{hint}")
    resolved: dict[str, dict[str, Any]] = {}
    for family in dict.fromkeys(METRICS[n] for n in parse_metric_names(names)):
        options = family_options(family, nested.get(family))
        _family_module(family).preflight(options)
        resolved[family] = options
    return resolved


def load_metrics_config(path: Path) -> dict[str, dict[str, Any]]:
    """A YAML (or JSON) file ``{metric: {key: value}}``, e.g. ``clipscore: {model: /w/ViT-B-32.pt}``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise AltbenchError(f"--metrics-config {path}: cannot read ({exc.strerror})") from None
    if Path(path).suffix == ".json":
        data = json.loads(text)
    else:
        try:
            import yaml
        except ImportError:
            raise AltbenchError("--metrics-config: reading YAML needs pyyaml (pip install 'altbench[model-metrics]'"
                                "), or give a .json file") from None
        data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise AltbenchError(f"--metrics-config {path}: expected a mapping of metric -> {{option: value}}")
    return nest_metric_args(data)


def _family_module(family: str):
    return importlib.import_module(FAMILIES[family])


# ------------------------------------------------------------------------------------------------ scoring
def score_model_metrics(
    names: Sequence[str],
    split: Split,
    items: Sequence[Item],
    predictions: Sequence[str],
    metric_args: Mapping[str, Any] | None = None,
) -> MetricResult:
    """Every requested model metric on ``items``; keys carry the ``model/`` prefix."""
    names = parse_metric_names(names)
    out = MetricResult()
    for family, options in resolve(names, metric_args).items():
        wanted = tuple(n for n in names if METRICS[n] == family)
        request = MetricRequest(wanted, split, tuple(items), tuple(predictions), dict(options))
        out.merge(_family_module(family).compute(request), prefix=PREFIX)
    return out


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


# ------------------------------------------------------------------------------------------------ helpers
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
