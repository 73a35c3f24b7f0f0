"""Judge cards: which judge gave a number (backend, model or metric, rubric, sampling settings) and, when a
judge check exists for that judge, how far to trust it.

A judge is pinned by its **fingerprint**: sha256 of (its identity, the rubric id), 16 hex. The identity is
what keys the judge's cache (backend, model, weights hash for a local model, temperature, max tokens,
log-probabilities, JSON mode, image encoding, whether the image and references are shown; for a metric judge
the metric, its tie tolerance and options), so two numbers with the same fingerprint come from the same judge
asked the same way.

Where a card finds its reliability figures: ``altbench judge-check`` registers its result for every judge it
checked as ``$ALTBENCH_CACHE/judge/checks/<fingerprint>.json`` (a copy of its ``judge-check.json``; the newest
check of a judge replaces the older), and every judge-based result looks there; the arena's
``--judge-check DIR`` names a check explicitly instead. No check: ``reliability`` is null.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from altbench.data.splits import cache_dir
from altbench.errors import DataError
from altbench.io import write_json_atomic
from altbench.judges.schema import JudgeCheck, JudgeReport, Stat, read_judge_check
from altbench.metrics.model.base import sha256_text

log = logging.getLogger(__name__)

CHECKS = ("judge", "checks")


def fingerprint(identity: dict[str, Any], rubric: str) -> str:
    return sha256_text(identity, rubric)[:16]


def judge_label(identity: dict[str, Any]) -> str:
    """How a judge is named on pages: ``metric:paper/rougeL`` or the model name."""
    model = str(identity.get("model"))
    return f"metric:{model}" if identity.get("backend") == "metric" else model


def identity_card(identity: dict[str, Any], rubric: str) -> dict[str, Any]:
    """The card without reliability figures: fingerprint, label, backend, model, rubric, the other settings."""
    settings = {k: v for k, v in identity.items() if k not in ("backend", "model")}
    return {"fingerprint": fingerprint(identity, rubric), "label": judge_label(identity),
            "backend": identity.get("backend"), "model": identity.get("model"), "rubric": rubric,
            "settings": settings}


def checks_dir() -> Path:
    return cache_dir().joinpath(*CHECKS)


def register(check: JudgeCheck) -> list[Path]:
    """Store the check under each checked judge's fingerprint, where every later judge card looks."""
    written = []
    for report in check.judges:
        if not report.battles.get("with_outcome"):
            continue  # nothing judged: nothing to vouch for
        path = checks_dir() / f"{report.card['fingerprint']}.json"
        write_json_atomic(path, check.to_dict())
        written.append(path)
    return written


def lookup(fp: str, check_dir: Path | None = None) -> tuple[JudgeCheck, str] | None:
    """(the check of judge ``fp``, where it was read) from ``check_dir`` or the registry; None when none."""
    if check_dir is not None:
        check = read_judge_check(check_dir)  # named explicitly: a missing or bad file is the user's error
        if check.judge(fp) is None:
            log.warning("judge check %s checked other judges (fingerprints %s), not this one (%s)", check_dir,
                        ", ".join(j.card.get("fingerprint", "?") for j in check.judges), fp)
            return None
        return check, str(check_dir)
    path = checks_dir() / f"{fp}.json"
    if not path.is_file():
        return None
    try:
        return read_judge_check(path), str(path)
    except DataError as exc:
        log.warning("ignoring the registered judge check %s (%s)", path, exc)
        return None


def _stat(s: Stat | None) -> dict[str, Any] | None:
    return None if s is None else {"value": s.value, "ci95": list(s.ci95), "n": s.n}


def reliability(report: JudgeReport, check: JudgeCheck, source: str) -> dict[str, Any]:
    """The figures a card carries from a check (the check's file holds the rest)."""
    others = []
    if check.agreement is not None:
        for p in check.agreement.pairs:
            if report.name in (p.a, p.b):
                others.append({"judge": p.b if p.a == report.name else p.a, "kappa": _stat(p.kappa)})
    return {
        "source": source, "input": {k: check.input.get(k) for k in ("kind", "split", "runs", "pairs")},
        "battles": report.battles.get("with_outcome"),
        "position_consistency": _stat(report.position_consistency),
        "self_consistency": _stat(report.self_consistency),
        "length_bias": {"verdict": report.length_bias.verdict, "slope_per_100_chars": _stat(report.length_bias.slope),
                        "longer_wins": _stat(report.length_bias.longer_wins)},
        "human_accuracy": _stat(report.human_accuracy),
        "agreement": others,
    }


def judge_card(identity: dict[str, Any], rubric: str, check_dir: Path | None = None) -> dict[str, Any]:
    """The card of the judge with this identity and rubric, with its reliability when a check exists."""
    card = identity_card(identity, rubric)
    found = lookup(card["fingerprint"], check_dir)
    card["reliability"] = None
    if found is not None:
        check, source = found
        report = check.judge(card["fingerprint"])
        if report is not None:
            card["reliability"] = reliability(report, check, source)
    return card
