"""The arena end to end: runs -> battles -> Davidson fit -> bootstrap -> one JSON-ready result.

``run_arena`` returns a dict (schema ``altbench-arena/1``, documented in ``docs/arena.md``); ``write_result``
writes it as ``arena.json``. Nothing is dropped silently: every battle without an outcome is in
``failures`` (per pair and in total), and the judge's token usage and cost are in ``judge.usage``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from altbench.arena import bradley_terry as bt
from altbench.arena.battles import A_WINS, B_WINS, TIE, BattleSet, plan_pairs, run_battles, summary
from altbench.arena.runs import load_runs, resolve_split
from altbench.errors import AltbenchError
from altbench.io import write_json_atomic
from altbench.metrics.model.options import OptionSyntax, option_syntax
from altbench.stats import defaults
from altbench.tasks import Starmap

log = logging.getLogger(__name__)

SCHEMA = "altbench-arena/1"
NOT_FOR_ARENA = ("mode", "against")
# how the judge's options are named in messages: by the library, the keys of ArenaSettings.judge; by the CLI,
# its own options (altbench/cli/arena_cmd.py), never the --metric-arg of the scoring commands
SETTINGS_SYNTAX = OptionSyntax(name=lambda family, key: f"judge[{key!r}]",
                               setting=lambda family, key, value: f"judge={{{key!r}: {value}}}", source="judge")


@dataclass
class ArenaSettings:
    """runs: run folders that battle (with anchors: the new models); anchors: fixed anchor run folders."""

    runs: Sequence[Path]
    judge: Mapping[str, Any]
    anchors: Sequence[Path] = ()
    split: str | None = None
    data_root: Path | None = None
    resamples: int = defaults.ARENA_RESAMPLES
    seed: int = defaults.SEED
    judge_check: Path | None = None  # a judge-check folder for the judge card (default: the registered check)
    extra: dict[str, Any] = field(default_factory=dict)
    judge_syntax: OptionSyntax = field(default_factory=lambda: SETTINGS_SYNTAX)  # how messages name judge options
    jobs: int | None = 1  # worker processes of the bootstrap's refits (altbench.executor; None: all cores)


def judge_options(user: Mapping[str, Any], command: str = "arena") -> dict[str, Any]:
    """The judge family's options with the user's settings, checked as ``--metrics judge`` checks them."""
    from altbench.metrics.model.judge.metric import preflight
    from altbench.metrics.model.options import option_name
    from altbench.metrics.model.registry import family_options

    bad = [k for k in user if k in NOT_FOR_ARENA]
    if bad:
        raise AltbenchError(f"{command}: {option_name('judge', bad[0])} does not apply (the {command} always "
                            "judges text against text, in both orders)")
    opts = family_options("judge", dict(user))
    opts.update(mode="pairwise", against=None)  # the arena brings both texts: no reference or baseline run
    preflight(opts)
    return opts


def run_arena(settings: ArenaSettings) -> dict[str, Any]:
    from altbench.executor import Executor

    with option_syntax(settings.judge_syntax), Executor(settings.jobs) as executor:
        return _run_arena(settings, executor.starmap)


def _run_arena(settings: ArenaSettings, starmap: Starmap | None = None) -> dict[str, Any]:
    from altbench.judges.cards import judge_card
    from altbench.metrics.model.judge import pairwise
    from altbench.metrics.model.judge.calls import usage_summary
    from altbench.metrics.model.judge.metric import item_key, make_caller

    if settings.anchors and not settings.runs:
        raise AltbenchError("arena: --anchors needs at least one run to battle them")
    paths = [*settings.runs, *settings.anchors]
    if len(paths) < 2:
        raise AltbenchError("arena: give at least two runs (or one run and --anchors)")
    runs = load_runs(paths)
    anchors = list(range(len(settings.runs), len(paths)))
    split = resolve_split(runs, settings.split, settings.data_root)
    opts = judge_options(settings.judge)
    backend, identity, rubric, cache, caller = make_caller(opts, split)
    # the items some run has a record for (a --limit run covers a prefix); a record missing on one side counts
    items = [it for it in split.items if any(it.id in r.predictions for r in runs)]
    pairs = plan_pairs(len(runs), anchors)
    battles = run_battles(caller, identity, rubric, [item_key(it) for it in items], items,
                          [r.predictions for r in runs], pairs, with_image=bool(opts["image"]),
                          show_references=bool(opts["references"]))
    n = len(runs)
    c = bt.counts(battles.outcomes)
    decided = battles.outcomes >= 0
    usage = usage_summary(battles.judged, opts["price_in"], opts["price_out"])
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "split": {"name": split.name, "sha256": split.sha256(), "items": len(items)},
        "mode": "anchors" if anchors else "all-pairs",
        "judge": {**identity, "location": backend.location, "rubric": rubric,
                  "cache": str(cache.path) if cache is not None else None,
                  "served_models": sorted({o.model for o in battles.judged if o.model}), "usage": usage,
                  "card": judge_card(identity, rubric, settings.judge_check)},
        "fit": {"model": "davidson-1970", "scale": f"elo-like: {bt.BASE:g} + 400/ln(10) * log-strength, mean of "
                + ("the anchors" if anchors else "all models") + f" = {bt.BASE:g}",
                "prior_sd": bt.PRIOR_SD, "bootstrap": {"resamples": int(settings.resamples), "seed": int(settings.seed),
                                                       "level": 0.95, "over": "items"}},
        "position": pairwise.position_stats(battles.pair_answers),
    }
    if decided.any():
        point = bt.fit(n, pairs, c, anchors)
        low, high = bt.bootstrap(n, pairs, battles.outcomes, point, anchors, settings.resamples, settings.seed,
                                 starmap=starmap)
        result["fit"].update(nu=point.nu, converged=point.converged)
    else:
        point, low, high = None, np.full(n, np.nan), np.full(n, np.nan)
        result["fit"].update(nu=None, converged=False)
        log.warning("arena: no battle has an outcome (see failures); no ratings")
    result["models"] = _models(runs, anchors, pairs, battles, point, low, high)
    length_controlled(result, runs, items, battles, anchors, settings, starmap)
    result["pairs"] = _pairs(runs, battles)
    result["matrix"] = _matrix(runs, battles)
    result["battles"] = summary(battles, len(items) * len(pairs), usage["from_cache"]["answers"])
    if result["battles"]["failures"]["api"]:
        log.warning("arena: %d battle(s) had no judge answer; re-run the same command to ask only for those",
                    result["battles"]["failures"]["api"])
    return result


def length_controlled(result: dict[str, Any], runs, items, battles: BattleSet, anchors: Sequence[int],
                      settings: ArenaSettings, starmap: Starmap | None = None) -> None:
    """Each model's mean length, and the length-controlled fit (:mod:`altbench.arena.length_control`)."""
    from altbench.arena import length_control as lc

    by_label = {m["label"]: m for m in result["models"]}
    for r in runs:
        by_label[r.label]["mean_length"] = lc.mean_lengths(r.predictions, items)
    chars, _ = lc.length_table([r.predictions for r in runs], items)
    rows = lc.battle_rows(battles.outcomes, battles.pairs, chars)
    info: dict[str, Any] = {
        "model": "davidson-1970 with a length covariate", "covariate": "tanh((chars_a - chars_b) / s)",
        "s_chars": rows.scale, "at": "zero length difference", "scale": result["fit"]["scale"]}
    if len(rows.item):
        n = len(runs)
        point = lc.fit(n, rows, np.ones(len(items)), anchors)
        low, high, beta_ci = lc.bootstrap(n, rows, len(items), point, anchors, settings.resamples, settings.seed,
                                          starmap=starmap)
        info.update(beta={"value": point.beta, "ci95": [_num(beta_ci[0]), _num(beta_ci[1])]}, nu=point.nu,
                    converged=point.converged)
        for k, r in enumerate(runs):
            by_label[r.label].update(lc_rating=float(point.ratings[k]), lc_ci95=[_num(low[k]), _num(high[k])])
        order = sorted(runs, key=lambda r: -by_label[r.label]["lc_rating"])
        for rank, r in enumerate(order, 1):
            by_label[r.label]["lc_rank"] = rank
    else:
        info.update(beta=None, nu=None, converged=False)
        for r in runs:
            by_label[r.label].update(lc_rating=None, lc_ci95=[None, None], lc_rank=None)
    result["length_control"] = info


def _models(runs, anchors, pairs, battles: BattleSet, point, low, high) -> list[dict[str, Any]]:
    out = []
    for k, r in enumerate(runs):
        wins = ties = losses = 0
        anchor_points: list[int] = []
        for p, (a, b) in enumerate(pairs):
            if k not in (a, b):
                continue
            col = battles.outcomes[:, p]
            mine, theirs = (A_WINS, B_WINS) if k == a else (B_WINS, A_WINS)
            w, t, lo = int((col == mine).sum()), int((col == TIE).sum()), int((col == theirs).sum())
            wins, ties, losses = wins + w, ties + t, losses + lo
            other = b if k == a else a
            if anchors and k not in anchors and other in anchors:
                anchor_points += [1] * w + [0] * t + [-1] * lo
        n_b = wins + ties + losses
        row: dict[str, Any] = {
            "label": r.label, "model": r.model, "run": str(r.path), "role": "anchor" if k in anchors else "contender",
            "rating": float(point.ratings[k]) if point is not None else None,
            "ci95": [_num(low[k]), _num(high[k])],
            "battles": n_b, "wins": wins, "ties": ties, "losses": losses,
            "win_rate": (wins + ties / 2) / n_b if n_b else None,
        }
        if anchors and k not in anchors:
            # CapArena-Auto style: +1 a win, 0 a tie, -1 a loss against the anchors, as a mean x 100
            row["anchor_score"] = 100 * float(np.mean(anchor_points)) if anchor_points else None
        out.append(row)
    order = sorted(range(len(out)), key=lambda k: -(out[k]["rating"] if out[k]["rating"] is not None else -math.inf))
    for rank, k in enumerate(order, 1):
        out[k]["rank"] = rank
    return [out[k] for k in order]


def _pairs(runs, battles: BattleSet) -> list[dict[str, Any]]:
    rows = []
    for p, (a, b) in enumerate(battles.pairs):
        col = battles.outcomes[:, p]
        rows.append({"a": runs[a].label, "b": runs[b].label, "a_wins": int((col == A_WINS).sum()),
                     "ties": int((col == TIE).sum()), "b_wins": int((col == B_WINS).sum()),
                     "failures": dict(battles.failures[p]), "orders": dict(battles.order_agreement[p])})
    return rows


def _matrix(runs, battles: BattleSet) -> dict[str, dict[str, dict[str, int]]]:
    """row model -> column model -> its wins, ties and losses against that model."""
    m: dict[str, dict[str, dict[str, int]]] = {r.label: {} for r in runs}
    for p, (a, b) in enumerate(battles.pairs):
        col = battles.outcomes[:, p]
        w, t, lo = int((col == A_WINS).sum()), int((col == TIE).sum()), int((col == B_WINS).sum())
        m[runs[a].label][runs[b].label] = {"wins": w, "ties": t, "losses": lo}
        m[runs[b].label][runs[a].label] = {"wins": lo, "ties": t, "losses": w}
    return m


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


def write_result(result: Mapping[str, Any], out_dir: Path) -> Path:
    path = Path(out_dir) / "arena.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, result)
    return path
