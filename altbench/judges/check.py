"""``altbench judge-check`` end to end: battles -> each judge asked (cached, repeated) -> reliability figures.

Each judge is asked through the arena's own battle code (:func:`altbench.arena.battles.run_battles`) with the
same cache keys, so a check after an arena with the same judge asks only for the repeats; repeats ``2..N`` are
cached under their own keys (``arena/repeat<r>``), so re-running a check asks for nothing new. The result is a
typed :class:`~altbench.judges.schema.JudgeCheck` (``judge-check.json``), registered under each judge's
fingerprint for the judge cards (:mod:`altbench.judges.cards`). See docs/judges.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.judges import figures
from altbench.judges.cards import register
from altbench.judges.inputs import Battleground
from altbench.judges.schema import SCHEMA, JudgeCheck, JudgeReport
from altbench.metrics.model.options import OptionSyntax, option_syntax
from altbench.stats import defaults

log = logging.getLogger(__name__)


@dataclass
class CheckSettings:
    """judges: each judge's options (as ``ArenaSettings.judge``); repeats: answers per request (>= 1)."""

    judges: Sequence[Mapping[str, Any]]
    runs: Sequence[Path] = ()
    pairs: Sequence[Any] | None = None  # meta-eval judgments (pair records), instead of runs
    pairs_source: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    data_root: Path | None = None
    repeats: int = 1
    resamples: int = defaults.JUDGECHECK_RESAMPLES
    seed: int = defaults.SEED
    judge_syntax: OptionSyntax | None = None
    out: Path | None = None  # where the caller writes judge-check.json and the page (recorded for the cards)


def battleground(settings: CheckSettings) -> Battleground:
    from altbench.judges import inputs

    if settings.pairs is not None:
        if settings.runs:
            raise AltbenchError("judge-check: give runs or a pairs file, not both")
        return inputs.from_pairs(settings.pairs, settings.pairs_source)
    return inputs.from_runs(list(settings.runs), settings.split, settings.data_root)


def run_judge_check(settings: CheckSettings) -> JudgeCheck:
    if settings.judge_syntax is None:
        return _run(settings)
    with option_syntax(settings.judge_syntax):
        return _run(settings)


def _run(settings: CheckSettings) -> JudgeCheck:
    from altbench.arena.length_control import length_table, mean_lengths
    from altbench.arena.result import judge_options

    if not settings.judges:
        raise AltbenchError("judge-check: name at least one judge (--judge MODEL or --judge metric:paper/rougeL)")
    if settings.repeats < 1:
        raise AltbenchError(f"judge-check: repeats must be at least 1, got {settings.repeats}")
    options = [judge_options(j, "judge-check") for j in settings.judges]  # all checked before anything is asked
    ground = battleground(settings)
    chars, _ = length_table(ground.predictions, ground.items)
    reports, firsts = [], []
    for opts in options:
        report, first = _check_one(ground, opts, chars, settings)
        reports.append(report)
        firsts.append(first)
    names = _unique([r.card["label"] for r in reports])
    for report, name in zip(reports, names):
        report.card["label"] = name
    agreement = figures.between_judges(firsts, names, settings.resamples, settings.seed)
    split = ground.split
    inp = {"kind": ground.kind, "split": {"name": split.name, "sha256": split.sha256(), "items": len(ground.items)},
           "texts": [{"label": label, "mean_length": mean_lengths(preds, ground.items)}
                     for label, preds in zip(ground.labels, ground.predictions)],
           "battles": len(ground.items) * len(ground.pairs), **ground.source}
    if settings.out is not None:
        inp["out"] = str(Path(settings.out).absolute())
    if ground.kind == "runs":
        inp["runs"] = list(ground.labels)
    else:
        inp["pairs"] = len(ground.items)
    check_settings = {
        "repeats": settings.repeats, "resamples": settings.resamples, "seed": settings.seed, "level": 0.95,
        "over": "items", "length": "characters of the text as shown (stripped)",
        "slope": f"logistic regression of the verdict on (chars_a - chars_b) / 100, each decided battle from both "
                 f"sides, no intercept, prior sd {figures.SLOPE_PRIOR_SD:g} on the slope",
        "human_ties": "decided by a seeded coin (Pascal-50S protocol, as meta-eval); a judge tie: half a point",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    check = JudgeCheck(SCHEMA, inp, check_settings, reports, agreement)
    register(check)  # where every later judge card of these judges finds it
    return check


@dataclass
class Asked:
    """One judge's answers on a battleground: the first asking (the arena's cache keys) and the repeats."""

    first: Any  # BattleSet
    repeats: list[Any]
    identity: dict[str, Any]
    rubric: str
    card: dict[str, Any]
    battles: dict[str, Any]
    usage: dict[str, Any]


def ask(ground: Battleground, opts: dict[str, Any], repeats: int = 1) -> Asked:
    """Ask the judge (options as :func:`altbench.arena.result.judge_options` gives them) for every battle of
    ``ground``, ``repeats`` times; also what meta-eval's pairwise judging runs on."""
    from altbench.arena.battles import run_battles, summary
    from altbench.judges.cards import identity_card
    from altbench.metrics.model.judge.calls import usage_summary
    from altbench.metrics.model.judge.metric import item_key, make_caller

    backend, identity, rubric, cache, caller = make_caller(opts, ground.split)
    keys = [item_key(it) for it in ground.items]
    how = {"with_image": bool(identity.get("image_sent", opts["image"])),
           "show_references": bool(opts["references"])}
    first = run_battles(caller, identity, rubric, keys, ground.items, ground.predictions, ground.pairs, **how)
    again = [run_battles(caller, identity, rubric, keys, ground.items, ground.predictions, ground.pairs,
                         mode=f"arena/repeat{r}", **how) for r in range(2, repeats + 1)]
    judged = [o for bs in (first, *again) for o in bs.judged]
    usage = usage_summary(judged, opts["price_in"], opts["price_out"])
    battles = summary(first, len(ground.items) * len(ground.pairs), usage["from_cache"]["answers"])
    battles["requests_now"] = sum(1 for o in judged if o.sent)  # the repeats' too
    card = {**identity_card(identity, rubric), "location": backend.location,
            "cache": str(cache.path) if cache is not None else None}
    return Asked(first, again, identity, rubric, card, battles, usage)


def _check_one(ground: Battleground, opts: dict[str, Any], chars: Any, settings: CheckSettings):
    asked = ask(ground, opts, settings.repeats)
    first, repeats, card, battles, usage = asked.first, asked.repeats, asked.card, asked.battles, asked.usage
    pos, first_wins = figures.position(first, settings.resamples, settings.seed)
    human, extra = None, {}
    if ground.human is not None:
        human, extra = figures.human_accuracy(first, ground.human, ground.categories, settings.resamples,
                                              settings.seed)
    report = JudgeReport(card, battles, usage, pos, first_wins,
                         figures.self_consistency([first, *repeats], settings.resamples, settings.seed),
                         figures.length_bias(first, chars, settings.resamples, settings.seed), human, extra)
    if not battles["with_outcome"]:
        log.warning("judge-check: judge %s decided no battle (%s)", card["label"],
                    ", ".join(f"{k} {v}" for k, v in battles["failures"].items() if v))
    return report, first


def _unique(names: Sequence[str]) -> list[str]:
    out = []
    for k, name in enumerate(names):
        out.append(name if names.count(name) == 1 else f"{name} #{k + 1}")
    return out


def write_check(check: JudgeCheck, out_dir: Path) -> Path:
    """``out_dir/judge-check.json`` (the page is :func:`altbench.publish.judgecheck_page.render_judge_check_page`)."""
    from altbench.io import write_json_atomic

    path = Path(out_dir) / "judge-check.json"
    write_json_atomic(path, check.to_dict())
    return path
