"""``judge-check.json`` (schema ``altbench-judge-check/1``): the typed result of ``altbench judge-check`` and its
one reader, :func:`read_judge_check`, used by the page, the judge cards and anyone else.

Every figure is a :class:`Stat`: a value, its 95% interval (percentile bootstrap over items) and the number of
units it is computed on. The fields are documented in docs/judges.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from altbench.errors import DataError

SCHEMA = "altbench-judge-check/1"


@dataclass(frozen=True)
class Stat:
    value: float | None
    ci95: tuple[float | None, float | None]
    n: int

    @classmethod
    def of(cls, value: float, ci: tuple[float | None, float | None], n: int) -> Stat:
        v = float(value) if value is not None and math.isfinite(value) else None
        return cls(v, (ci[0], ci[1]) if v is not None else (None, None), int(n))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Stat | None:
        if d is None:
            return None
        lo, hi = (d.get("ci95") or [None, None])[:2]
        return cls(d.get("value"), (lo, hi), int(d.get("n") or 0))

    def excludes(self, x: float) -> bool:
        """The interval lies wholly above or below ``x``."""
        lo, hi = self.ci95
        return lo is not None and hi is not None and (lo > x or hi < x)


@dataclass(frozen=True)
class LengthBias:
    """``longer_wins``: share of decided battles between texts of different length won by the longer;
    ``slope``: logistic slope of the verdict on the character difference / 100; ``verdict``: what the slope's interval
    says (``prefers longer``, ``prefers shorter``, ``no clear preference``)."""

    longer_wins: Stat
    slope: Stat
    verdict: str


@dataclass(frozen=True)
class JudgeReport:
    """One judge: its card (identity), what was judged, and its reliability figures."""

    card: dict[str, Any]
    battles: dict[str, Any]  # possible, with_outcome, failures by kind, requests_now, answers_from_cache
    usage: dict[str, Any]
    position_consistency: Stat
    first_position_wins: Stat
    self_consistency: Stat | None  # None with --repeats 1
    length_bias: LengthBias
    human_accuracy: Stat | None  # None without human labels (runs as input)
    human: dict[str, Any] = field(default_factory=dict)  # judge ties, unscored pairs, by category

    @property
    def name(self) -> str:
        return str(self.card.get("label") or self.card.get("model"))


@dataclass(frozen=True)
class PairAgreement:
    a: str
    b: str
    kappa: Stat


@dataclass(frozen=True)
class Agreement:
    """Between judges on the same battles: Cohen's kappa for every two, Krippendorff's alpha for three or more."""

    labels: str  # what was compared: the battle outcome (a wins / tie / b wins)
    pairs: list[PairAgreement]
    alpha: Stat | None


@dataclass(frozen=True)
class JudgeCheck:
    schema: str
    input: dict[str, Any]
    settings: dict[str, Any]
    judges: list[JudgeReport]
    agreement: Agreement | None

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def judge(self, fingerprint: str) -> JudgeReport | None:
        return next((j for j in self.judges if j.card.get("fingerprint") == fingerprint), None)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def from_dict(d: Mapping[str, Any], where: str = "judge-check") -> JudgeCheck:
    """A :class:`JudgeCheck` from its JSON; :class:`DataError` naming ``where`` when it is not one."""
    if not isinstance(d, Mapping) or d.get("schema") != SCHEMA:
        found = d.get("schema") if isinstance(d, Mapping) else type(d).__name__
        raise DataError(f"{where}: not a judge check (schema {found!r}; expected {SCHEMA!r})")
    try:
        judges = [JudgeReport(
            card=dict(j["card"]), battles=dict(j["battles"]), usage=dict(j.get("usage") or {}),
            position_consistency=Stat.from_dict(j["position_consistency"]),
            first_position_wins=Stat.from_dict(j["first_position_wins"]),
            self_consistency=Stat.from_dict(j.get("self_consistency")),
            length_bias=LengthBias(Stat.from_dict(j["length_bias"]["longer_wins"]),
                                   Stat.from_dict(j["length_bias"]["slope"]), str(j["length_bias"]["verdict"])),
            human_accuracy=Stat.from_dict(j.get("human_accuracy")), human=dict(j.get("human") or {}))
            for j in d["judges"]]
        agreement = None
        if d.get("agreement"):
            a = d["agreement"]
            agreement = Agreement(str(a["labels"]), [PairAgreement(p["a"], p["b"], Stat.from_dict(p["kappa"]))
                                                     for p in a["pairs"]], Stat.from_dict(a.get("alpha")))
        return JudgeCheck(SCHEMA, dict(d["input"]), dict(d["settings"]), judges, agreement)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{where}: malformed judge check ({type(exc).__name__}: {exc})") from None


def read_judge_check(path: Path) -> JudgeCheck:
    """Read ``judge-check.json`` (or the folder holding it)."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "judge-check.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{p}: no judge check there (run altbench judge-check ... --out DIR)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: unreadable judge check ({exc})") from None
    return from_dict(data, str(p))
