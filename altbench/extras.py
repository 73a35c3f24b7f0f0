"""Optional extras: which ``pip install 'altbench[EXTRA]'`` a command needs, checked before it runs.

The core install (``pip install -e .``) scores saved predictions and nothing more. Commands and adapters
that need an extra call :func:`require` first; a missing module becomes one line naming the extra to
install (:class:`MissingExtraError`, exit status 2) instead of a ``ModuleNotFoundError`` traceback from
deep inside a library. Modules are looked up with :func:`importlib.util.find_spec`, which imports nothing,
so the check costs no torch import.
"""

from __future__ import annotations

import importlib.util

from altbench.errors import AltbenchError

# extra -> the modules (import names) its commands cannot run without, in the order they are reported.
# Not every package of an extra is listed: only those without which nothing of that extra works (e.g.
# num2words is needed by SmolVLM alone, and its adapter says so itself).
EXTRAS: dict[str, tuple[str, ...]] = {
    "hf": ("torch", "transformers"),
    "train": ("torch", "transformers", "trl", "datasets", "peft", "yaml"),
    "publish": ("jinja2", "matplotlib"),
    "model-metrics": ("torch", "open_clip", "bert_score", "transformers"),
    "frames": ("pandas", "pyarrow"),
    "vllm": ("vllm",),
}
# model-metric family -> the modules it imports (a subset of the model-metrics extra)
METRIC_MODULES: dict[str, tuple[str, ...]] = {
    "clipscore": ("torch", "open_clip"),
    "bertscore": ("torch", "transformers", "bert_score"),
}
# top-level module -> the extra that installs it: names the fix when an import fails anyway (cli safety net)
MODULE_EXTRA: dict[str, str] = {}
for _extra in ("vllm", "frames", "publish", "model-metrics", "train", "hf"):  # later wins: hf for torch
    MODULE_EXTRA.update(dict.fromkeys(EXTRAS[_extra], _extra))


class MissingExtraError(AltbenchError):
    """A command needs an optional extra that is not installed."""


def install_hint(extra: str) -> str:
    return f"pip install 'altbench[{extra}]'"


def missing(modules: tuple[str, ...] | list[str]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here (found without importing them)."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package that fails, or a broken __spec__
            found = False
        if not found:
            out.append(name)
    return out


def require(extra: str, *modules: str, what: str = "this command") -> None:
    """Raise :class:`MissingExtraError` unless every module (default: the extra's list) is importable.

    what: names the command or model in the message, e.g. "altbench run --model altbench-tiny".
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}")
    absent = missing(modules or EXTRAS[extra])
    if absent:
        raise MissingExtraError(f"{what} needs {', '.join(absent)} (not installed): {install_hint(extra)}")


def require_metric(family: str) -> None:
    """The check for one model-metric family (``clipscore`` also covers ``refclipscore``)."""
    modules = METRIC_MODULES.get(family)
    if modules:
        require("model-metrics", *modules, what=f"the {family} metric")


def extra_for_module(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is looked up by its top-level package)."""
    if not module:
        return None
    return MODULE_EXTRA.get(module.split(".")[0])


def require_training(dry_run: bool, config: str | None) -> None:
    """train-baseline: training needs the whole train extra; a --dry-run plan needs only pyyaml, and only to
    read a YAML recipe (the built-in demo settings need nothing)."""
    what = "altbench train-baseline"
    if not dry_run:
        require("train", what=what)
    elif config and str(config).endswith((".yaml", ".yml")):
        require("train", "yaml", what=f"{what} --config {config}")
