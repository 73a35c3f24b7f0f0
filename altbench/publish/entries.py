"""What a reader needs to know about a leaderboard entry besides its scores: the base model, the recipe and
checkpoint it comes from, how many items it scored, and when it was run.

Read from the run folder (``results.json``'s model fingerprint, ``run.json``'s creation time) and, for a checkpoint
trained by an altbench recipe, from the ``altbench.json`` card beside the checkpoint when that folder is still
there. A published page never shows a path of the machine that built it: checkpoints are named as
:func:`~altbench.results.model.short_model_name` names them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from altbench.publish.runs import RunData
from altbench.results.model import short_model_name

SHIPPED = "altbench:"  # checkpoints shipped inside the package (altbench/models/weights/NAME)
BASELINES = "altbench.models.baselines:"


@dataclass(frozen=True)
class Entry:
    base: str  # the base model or architecture; "offline baseline (no model)" for the offline baselines
    recipe: str  # training recipe (sft, dpo, mcmdpo...) from the checkpoint's card, else ""
    checkpoint: str  # the checkpoint's short name, else ""
    scored: int | None
    items: int | None  # items evaluated (the subset when --limit)
    failed: int
    date: str  # YYYY-MM-DD of the run, else ""

    @property
    def summary(self) -> str:
        """One line for the model column: base, recipe and checkpoint, whichever are known."""
        parts = [self.base if self.base.startswith("offline") else f"base {self.base}" if self.base else ""]
        if self.recipe:
            parts.append(f"recipe {self.recipe}")
        if self.checkpoint:
            parts.append(f"checkpoint {self.checkpoint}")
        return "; ".join(p for p in parts if p)

    @property
    def items_text(self) -> str:
        if self.scored is None:
            return "\u2013"
        out = f"{self.scored} of {self.items}" if self.items is not None and self.items != self.scored else str(self.scored)
        return out + (f"; {self.failed} failed" if self.failed else "")


def entry_of(run: RunData) -> Entry:
    model = run.run.model if isinstance(run.run.model, dict) else {}
    fingerprint = model.get("fingerprint") if isinstance(model.get("fingerprint"), dict) else {}
    adapter = fingerprint.get("adapter") if isinstance(fingerprint.get("adapter"), dict) else {}
    checkpoint = adapter.get("checkpoint") if isinstance(adapter.get("checkpoint"), dict) else {}
    source = str(checkpoint.get("path") or "")
    card = _card(source)
    target = str(model.get("target") or "")
    if card.get("base"):
        base = short_model_name(str(card["base"]))
    elif target.startswith(BASELINES):
        base = "offline baseline (no model)"
    elif adapter.get("architecture") or adapter.get("family"):
        base = str(adapter.get("architecture") or adapter.get("family"))
    else:  # nothing known beyond the model's name, which the model column already shows
        base = ""
    name = source[len(SHIPPED):] if source.startswith(SHIPPED) else short_model_name(source) if source else ""
    c = run.counts
    split = run.split
    return Entry(base=base, recipe=str(card.get("recipe") or ""), checkpoint=name,
                 scored=c.get("scored"), items=split.get("n_evaluated"), failed=int(c.get("failed") or 0),
                 date=_date(run))


def _card(source: str) -> dict[str, Any]:
    """The recipe's card of a local (or shipped) checkpoint, when it can still be read; else {}."""
    if not source:
        return {}
    if source.startswith(SHIPPED):
        folder = Path(__file__).resolve().parents[1] / "models" / "weights" / source[len(SHIPPED):]
    else:
        folder = Path(source).expanduser()
    try:
        card = json.loads((folder / "altbench.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return card if isinstance(card, dict) else {}


def _date(run: RunData) -> str:
    created = run.run_meta.get("created")
    if not isinstance(created, str):
        stamps = run.headline.timestamps if isinstance(getattr(run.headline, "timestamps", None), dict) else {}
        created = next((v for v in stamps.values() if isinstance(v, str)), "")
    return created[:10] if len(created) >= 10 and created[4] == "-" else ""
