"""Meta-evaluation of a pairwise judge: the judge compares the two candidates of each human pair directly.

With ``--metrics judge --metric-arg judge.mode=pairwise`` (or ``both``), a pair record is one battle between
``candidate_a`` and ``candidate_b``, judged in both orders exactly as in the arena (a win only when both
orders agree, else a tie), and the verdict meets the human preference by meta-eval's pairwise accuracy (even
human votes by a seeded coin, a judge tie half a point). This is CapArena's question, "how often does this
judge (or metric) agree with people on a pair", as one command; with a metric judge
(``judge.model=metric:paper/rougeL``) it runs offline. Score records have no pair to compare: the other
metrics evaluate them (``both``: the judge in absolute mode too, unless it is a metric judge, which has none: the
metric itself is evaluated by ``--convention``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

KEY = "model/judge.pairwise"


def pairwise_judge_options(metrics: Sequence[str], metric_args: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The judge's options when ``judge`` is asked for in pairwise (or both) mode; None otherwise."""
    from altbench.arena.result import NOT_FOR_ARENA, judge_options
    from altbench.metrics.model.registry import nest_metric_args, parse_metric_names

    if "judge" not in parse_metric_names(metrics):
        return None
    user = dict(nest_metric_args(metric_args or {}).get("judge", {}))
    if user.get("mode", "absolute") not in ("pairwise", "both"):
        return None
    return judge_options({k: v for k, v in user.items() if k not in NOT_FOR_ARENA}, "meta-eval")


def other_metrics(metrics: Sequence[str], metric_args: Mapping[str, Any] | None
                  ) -> tuple[list[str], dict[str, Any]]:
    """What score_units still scores per candidate: the judge only in ``both`` mode (then as absolute)."""
    from altbench.metrics.model.judge.metric_judge import is_metric_judge
    from altbench.metrics.model.registry import nest_metric_args, parse_metric_names

    nested = nest_metric_args(metric_args or {})
    names = list(parse_metric_names(metrics))
    judge = nested.get("judge", {})
    if judge.get("mode") == "both" and not is_metric_judge(judge):  # a metric judge has no absolute mode
        nested["judge"] = {**nested["judge"], "mode": "absolute"}
    else:
        names.remove("judge")
        nested.pop("judge", None)
    return names, nested


def evaluate(pairs: Sequence[Any], opts: dict[str, Any], resamples: int, seed: int) -> dict[str, Any]:
    """The meta-eval entry of the pairwise judge on the pair records."""
    from altbench.judges.cards import judge_card
    from altbench.judges.check import ask
    from altbench.judges.figures import pair_accuracy
    from altbench.judges.inputs import from_pairs

    ground = from_pairs(pairs)
    asked = ask(ground, opts)
    card = judge_card(asked.identity, asked.rubric)
    return {
        "signature": f"judge.pairwise|judge:{card['label']}|fingerprint:{card['fingerprint']}|rubric:{asked.rubric}"
                     "|orders:AB+BA|verdict:a-vs-b",
        "higher_is_better": True, "negated": False, "card": card,
        "failures": {k: v for k, v in asked.battles["failures"].items() if v},
        "usage": asked.usage,
        "pairwise": pair_accuracy(asked.first, [p.preference for p in pairs], [p.category for p in pairs],
                                  resamples, seed),
    }
