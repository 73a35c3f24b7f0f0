"""Model-based metrics by name (CLIPScore, RefCLIPScore, BERTScore, the LLM/VLM judge): names, options, scoring.

A user asks for metrics by name (``--metrics clipscore,bertscore,judge``). Each name belongs to a *family*
(see :mod:`altbench.metrics.model.base` for what a family exposes); ``clipscore`` and ``refclipscore`` share the
image and caption features. Families are imported only when used (by module name, so this registry imports no
family at import time), so scoring without model metrics never imports torch.
"""

from __future__ import annotations

import difflib
import importlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.data.splits import Split
from altbench.errors import AltbenchError
from altbench.extras import require_metric
from altbench.metrics.model.base import Family, MetricRequest, MetricResult
from altbench.metrics.model.options import option_name, option_setting, options_source

PREFIX = "model/"
# metric name -> family; a family computes all of its requested metrics at once
METRICS: dict[str, str] = {
    "clipscore": "clipscore",
    "refclipscore": "clipscore",
    "bertscore": "bertscore",
    "judge": "judge",
}
FAMILIES: dict[str, str] = {
    "clipscore": "altbench.metrics.model.clipscore",
    "bertscore": "altbench.metrics.model.bertscore",
    "judge": "altbench.metrics.model.judge",
}


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
            raise AltbenchError(f"{options_source()} expects METRIC.KEY=VALUE (e.g. clipscore.model=PATH), "
                                f"got {key!r}")
        out.setdefault(family, {})[option] = value
    return out


def family_options(family: str, user: Mapping[str, Any] | None) -> dict[str, Any]:
    """The family's defaults updated with the user's settings; unknown keys are an error with a hint."""
    module = _family_module(family)
    options = dict(module.OPTIONS)
    for key, value in (user or {}).items():
        if key not in options:
            close = difflib.get_close_matches(key, options, n=1)
            hint = (f"; did you mean {option_name(family, close[0])}?" if close
                    else f"; options: {', '.join(sorted(options))}")
            raise AltbenchError(f"unknown option {option_name(family, key)}{hint}")
        options[key] = value
    return options


def resolve(names: Sequence[str], metric_args: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Validate names and options, run each requested family's preflight; returns family -> options."""
    nested = nest_metric_args(metric_args or {})
    if "refclipscore" in nested:
        raise AltbenchError(f"refclipscore shares clipscore's options: use {option_setting('clipscore', 'KEY', 'VALUE')}")
    for family in nested:
        if family not in FAMILIES:
            close = difflib.get_close_matches(family, FAMILIES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(FAMILIES)}"
            raise AltbenchError(f"{options_source()}: unknown metric {family!r}{hint}")
    resolved: dict[str, dict[str, Any]] = {}
    for family in dict.fromkeys(METRICS[n] for n in parse_metric_names(names)):
        require_metric(family)  # torch / open_clip / bert-score: the extra to install, in one line
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


def _family_module(family: str) -> Family:
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
