"""A lazy registry of model entries: name -> adapter class path + arguments.

Entries name their adapter as ``"module:Class"`` and are imported only when instantiated, so listing
models or scoring never imports torch. Third-party packages add entries through the entry-point group
``altbench.adapters`` (entry-point name = model name, value = ``module:Class``).
"""

from __future__ import annotations

import difflib
import importlib
import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from altbench.errors import AltbenchError
from altbench.models.base import Adapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    """A named model.

    name:   what users type after ``--model``.
    target: ``"module:Class"`` of an :class:`Adapter` subclass.
    args:   keyword arguments for the class (``--model-arg k=v`` overrides them).
    needs:  what must be present to run it (weights at a path, an API key...), shown by ``altbench models``.
    description: one line for listings.
    """

    name: str
    target: str
    args: dict[str, Any] = field(default_factory=dict)
    needs: str = "nothing (offline)"
    description: str = ""


class UnknownModelError(AltbenchError):
    pass


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, ModelEntry] = {}
        self._plugins_loaded = False

    def add(self, entry: ModelEntry) -> None:
        if entry.name in self._entries:
            raise ValueError(f"model {entry.name!r} is registered twice")
        self._entries[entry.name] = entry

    def entries(self) -> list[ModelEntry]:
        self._load_plugins()
        return list(self._entries.values())

    def get(self, name: str) -> ModelEntry:
        self._load_plugins()
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(name, self._entries, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else "; `altbench models` lists them"
        raise UnknownModelError(f"unknown model {name!r}{hint}")

    def create(self, name: str, overrides: dict[str, Any] | None = None) -> tuple[ModelEntry, Adapter]:
        """The entry and an instance of its adapter with ``args`` updated by ``overrides``."""
        entry = self.get(name)
        cls = load_target(entry.target)
        args = {**entry.args, **(overrides or {})}
        try:
            return entry, cls(**args)
        except TypeError as exc:
            raise AltbenchError(f"model {name}: bad arguments {sorted(args)} for {entry.target} ({exc})") from None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group="altbench.adapters"):
            if ep.name in self._entries:
                log.warning("plugin model %s ignored: the name is taken by a built-in entry", ep.name)
                continue
            self._entries[ep.name] = ModelEntry(ep.name, ep.value, needs="see the plugin",
                                                description=f"plugin from {ep.dist.name if ep.dist else '?'}")


def load_target(target: str) -> type[Adapter]:
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AltbenchError(f"cannot import adapter {target} ({exc})") from None
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise AltbenchError(f"{target} is not an altbench Adapter subclass")
    return cls


REGISTRY = Registry()
for _entry in (
    ModelEntry("context-echo", "altbench.models.baselines:ContextEcho",
               description="the post's context, cleaned and cut to alt-text length"),
    ModelEntry("retrieval", "altbench.models.baselines:Retrieval",
               description="reference alt-text of the most similar training context (TF-IDF)",
               needs="the split's train split (demo-train, *-sample-train, *-train) or --model-arg train=..."),
    *(
        ModelEntry(name, "altbench.models.checkpoints:PaperCheckpoint", {"checkpoint": name},
                   needs=f"weights: --model-arg path=DIR or ALTBENCH_{name.upper().replace('-', '_')}=DIR",
                   description=f"the reference work's {label} LLaVA-1.6-7B checkpoint")
        for name, label in (("sft-7b", "SFT"), ("dpo-7b", "DPO"), ("mcmdpo-7b", "MCM-DPO"))
    ),
):
    REGISTRY.add(_entry)
