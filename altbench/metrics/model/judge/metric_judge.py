"""Metric judges: a pairwise verdict from per-item metric scores against the references, offline.

``judge.model=metric:paper/rougeL`` (``--judge metric:paper/rougeL``) makes any lexical metric of either
convention (``paper/...``, ``coco/...``) or a model metric whose extra is installed (``model/clipscore``,
``model/bertscore``...) a judge: for a pairwise request it scores both alt-texts of the item with that metric,
through the scoring code of ``altbench score`` (:func:`altbench.run.scoring.score_split`, so CIDEr's document
frequencies come from the whole split, exactly as a run is scored), and the text with the better score wins
(higher wins, or lower for a lower-is-better metric such as the edit distance). Scores within
``judge.tie_tolerance`` (default ``1e-9``: float noise, i.e. equal scores) are a tie.

It plugs in where an API judge does: the arena, ``judge-check``, ``--metrics judge`` in pairwise mode against a
baseline run, and meta-eval's pairwise judging. It needs neither a key nor a network, and it is deterministic
and blind to the order shown (its position consistency and self-consistency are 1 by construction). Its
verdicts are not cached (re-scoring is cheap and exact); ``requests_now`` stays 0. An item the metric cannot
score (a model metric's unreadable image: NaN) has no verdict and counts as ``image``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from altbench.data.items import Item
from altbench.data.splits import Split
from altbench.errors import AltbenchError
from altbench.metrics.model.judge.calls import Job, Outcome
from altbench.metrics.model.options import option_name, option_setting

PREFIX = "metric:"
RUBRIC = "metric-verdict/1"  # higher score wins (lower for lower-is-better metrics); within the tolerance: tie
CONVENTIONS = ("paper", "coco", "model")


def is_metric_judge(options: Mapping[str, Any]) -> bool:
    return str(options.get("model") or "").startswith(PREFIX)


def metric_key(options: Mapping[str, Any]) -> str:
    """``metric:paper/rougeL`` -> ``paper/rougeL``."""
    return str(options["model"])[len(PREFIX):].strip()


def metric_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``judge.metric_options``: a mapping, or ``KEY=VALUE;KEY=VALUE`` (the model metric's own options)."""
    raw = options.get("metric_options")
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        return {str(k): v for k, v in raw.items()}
    out: dict[str, Any] = {}
    for part in str(raw).split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise AltbenchError(f"{option_name('judge', 'metric_options')} expects KEY=VALUE;KEY=VALUE (the model "
                                f"metric's options, e.g. model=/w/ViT-B-32.pt), got {part!r}")
        out[key.strip()] = value.strip()
    return out


def _known(convention: str) -> tuple[str, ...]:
    if convention == "paper":
        from altbench.metrics.paper.reference import METRICS
        return tuple(METRICS)
    if convention == "coco":
        from altbench.metrics.coco.score import METRICS as COCO
        return tuple(COCO)
    from altbench.metrics.model.registry import METRICS as MODEL
    return tuple(m for m in MODEL if m != "judge")  # a judge judged by itself is no metric judge


def preflight(options: Mapping[str, Any]) -> None:
    """Cheap checks: a known metric (its extra installed), pairwise mode, a tolerance >= 0."""
    key = metric_key(options)
    convention, _, name = key.partition("/")
    if convention not in CONVENTIONS or not name:
        raise AltbenchError(f"{option_name('judge', 'model')}: a metric judge is metric:CONVENTION/NAME with "
                            f"CONVENTION one of {', '.join(CONVENTIONS)} (e.g. metric:paper/rougeL), got "
                            f"{options['model']!r}")
    known = _known(convention)
    if name not in known:
        raise AltbenchError(f"{option_name('judge', 'model')}: unknown metric {key!r} for a metric judge (known "
                            f"{convention} metrics: {', '.join(known)})")
    if convention == "model":
        from altbench.metrics.model.options import OptionSyntax, option_syntax
        from altbench.metrics.model.registry import resolve

        where = option_name("judge", "metric_options")  # the model metric's options are set through this one
        inner = OptionSyntax(name=lambda family, key: f"{key} in {where}",
                             setting=lambda family, key, value: f"{key}={value} in {where}", source=where)
        with option_syntax(inner):
            resolve([name], {name if name != "refclipscore" else "clipscore": metric_options(options)})
    if options.get("mode", "pairwise") != "pairwise":
        raise AltbenchError(f"a metric judge gives pairwise verdicts only: set "
                            f"{option_setting('judge', 'mode', 'pairwise')} (for absolute scores, score the metric "
                            "itself)")
    tolerance = options.get("tie_tolerance", 0.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise AltbenchError(f"{option_name('judge', 'tie_tolerance')} must be a number >= 0, got {tolerance!r}")


def check_against(options: Mapping[str, Any]) -> None:
    """``--metrics judge`` pairwise mode: the other text must be a baseline run's, not the reference."""
    if options.get("against") == "reference":
        raise AltbenchError(f"a metric judge scores both texts against the references, so it cannot compare a "
                            f"prediction with the reference itself: set {option_setting('judge', 'against', 'RUN')} "
                            "(a baseline run folder)")


class MetricBackend:
    """What the judge's machinery needs of a backend: an identity and a location (no requests are sent)."""

    kind = "metric"
    concurrent = False

    def __init__(self, options: Mapping[str, Any]) -> None:
        from altbench import __version__

        self.key = metric_key(options)
        self.tolerance = float(options.get("tie_tolerance", 0.0))
        self.options = metric_options(options)
        self.location = f"altbench {__version__}: {self.key} of each text against the item's references"

    def identity(self) -> dict[str, Any]:
        return {"backend": self.kind, "model": self.key, "tie_tolerance": self.tolerance,
                "metric_options": dict(sorted(self.options.items()))}


class MetricCaller:
    """Answers pairwise jobs with the metric's verdict, as :class:`~altbench.metrics.model.judge.calls.Caller`
    answers them with a model's; one scoring pass per "column" of texts (see :func:`_columns`)."""

    def __init__(self, backend: MetricBackend, split: Split | None) -> None:
        self.backend = backend
        self.split = split
        self.down = False
        self.signature: str | None = None  # the metric's signature, once it has scored

    def run(self, jobs: Sequence[Job], items: Sequence[Item], parsers: Mapping[str, Any]) -> list[Outcome]:
        if any(job.mode != "pairwise" or job.texts is None for job in jobs):
            raise AltbenchError("a metric judge gives pairwise verdicts only")
        wanted = {(items[job.index].id, text) for job in jobs for text in job.texts or ()}
        scores, higher = self._scores(wanted, items)
        out = []
        for job in jobs:
            first, second = job.texts or ("", "")
            item_id = items[job.index].id
            out.append(self._verdict(scores[(item_id, first)], scores[(item_id, second)], higher))
        return out

    def _verdict(self, a: float, b: float, higher: bool) -> Outcome:
        key = self.backend.key
        if not (math.isfinite(a) and math.isfinite(b)):
            return Outcome("image", error=f"{key} could not score this item (e.g. its image cannot be read)")
        diff = (a - b) if higher else (b - a)
        winner = "tie" if abs(diff) <= self.backend.tolerance else "A" if diff > 0 else "B"
        why = f"{key}: A {a:.6g}, B {b:.6g} ({'higher' if higher else 'lower'} is better)"
        text = json.dumps({"justification": why, "winner": winner})
        return Outcome("ok", text=text, parsed=(winner, why))

    def _scores(self, wanted: set[tuple[str, str]], items: Sequence[Item]
                ) -> tuple[dict[tuple[str, str], float], bool]:
        from altbench.run.predictions import PredictionRecord
        from altbench.run.scoring import score_split

        convention, _, name = self.backend.key.partition("/")
        split = self.split or Split("judged", tuple(items), "in memory (metric judge)", "test")
        scores: dict[tuple[str, str], float] = {}
        higher = True
        for column in _columns(wanted):
            records = {i: PredictionRecord(i, text, None) for i, text in column.items()}
            model = [name] if convention == "model" else []
            args = {("clipscore" if name == "refclipscore" else name): self.backend.options} if model else None
            scored = score_split(split, records, "paper" if model else convention, list(records), resamples=1,
                                 metrics=model, metric_args=args)  # per-item scores only: no interval needed
            m = scored.metrics[self.backend.key]
            higher, self.signature = m.higher_is_better, m.signature
            for i, item_id in enumerate(scored.scored_ids):
                scores[(item_id, column[item_id])] = float(m.per_item[i])
        return scores, higher


def _columns(wanted: set[tuple[str, str]]) -> list[dict[str, str]]:
    """The (item, text) pairs as few prediction sets as possible (at most one text per item in each), so
    each set is scored like a run: the k-th distinct text of every item goes to set k."""
    by_item: dict[str, list[str]] = {}
    for item_id, text in sorted(wanted):
        by_item.setdefault(item_id, []).append(text)
    columns: list[dict[str, str]] = []
    for item_id, texts in by_item.items():
        for k, text in enumerate(texts):
            if k == len(columns):
                columns.append({})
            columns[k][item_id] = text
    return columns
