"""Meta-evaluation end to end: score every candidate with altbench's metrics, then measure agreement.

Each candidate becomes one scoring unit (an item of an in-memory split with the judgment's image, context and
references); a pair contributes its two candidates. Reference-based metrics (the ``paper`` / ``coco``
conventions, through :func:`altbench.run.scoring.score_split`, i.e. the numbers ``altbench score`` gives) run
only when every judgment has a reference; model metrics (``--metrics clipscore,judge,...``) run through the
same registry as ``altbench run``. Lower-is-better metrics (edit distance) are negated before any agreement is
measured, so "agrees with humans" always means a positive tau and a high accuracy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.metaeval import agreement
from altbench.metaeval.records import Judgment, PairJudgment, ScoreJudgment
from altbench.stats import defaults

log = logging.getLogger(__name__)

SCHEMA = "altbench-meta-eval/1"
PLATFORM = "meta-eval"


def _units(judgments: Sequence[Judgment]) -> list[tuple[str, Judgment, str]]:
    units = []
    for j in judgments:
        if isinstance(j, ScoreJudgment):
            units.append((j.id, j, j.candidate))
        else:
            units += [(f"{j.id}#a", j, j.candidate_a), (f"{j.id}#b", j, j.candidate_b)]
    return units


def score_units(judgments: Sequence[Judgment], conventions: Sequence[str], metrics: Sequence[str],
                metric_args: Mapping[str, Any] | None, required: bool = True, executor: Any = None
                ) -> tuple[dict[str, list[float]], dict[str, dict], list[str]]:
    """(metric key -> per-unit score, metric key -> {signature, higher_is_better}, notes); ``executor``: the
    command's worker processes for the scoring (:mod:`altbench.executor`)."""
    from altbench.data.demo import INSTRUCTION
    from altbench.data.items import Item
    from altbench.data.splits import Split
    from altbench.run.predictions import PredictionRecord
    from altbench.run.scoring import score_split

    units = _units(judgments)
    items = []
    for uid, j, _ in units:
        image = Path(j.image) if j.image else Path(f"<no image for {j.id}>")
        items.append(Item(id=uid, image=image.absolute(), image_root=image.absolute().parent,
                          question=INSTRUCTION + j.context, context=j.context, references=j.references,
                          platform=PLATFORM))
    split = Split(PLATFORM, tuple(items), "altbench meta-eval (in memory)", "test")
    preds = [text for _, _, text in units]
    scores: dict[str, list[float]] = {}
    info: dict[str, dict] = {}
    notes: list[str] = []

    def keep(key: str, m) -> None:
        sign = 1.0 if m.higher_is_better else -1.0
        scores[key] = [sign * float(v) for v in m.per_item]
        info[key] = {"signature": m.signature, "higher_is_better": m.higher_is_better, "negated": sign < 0}

    if conventions and all(j.references for j in judgments):
        records = {uid: PredictionRecord(uid, text, None) for uid, _, text in units}
        convention = "both" if set(conventions) == {"paper", "coco"} else conventions[0]
        scored = score_split(split, records, convention, [u for u, _, _ in units], executor=executor,
                             resamples=1)  # only the per-item scores are used: no interval needed
        for key, m in scored.metrics.items():
            if not key.startswith("diag/"):
                keep(key, m)
    elif conventions:
        notes.append("reference-based metrics skipped: some judgments have no reference")
    if metrics:
        from altbench.metrics.model.registry import score_model_metrics

        out = score_model_metrics(metrics, split, items, preds, metric_args)
        for key, m in out.scores.items():
            keep(key, m)
            info[key]["failures"] = out.failures.get(key, {})
            if (out.models.get(key) or {}).get("card"):
                info[key]["card"] = out.models[key]["card"]  # a judge's card (docs/judges.md)
    if not scores and required:
        raise AltbenchError("meta-eval: no metric to evaluate (the judgments have no references: name "
                            "reference-free metrics with --metrics, e.g. clipscore or judge)")
    return scores, info, notes


def meta_evaluate(judgments: Sequence[Judgment], *, conventions: Sequence[str] = ("paper",),
                  metrics: Sequence[str] = (), metric_args: Mapping[str, Any] | None = None,
                  resamples: int = defaults.METAEVAL_RESAMPLES, seed: int = defaults.SEED,
                  source: Mapping[str, Any] | None = None, jobs: int | None = 1) -> dict[str, Any]:
    """The JSON-ready result (schema ``altbench-meta-eval/1``, see docs/meta-eval.md). ``jobs``: worker
    processes for the scoring and the resamples' Kendall taus (:mod:`altbench.executor`; changes no number): 1
    (default) none, None the usable cores."""
    from altbench.executor import Executor
    from altbench.run.scoring import warm_up_tasks

    with Executor(jobs, warm_up_tasks(conventions)) as executor:
        return _meta_evaluate(judgments, conventions, metrics, metric_args, resamples, seed, source, executor)


def _meta_evaluate(judgments: Sequence[Judgment], conventions: Sequence[str], metrics: Sequence[str],
                   metric_args: Mapping[str, Any] | None, resamples: int, seed: int,
                   source: Mapping[str, Any] | None, executor: Any) -> dict[str, Any]:
    from altbench.metaeval import judged_pairs

    if not judgments:
        raise AltbenchError("meta-eval: no judgments")
    pair_judge = judged_pairs.pairwise_judge_options(metrics, metric_args)
    per_unit, unit_args = (metrics, metric_args) if pair_judge is None else \
        judged_pairs.other_metrics(metrics, metric_args)
    raw, info, notes = score_units(judgments, conventions, per_unit, unit_args, required=pair_judge is None,
                                   executor=executor)
    units = _units(judgments)
    index = {uid: k for k, (uid, _, _) in enumerate(units)}
    score_js = [j for j in judgments if isinstance(j, ScoreJudgment)]
    pair_js = [j for j in judgments if isinstance(j, PairJudgment)]
    labels = agreement.human_labels([p.preference for p in pair_js], seed)
    result_metrics: dict[str, Any] = {}
    for key, values in raw.items():
        entry: dict[str, Any] = dict(info[key])
        if score_js:
            ms = [values[index[j.id]] for j in score_js]
            entry["item"] = agreement.item_correlation(ms, [j.human for j in score_js], resamples, seed,
                                                       executor.starmap)
            with_model = [(m, j) for m, j in zip(ms, score_js) if j.model is not None]
            if len({j.model for _, j in with_model}) >= 2:
                entry["system"] = agreement.system_correlation(
                    [m for m, _ in with_model], [j.human for _, j in with_model], [j.model for _, j in with_model],
                    resamples, seed)
        if pair_js:
            points = agreement.pair_points([values[index[f"{p.id}#a"]] for p in pair_js],
                                           [values[index[f"{p.id}#b"]] for p in pair_js], labels)
            entry["pairwise"] = agreement.pairwise_accuracy(points, [p.category for p in pair_js], resamples, seed)
        result_metrics[key] = entry
    if pair_judge is not None:
        if pair_js:
            result_metrics[judged_pairs.KEY] = judged_pairs.evaluate(pair_js, pair_judge, resamples, seed)
        else:
            notes.append("the pairwise judge compares the two candidates of a pair record; there are none")
        if score_js:
            notes.append("a pairwise judge does not score single candidates: the score records are evaluated by "
                         "the other metrics only")
    if not result_metrics:
        raise AltbenchError("meta-eval: no metric to evaluate (name one with --metrics or --convention)")
    return {
        "schema": SCHEMA,
        "input": {**(source or {}), "judgments": len(judgments), "scores": len(score_js), "pairs": len(pair_js),
                  "human_ties": sum(1 for p in pair_js if p.preference == "tie"),
                  "models": sorted({j.model for j in score_js if j.model is not None})},
        "settings": {"conventions": list(conventions), "metrics": list(metrics), "resamples": int(resamples),
                     "seed": int(seed), "level": 0.95,
                     "human_ties": "decided by a seeded coin (Pascal-50S protocol)",
                     "metric_ties": "half a point"},
        "metrics": result_metrics,
        "notes": notes,
    }
