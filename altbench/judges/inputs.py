"""What a judge check (or meta-eval's pairwise judging) judges: battles between texts on the same items.

Two sources, one shape (:class:`Battleground`):

- **runs** (``altbench judge-check RUN_A RUN_B ...``): the arena's battles, every pair of runs on every item
  any of them has a record for, read by the arena's own run reader (same split checks, same labels);
- **human pairs** (a meta-eval pairs file: ``{"candidate_a", "candidate_b", "preference"}`` records): each pair
  is one battle between "a" and "b" on an item made of the record's image, post text and references, with the
  human preference kept for the agreement figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.data.splits import Split
from altbench.errors import AltbenchError

PAIRS_PLATFORM = "judge-check"


@dataclass
class Battleground:
    """labels[k] names text set k (a run, or "a"/"b"); predictions[k]: item id -> text (None: failed)."""

    kind: str  # runs | pairs
    split: Split
    items: list[Item]
    labels: list[str]
    predictions: list[dict[str, str | None]]
    pairs: list[tuple[int, int]]
    human: list[str] | None = None  # pairs: per item, "a" | "b" | "tie"
    categories: list[str | None] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)


def from_runs(paths: Sequence[Path], split: str | None = None, data_root: Path | None = None) -> Battleground:
    from altbench.arena.battles import plan_pairs
    from altbench.arena.runs import load_runs, resolve_split

    if len(paths) < 2:
        raise AltbenchError("judge-check: give at least two runs (or one meta-eval pairs file)")
    runs = load_runs(paths)
    loaded = resolve_split(runs, split, data_root)
    items = [it for it in loaded.items if any(it.id in r.predictions for r in runs)]
    return Battleground("runs", loaded, items, [r.label for r in runs], [r.predictions for r in runs],
                        plan_pairs(len(runs)), source={"runs": [str(r.path) for r in runs]})


def from_pairs(judgments: Sequence[Any], source: dict[str, Any] | None = None) -> Battleground:
    """Pair records (:class:`~altbench.metaeval.records.PairJudgment`) as battles; score records are left out."""
    from altbench.data.demo import INSTRUCTION
    from altbench.metaeval.records import PairJudgment

    pairs = [j for j in judgments if isinstance(j, PairJudgment)]
    if not pairs:
        raise AltbenchError("judge-check: the judgments file has no pair records (candidate_a, candidate_b, "
                            "preference); a judge check compares two texts")
    items, a, b = [], {}, {}
    for j in pairs:
        image = Path(j.image) if j.image else Path(f"<no image for {j.id}>")
        items.append(Item(id=j.id, image=image.absolute(), image_root=image.absolute().parent,
                          question=INSTRUCTION + j.context, context=j.context, references=j.references,
                          platform=PAIRS_PLATFORM))
        a[j.id], b[j.id] = j.candidate_a, j.candidate_b
    if len({it.id for it in items}) != len(items):
        raise AltbenchError("judge-check: pair ids must be unique in the judgments file")
    path = (source or {}).get("path")
    name = f"human pairs ({Path(path).name})" if path else "human pairs"
    split = Split(name, tuple(items), "human pairs (in memory)", "test")
    return Battleground("pairs", split, items, ["a", "b"], [a, b], [(0, 1)], [j.preference for j in pairs],
                        [j.category for j in pairs], dict(source or {}))

