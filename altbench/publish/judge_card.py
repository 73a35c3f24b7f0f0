"""A judge card on a page: who judged, asked how, and how reliable the judge was in its last judge check
(:mod:`altbench.judges.cards`); the arena and meta-evaluation pages show it beside the judge's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from altbench.publish.html import Block, Facts, H, P
from altbench.results.numbers import fmt


def stat_text(stat: Mapping[str, Any] | None, digits: int | None = None) -> str:
    """``0.93 (95% CI 0.88 to 0.97, n 120)``, or n/a."""
    if not stat or stat.get("value") is None:
        return "n/a"
    lo, hi = (stat.get("ci95") or [None, None])[:2]
    ci = f"95% CI {fmt(lo, digits=digits)} to {fmt(hi, digits=digits)}, " if lo is not None and hi is not None else ""
    return f"{fmt(stat['value'], digits=digits)} ({ci}n {stat.get('n', 0)})"


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


def _settings(card: Mapping[str, Any]) -> str:
    shown = [(k, v) for k, v in sorted((card.get("settings") or {}).items()) if v not in ({}, None, "")]
    return "; ".join(f"{k.replace('_', ' ')}: {_value(v)}" for k, v in shown) or "none"


def card_facts(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = [("Judge", f"{card.get('label')} (backend {card.get('backend')})"),
             ("Rubric", str(card.get("rubric"))), ("Settings", _settings(card)),
             ("Fingerprint", str(card.get("fingerprint")))]
    rel = card.get("reliability")
    if not rel:
        return facts
    lb = rel.get("length_bias") or {}
    facts += [
        ("Checked", f"{rel.get('battles')} battles ({(rel.get('input') or {}).get('kind')}), in {rel.get('source')}"),
        ("Position consistency", stat_text(rel.get("position_consistency"))),
        ("Self-consistency", stat_text(rel.get("self_consistency"))
         if rel.get("self_consistency") else "not measured (judge-check --repeats 1)"),
        ("Length bias", (f"{lb.get('verdict')}; longer text wins {stat_text(lb.get('longer_wins'))}; slope per 100 "
                        f"characters {stat_text(lb.get('slope_per_100_chars'))}")),
        ("Agreement with humans", stat_text(rel.get("human_accuracy"))
         if rel.get("human_accuracy") else "not measured (no human pairs in the check)"),
    ]
    for other in rel.get("agreement") or []:
        facts.append((f"Cohen's kappa with {other['judge']}", stat_text(other.get("kappa"))))
    return facts


def card_blocks(card: Mapping[str, Any] | None, heading_id: str, heading: str = "The judge") -> list[Block]:
    if not card:
        return []
    blocks: list[Block] = [H(heading, id=heading_id), Facts(card_facts(card))]
    if not card.get("reliability"):
        blocks.append(P("No judge check of this judge was found. altbench judge-check RUN_A RUN_B --judge "
                        f"{card.get('label')} measures its position and self-consistency, length bias and "
                        "agreement (docs/judges.md); this card then shows them."))
    else:
        blocks.append(P("How to read these figures: docs/judges.md. Position consistency near 1 and no length "
                        "preference are what a trustworthy pairwise judge shows."))
    return blocks
