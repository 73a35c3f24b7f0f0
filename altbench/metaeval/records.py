"""Human judgments as records, and the documented JSON Lines input of ``altbench meta-eval``.

One JSON object a line, of one of two kinds (a file may mix them):

- a **score**: ``{"id", "image", "context", "references", "candidate", "human": <number>}``, optionally
  ``"model"`` (the system that wrote the candidate: enables system-level correlation) and ``"group"`` (e.g.
  the image id, for per-group reporting);
- a **pair**: ``{"id", "image", "context", "references", "candidate_a", "candidate_b", "preference": "a" |
  "b" | "tie"}`` (or ``"votes_a"``/``"votes_b"`` counts instead of ``preference``), optionally ``"category"``
  (Pascal-50S's HC / HI / HM / MM).

``image`` is a path (relative to the file's folder, or absolute; it may be absent for text-only metrics),
``context`` the post text (may be empty), ``references`` a list of strings (may be empty: then only
reference-free metrics can be meta-evaluated). ``human`` and the votes are finite JSON numbers (votes 0 or
more), ``id`` a string or an integer, ``model``/``group``/``category`` strings (or integers) when given.
Malformed lines raise :class:`~altbench.errors.DataError` naming the file and line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from altbench.errors import DataError
from altbench.io import iter_objects

PREFERENCES = ("a", "b", "tie")


@dataclass(frozen=True)
class ScoreJudgment:
    id: str
    image: Path | None
    context: str
    references: tuple[str, ...]
    candidate: str
    human: float
    model: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class PairJudgment:
    """preference: which candidate the humans preferred (``tie`` when their votes were even)."""

    id: str
    image: Path | None
    context: str
    references: tuple[str, ...]
    candidate_a: str
    candidate_b: str
    preference: str
    category: str | None = None


Judgment = ScoreJudgment | PairJudgment


def _text(row: dict, key: str, where: str, default: str | None = None) -> str:
    value = row.get(key, default)
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} must be a string")
    return value


def _refs(row: dict, where: str) -> tuple[str, ...]:
    refs = row.get("references", [])
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise DataError(f"{where}: 'references' must be a list of strings")
    return tuple(refs)


def _image(row: dict, base: Path, where: str) -> Path | None:
    value = row.get("image")
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: 'image' must be a path string")
    path = Path(value)
    return path if path.is_absolute() else (base / path)


def finite_number(value: Any, what: str, where: str) -> float:
    """``value`` as a float: a JSON number (not a boolean), finite. A NaN human score would be carried into
    the statistics and reported as an interval around no value; it is the input's fault, named here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = "null" if value is None else f"{type(value).__name__} {value!r}"
        raise DataError(f"{where}: {what} must be a number, got {shown}")
    if not math.isfinite(value):
        raise DataError(f"{where}: {what} must be a finite number, got {json.dumps(value)}")
    return float(value)


def _name(row: dict, key: str, where: str) -> str | None:
    """An optional label (``model``, ``group``, ``category``): a string or an integer id, or absent/null."""
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataError(f"{where}: '{key}' must be a string, got {type(value).__name__}")
    return str(value)


def _id(row: dict, where: str) -> str:
    if "id" not in row:
        raise DataError(f"{where}: missing 'id'")
    value = row["id"]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        shown = "null" if value is None else type(value).__name__
        raise DataError(f"{where}: 'id' must be a string or an integer, got {shown}")
    return str(value)


def _votes(row: dict, key: str, where: str) -> float:
    votes = finite_number(row[key], f"'{key}'", where)
    if votes < 0:
        raise DataError(f"{where}: '{key}' must be a count (0 or more), got {row[key]}")
    return votes


def preference_from_votes(votes_a: float, votes_b: float) -> str:
    return "a" if votes_a > votes_b else "b" if votes_b > votes_a else "tie"


def judgment_from_row(row: dict[str, Any], base: Path, where: str) -> Judgment:
    common = {"id": _id(row, where), "image": _image(row, base, where), "context": _text(row, "context", where, ""),
              "references": _refs(row, where)}
    if "candidate" in row:
        if "human" not in row:
            raise DataError(f"{where}: a score record needs a numeric 'human'")
        return ScoreJudgment(**common, candidate=_text(row, "candidate", where),
                             human=finite_number(row["human"], "'human'", where), model=_name(row, "model", where),
                             group=_name(row, "group", where))
    if "candidate_a" in row and "candidate_b" in row:
        if "preference" in row:
            pref = row["preference"]
            if pref not in PREFERENCES:
                raise DataError(f"{where}: 'preference' must be one of a, b, tie, got {pref!r}")
        elif "votes_a" in row and "votes_b" in row:
            pref = preference_from_votes(_votes(row, "votes_a", where), _votes(row, "votes_b", where))
        else:
            raise DataError(f"{where}: a pair record needs 'preference' (a/b/tie) or 'votes_a' and 'votes_b'")
        return PairJudgment(**common, candidate_a=_text(row, "candidate_a", where),
                            candidate_b=_text(row, "candidate_b", where), preference=pref,
                            category=_name(row, "category", where))
    raise DataError(f"{where}: expected 'candidate' and 'human' (a score) or 'candidate_a', 'candidate_b' and "
                    "'preference' (a pair)")


def read_jsonl(path: Path) -> list[Judgment]:
    """Judgments from the documented JSON Lines format; ids must be unique."""
    out: list[Judgment] = []
    seen: set[str] = set()
    for lineno, row in iter_objects(path, "meta-eval judgments"):
        j = judgment_from_row(row, Path(path).parent, f"{path}:{lineno}")
        if j.id in seen:
            raise DataError(f"{path}:{lineno}: duplicate id {j.id!r}")
        seen.add(j.id)
        out.append(j)
    if not out:
        raise DataError(f"{path}: no judgments")
    return out


def to_row(j: Judgment) -> dict[str, Any]:
    """The JSON Lines form of a judgment (what ``read_jsonl`` reads back)."""
    row: dict[str, Any] = {"id": j.id, "image": str(j.image) if j.image else None, "context": j.context,
                           "references": list(j.references)}
    if isinstance(j, ScoreJudgment):
        row.update(candidate=j.candidate, human=j.human)
        if j.model is not None:
            row["model"] = j.model
        if j.group is not None:
            row["group"] = j.group
    else:
        row.update(candidate_a=j.candidate_a, candidate_b=j.candidate_b, preference=j.preference)
        if j.category is not None:
            row["category"] = j.category
    return row
