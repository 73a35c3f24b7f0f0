"""Battles: two runs' alt-texts for the same item, judged by the pairwise judge in both orders.

A battle between runs ``a`` and ``b`` on an item shows the judge ``a``'s text as A and ``b``'s as B (order
``AB``), then the other way round (``BA``). The outcome is ``a`` (or ``b``) only when both orders pick it; a
tie in either order, or orders that disagree (a judge that prefers a position), is a tie: position bias
cancels. Identical texts are a tie without asking. A battle with a failed order (no answer: ``api``, an
answer not in the required form: ``parse``, an unreadable image: ``image``) has no outcome and is counted,
never dropped silently; so is an item one of the runs has no prediction for (``no_prediction``).

Requests go through the judge's own machinery (:mod:`altbench.metrics.model.judge`): the same backends,
prompts, strict parser and append-only cache (the cache file of the same judge identity as ``--metrics
judge``). The cache key is the judge identity, the rubric, the item (id and content hash), and the two texts in
the order shown, so the same texts shown the same way are asked once, whichever runs they came from, and a
re-run after an outage asks only for what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from altbench.data.items import Item
from altbench.metrics.model.judge import pairwise
from altbench.metrics.model.judge.cache import cache_key
from altbench.metrics.model.judge.calls import Caller, Job, Outcome
from altbench.metrics.model.judge.parsing import parse_pairwise
from altbench.metrics.model.judge.prompts import pairwise_prompt

A_WINS, TIE, B_WINS, NONE = 0, 1, 2, -1
FAILURE_KINDS = ("api", "parse", "image", "no_prediction")


@dataclass
class BattleSet:
    """outcomes[item, pair]: A_WINS / TIE / B_WINS for pair ``(a, b)``, or NONE (see ``failures``)."""

    pairs: list[tuple[int, int]]
    item_ids: list[str]
    outcomes: np.ndarray
    failures: list[dict[str, int]]  # per pair: kind -> battles without an outcome
    order_agreement: list[dict[str, int]]  # per pair: consistent / disagreed / identical
    judged: list[Outcome] = field(default_factory=list)  # one per unique request, for usage and position stats
    # (item, pair) -> the answers in order AB and BA, for battles whose two orders were both answered in form
    pair_answers: dict[tuple[int, int], tuple[Outcome, Outcome]] = field(default_factory=dict)


def plan_pairs(n_runs: int, anchors: Sequence[int] = ()) -> list[tuple[int, int]]:
    """All pairs; with anchors: anchor-vs-anchor pairs (judged once, then cached) and each other run vs each anchor."""
    if not anchors:
        return [(i, j) for i in range(n_runs) for j in range(i + 1, n_runs)]
    anchor_set = set(anchors)
    pairs = [(i, j) for i in anchors for j in anchors if i < j]
    pairs += [(i, j) for i in range(n_runs) if i not in anchor_set for j in anchors]
    return pairs


def run_battles(caller: Caller, identity: dict[str, Any], rubric: str, item_keys: Sequence[str],
                items: Sequence[Item], predictions: Sequence[dict[str, str | None]],
                pairs: Sequence[tuple[int, int]], *, with_image: bool, show_references: bool,
                mode: str = "arena") -> BattleSet:
    """Ask the judge for every battle (unique requests only) and turn the answers into outcomes.

    ``mode`` is part of the cache key: ``arena`` for the arena's (and judge-check's first) asking, so both share
    the answers; judge-check asks again under ``arena/repeat<r>`` to measure self-consistency.
    """
    n_items = len(items)
    outcomes = np.full((n_items, len(pairs)), NONE, dtype=np.int8)
    failures = [dict.fromkeys(FAILURE_KINDS, 0) for _ in pairs]
    agreement = [{"consistent": 0, "disagreed": 0, "identical": 0} for _ in pairs]
    jobs: dict[str, Job] = {}
    wanted: dict[tuple[int, int], tuple[str, str]] = {}  # (item, pair) -> (key AB, key BA)
    for p, (a, b) in enumerate(pairs):
        for i, item in enumerate(items):
            ta, tb = predictions[a].get(item.id), predictions[b].get(item.id)
            if ta is None or tb is None:
                failures[p]["no_prediction"] += 1
                continue
            if ta.strip() == tb.strip():
                outcomes[i, p] = TIE
                agreement[p]["identical"] += 1
                continue
            refs = item.references if show_references else None
            keys = []
            for first, second in ((ta, tb), (tb, ta)):
                key = cache_key(identity, rubric, item_keys[i], mode, first, second)
                if key not in jobs:
                    prompt = pairwise_prompt(item.context, first, second, refs, with_image=with_image)
                    jobs[key] = Job(i, "pairwise", key, prompt, "AB", (first, second))
                keys.append(key)
            wanted[(i, p)] = (keys[0], keys[1])
    unique = list(jobs.values())
    answers = dict(zip((j.key for j in unique), caller.run(unique, items, {"pairwise": (parse_pairwise,
                                                                                         pairwise.weigh)})))
    pair_answers: dict[tuple[int, int], tuple[Outcome, Outcome]] = {}
    for (i, p), (k_ab, k_ba) in wanted.items():
        ab, ba = answers[k_ab], answers[k_ba]
        bad = [o.status for o in (ab, ba) if o.status != "ok"]
        if bad:
            failures[p]["api" if "api" in bad else bad[0]] += 1
            continue
        pair_answers[(i, p)] = (ab, ba)
        first = {"A": A_WINS, "B": B_WINS, "tie": TIE}[ab.parsed[0]]
        second = {"A": B_WINS, "B": A_WINS, "tie": TIE}[ba.parsed[0]]  # in BA, a's text is shown as B
        outcomes[i, p] = first if first == second else TIE
        agreement[p]["consistent" if first == second else "disagreed"] += 1
    return BattleSet(list(pairs), [item.id for item in items], outcomes, failures, agreement,
                     list(answers.values()), pair_answers)


def summary(battles: BattleSet, possible: int, answers_from_cache: int) -> dict[str, Any]:
    """How many battles got an outcome, why the others did not, and what was asked (arena and judge-check)."""
    total = {k: sum(f[k] for f in battles.failures) for k in FAILURE_KINDS}
    return {"possible": possible, "with_outcome": int((battles.outcomes >= 0).sum()),
            "without_outcome": sum(total.values()), "failures": total, "unique_requests": len(battles.judged),
            # sent to the judge now, answered or failed; not those held back once it was down
            "requests_now": sum(1 for o in battles.judged if o.sent),
            "requests_not_sent": sum(1 for o in battles.judged if o.status == "api" and not o.sent),
            "answers_from_cache": answers_from_cache}
