"""Pairwise judgements: the prediction against the reference or a baseline run, in both orders.

Each pair is judged twice, the prediction shown first as A (order ``AB``) and second as B (order ``BA``), so a
judge that prefers a position gives both orders the same letter and the pair comes out as a tie: position bias
cancels. The prediction's preference in one order is 1 for a win, 0.5 for a tie, 0 for a loss (with
log-probabilities: ``p(win) + 0.5 * p(tie)``); the item's score is the mean of its two orders, and the metric
is the mean over items: the prediction's win rate, ties counted half. A pair is scored only when both orders
have a valid answer. Identical texts are a tie without asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from altbench.errors import AltbenchError
from altbench.metrics.model.judge.calls import Outcome
from altbench.metrics.model.judge.parsing import distribution, winner_offset
from altbench.metrics.model.judge.prompts import WINNERS

ORDERS = ("AB", "BA")


def weigh(text: str, tokens) -> dict[str, dict[str, float]]:
    dist = distribution(tokens, text, winner_offset(text), WINNERS)
    return {"winner": dist} if dist else {}


def preference(outcome: Outcome, order: str, weighted: bool) -> float:
    """The prediction's preference in one order, from the answer (or its winner distribution)."""
    mine, theirs = ("A", "B") if order == "AB" else ("B", "A")
    dist = outcome.dists.get("winner") if weighted else None
    if dist:
        return dist.get(mine, 0.0) + 0.5 * dist.get("tie", 0.0)
    winner = outcome.parsed[0]
    return 1.0 if winner == mine else 0.0 if winner == theirs else 0.5


def baseline_predictions(against: str) -> tuple[dict[str, str | None], str]:
    """id -> baseline prediction (None when that item failed) from a predictions file; and a label for it."""
    from altbench.metrics.model.base import file_sha256
    from altbench.metrics.model.options import option_name
    from altbench.run import predictions as pred_store

    path = Path(against).expanduser()
    if path.is_dir():
        path = path / "predictions.jsonl"
    if not path.is_file():
        raise AltbenchError(f"{option_name('judge', 'against')}: no predictions file at {path} (give a run "
                            "folder or its predictions.jsonl, or 'reference')")
    records = pred_store.read(path)
    return {k: r.prediction for k, r in records.items()}, f"run:{path.parent.name}@{file_sha256(path)[:12]}"


def position_stats(pairs: Mapping[object, tuple[Outcome, Outcome]]) -> dict[str, float | int | None]:
    """How often the two orders agree on the winner, and how often the first position won (bias check)."""
    consistent = firsts = decided = 0
    for ab, ba in pairs.values():
        w_ab, w_ba = ab.parsed[0], ba.parsed[0]
        swapped = {"A": "B", "B": "A", "tie": "tie"}[w_ba]
        consistent += w_ab == swapped
        for w in (w_ab, w_ba):
            if w != "tie":
                decided += 1
                firsts += w == "A"
    n = len(pairs)
    return {"pairs": n, "position_consistency": consistent / n if n else None,
            "first_position_wins": firsts / decided if decided else None}
