"""The LLM/VLM judge as a metric: options, preflight, and ``compute`` (absolute and pairwise modes).

Absolute mode: for each item the judge scores the prediction 1-5 on every rubric criterion with a short
justification; ``model/judge.<criterion>`` are the per-criterion means and ``model/judge`` the mean of the
five (1..5). Pairwise mode: ``model/judge.pairwise`` is the prediction's win rate against the reference or a
baseline run's predictions (see :mod:`altbench.metrics.model.judge.pairwise`).

Items without a judgement (unparsable answer, API failure, unreadable image, no baseline prediction) are NaN
per item: left out of the means and of the bootstrap, counted in ``failures`` as ``parse`` / ``api`` /
``image`` / ``baseline``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from altbench.data.images import image_bytes
from altbench.data.items import Item
from altbench.data.splits import Split
from altbench.errors import AltbenchError, MissingResourceError
from altbench.metrics.base import signature
from altbench.metrics.model.base import (
    MetricRequest,
    MetricResult,
    defined_scores,
    metric_cache,
    sha256_text,
)
from altbench.metrics.model.judge import pairwise
from altbench.metrics.model.judge.cache import JudgeCache, cache_key
from altbench.metrics.model.judge.calls import Caller, Job, Outcome, usage_summary
from altbench.metrics.model.judge.parsing import (
    absolute_distributions,
    expected_score,
    parse_absolute,
    parse_pairwise,
)
from altbench.metrics.model.judge.prompts import absolute_prompt, pairwise_prompt, rubric_id
from altbench.metrics.model.judge.rubric import CRITERION_NAMES
from altbench.metrics.model.options import option_name, option_setting

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.openai.com/v1"
OPTIONS: dict[str, Any] = {
    "backend": "openai",  # openai: any OpenAI-compatible endpoint; transformers: a local VLM folder
    # openai: the served model name; transformers: the checkpoint folder (or hub id); metric:CONV/NAME: a metric
    # judge (altbench.metrics.model.judge.metric_judge), whatever the backend
    "model": None,
    "url": None,  # openai: base URL; default $OPENAI_BASE_URL, else https://api.openai.com/v1
    "api_key_env": "OPENAI_API_KEY",  # the environment variable that holds the key (the key is never stored)
    "mode": "absolute",  # absolute | pairwise | both
    "against": "reference",  # pairwise: reference, or a baseline run folder / predictions.jsonl
    "weighting": "expected",  # expected: probability-weighted where log-probabilities came back; argmax
    "image": True,  # send the image (false: a text-only LLM judge, which needs references=true)
    "references": False,  # show the item's reference alt-text to the judge as a hint
    "temperature": 0.0,
    "max_tokens": 512,
    "top_logprobs": 5,  # 0: do not ask for log-probabilities
    "json_mode": True,  # openai: response_format json_object
    "image_max_side": 768,
    "concurrency": 4,
    "timeout": 60,
    "retries": 3,
    "backoff": 1.0,  # seconds before the first retry, doubling
    "max_consecutive_failures": 8,
    "retry_parse_failures": False,  # ask again where the cached answer was unparsable
    "price_in": None,  # USD per million prompt tokens, for the cost estimate
    "price_out": None,  # USD per million completion tokens
    "device": "auto",  # transformers backend
    "dtype": "auto",  # transformers backend
    "tie_tolerance": 1e-9,  # metric judge: scores this close are a tie
    "metric_options": None,  # metric judge on a model metric: its options, KEY=VALUE;KEY=VALUE or a mapping
}
MODES = ("absolute", "pairwise", "both")
BACKENDS = ("openai", "transformers")


def preflight(options: dict[str, Any]) -> None:
    """Cheap checks before anything is loaded; messages name the options as the calling command takes them
    (:mod:`altbench.metrics.model.options`)."""
    from altbench.metrics.model.judge import metric_judge

    if metric_judge.is_metric_judge(options):
        metric_judge.preflight(options)
        metric_judge.check_against(options)  # None: the arena, judge-check and meta-eval bring both texts
        if options["against"] not in ("reference", None):
            pairwise.baseline_predictions(str(options["against"]))
        return
    if options["backend"] not in BACKENDS:
        raise AltbenchError(f"{option_name('judge', 'backend')} must be one of {', '.join(BACKENDS)}, "
                            f"got {options['backend']!r}")
    if options["mode"] not in MODES:
        raise AltbenchError(f"{option_name('judge', 'mode')} must be one of {', '.join(MODES)}, "
                            f"got {options['mode']!r}")
    if options["weighting"] not in ("expected", "argmax"):
        raise AltbenchError(f"{option_name('judge', 'weighting')} must be expected or argmax, "
                            f"got {options['weighting']!r}")
    if not options["image"] and not options["references"]:
        raise AltbenchError(f"{option_setting('judge', 'image', 'false')} (a text-only judge) needs "
                            f"{option_setting('judge', 'references', 'true')}: it has nothing else to check the "
                            "alt-text against")
    if not options["model"]:
        what = "the served model name, e.g. gpt-4o-mini" if options["backend"] == "openai" else \
            "a local VLM checkpoint folder"
        raise MissingResourceError(f"judge: no judge model; pass {option_setting('judge', 'model', 'MODEL')} "
                                   f"({what})")
    if options["backend"] == "openai":
        from altbench.net.openai_client import LOCAL_HOSTS

        host = urlparse(judge_url(options)).hostname or ""
        if host not in LOCAL_HOSTS and not os.environ.get(options["api_key_env"]):
            raise MissingResourceError(f"judge: ${options['api_key_env']} is not set; export the API key for {host} "
                                       "there (it is read from the environment only, never written to disk)")
    else:
        from altbench.metrics.model.base import require_packages

        require_packages("judge (transformers backend)", ["torch", "transformers"])
    if options["mode"] != "absolute" and options["against"] not in ("reference", None):
        pairwise.baseline_predictions(str(options["against"]))  # fails early on a missing file


def judge_url(options: dict[str, Any]) -> str:
    return str(options["url"] or os.environ.get("OPENAI_BASE_URL") or DEFAULT_URL)


def make_backend(options: dict[str, Any]):
    from altbench.metrics.model.judge.backends import OpenAIBackend, TransformersBackend

    if options["backend"] == "openai":
        return OpenAIBackend(
            str(options["model"]), judge_url(options), str(options["api_key_env"]),
            temperature=float(options["temperature"]), max_tokens=int(options["max_tokens"]),
            top_logprobs=int(options["top_logprobs"]), json_mode=bool(options["json_mode"]),
            image_max_side=int(options["image_max_side"]), timeout=float(options["timeout"]),
            retries=int(options["retries"]), backoff=float(options["backoff"]))
    return TransformersBackend(str(options["model"]), max_tokens=int(options["max_tokens"]),
                               top_logprobs=int(options["top_logprobs"]), device=str(options["device"]),
                               dtype=str(options["dtype"]), image_max_side=int(options["image_max_side"]))


def item_key(item: Item) -> str:
    """The item's id plus a hash of what the judge sees of it (question, references, image bytes)."""
    data = image_bytes(item)
    image = hashlib.sha256(data).hexdigest() if data is not None else "missing"
    return f"{item.id}@{sha256_text(item.question, item.references, image)[:16]}"


def make_caller(opts: dict[str, Any], split: Split | None = None
                ) -> tuple[Any, dict[str, Any], str, JudgeCache | None, Any]:
    """(backend, identity, rubric id, cache, caller) for these judge options; the arena asks through it too.

    A metric judge (``model=metric:...``) gets a :class:`~altbench.metrics.model.judge.metric_judge.MetricCaller`
    that scores the texts against ``split``'s references (no cache: re-scoring is exact and cheap).
    """
    from altbench.metrics.model.judge import metric_judge

    if metric_judge.is_metric_judge(opts):
        mb = metric_judge.MetricBackend(opts)
        identity = {**mb.identity(), "image_sent": False, "references": True}
        return mb, identity, metric_judge.RUBRIC, None, metric_judge.MetricCaller(mb, split)
    backend = make_backend(opts)
    identity = {**backend.identity(), "image_sent": bool(opts["image"]), "references": bool(opts["references"])}
    rubric = rubric_id()
    cache = JudgeCache(metric_cache("judge") / f"{sha256_text(identity)[:16]}.jsonl")
    caller = Caller(backend, cache, judge_label=str(identity["model"]), rubric=rubric, with_image=bool(opts["image"]),
                    retry_parse_failures=bool(opts["retry_parse_failures"]),
                    max_consecutive_failures=int(opts["max_consecutive_failures"]),
                    concurrency=int(opts["concurrency"]))
    return backend, identity, rubric, cache, caller


def compute(request: MetricRequest) -> MetricResult:
    from altbench.judges.cards import judge_card

    opts = request.options
    backend, identity, rubric, cache, caller = make_caller(opts, request.split)
    mode = str(opts["mode"])
    keys = [item_key(item) for item in request.items]
    jobs: list[Job] = []
    if mode in ("absolute", "both"):
        for i, (item, pred) in enumerate(zip(request.items, request.predictions)):
            refs = item.references if opts["references"] else None
            prompt = absolute_prompt(item.context, pred, refs, with_image=bool(opts["image"]))
            jobs.append(Job(i, "absolute", cache_key(identity, rubric, keys[i], "absolute", pred), prompt))
    against, others, label = None, [], ""
    if mode in ("pairwise", "both"):
        against = str(opts["against"])
        jobs_pw, others, label = _pairwise_jobs(request, identity, rubric, keys, against)
        jobs.extend(jobs_pw)
    parsers = {"absolute": (parse_absolute, absolute_distributions), "pairwise": (parse_pairwise, pairwise.weigh)}
    outcomes = caller.run(jobs, request.items, parsers)

    weighted = opts["weighting"] == "expected"
    settings = _settings(identity, rubric, opts)
    info: dict[str, Any] = {**identity, "location": backend.location, "rubric": rubric,
                            "cache": str(cache.path) if cache is not None else None,
                            "served_models": sorted({o.model for o in outcomes if o.model}),
                            "usage": usage_summary(outcomes, opts["price_in"], opts["price_out"]),
                            "card": judge_card(identity, rubric)}  # identity and reliability (docs/judges.md)
    result = MetricResult()
    n = len(request.items)
    absolute = {j.index: o for j, o in zip(jobs, outcomes) if j.mode == "absolute"}
    if absolute:
        _absolute_scores(result, absolute, n, weighted, settings, info)
    if against is not None:
        by_item: dict[int, dict[str, Outcome]] = {}
        for j, o in zip(jobs, outcomes):
            if j.mode == "pairwise":
                by_item.setdefault(j.index, {})[j.order] = o
        _pairwise_scores(result, by_item, others, n, weighted, {**settings, "against": label}, info)
    _log_usage(info["usage"], result)
    return result


def _pairwise_jobs(request: MetricRequest, identity: dict, rubric: str, keys: Sequence[str], against: str
                   ) -> tuple[list[Job], list[str | None], str]:
    if against == "reference":
        others: list[str | None] = [item.references[0] if item.references else None for item in request.items]
        label = "reference"
    else:
        baseline, label = pairwise.baseline_predictions(against)
        others = [baseline.get(item.id) for item in request.items]
    show_refs = bool(request.options["references"]) and against != "reference"
    jobs = []
    for i, (item, pred) in enumerate(zip(request.items, request.predictions)):
        other = others[i]
        if other is None or other.strip() == pred.strip():
            continue  # no baseline: unscored; identical: a tie without asking
        refs = item.references if show_refs else None
        for order in pairwise.ORDERS:
            a, b = (pred, other) if order == "AB" else (other, pred)
            prompt = pairwise_prompt(item.context, a, b, refs, with_image=bool(request.options["image"]))
            key = cache_key(identity, rubric, keys[i], "pairwise", pred, [order, other])
            jobs.append(Job(i, "pairwise", key, prompt, order, (a, b)))
    return jobs, others, label


def _settings(identity: dict, rubric: str, opts: dict) -> dict[str, Any]:
    s: dict[str, Any] = {"rubric": rubric, "backend": identity["backend"], "model": identity["model"]}
    if identity["backend"] == "metric":
        return {**s, "tie_tolerance": identity["tie_tolerance"], "refs": "scored-against"}
    if identity.get("sha256"):
        s["sha256"] = str(identity["sha256"])[:16]
    s.update(temperature=identity["temperature"], max_tokens=identity["max_tokens"],
             image=identity.get("image", "pil") if opts["image"] else "none",
             refs="shown" if opts["references"] else "hidden")
    top = int(identity.get("top_logprobs") or 0)
    s["weighting"] = f"expected(top{top})-else-argmax" if opts["weighting"] == "expected" and top else "argmax"
    return s


def _failures(outcomes: Sequence[Outcome | None]) -> dict[str, int]:
    counts = {"parse": 0, "api": 0}
    for o in outcomes:
        if o is not None and o.status != "ok":
            counts[o.status] = counts.get(o.status, 0) + 1
    return counts


def _absolute_scores(result: MetricResult, outcomes: dict[int, Outcome], n: int, weighted: bool,
                     settings: dict, info: dict) -> None:
    per_criterion: dict[str, list[float]] = {c: [math.nan] * n for c in CRITERION_NAMES}
    n_weighted = 0
    for i, o in outcomes.items():
        if o.status != "ok":
            continue
        used = False
        for c in CRITERION_NAMES:
            dist = o.dists.get(c) if weighted else None
            per_criterion[c][i] = expected_score(dist) if dist else float(o.parsed[c][0])
            used |= bool(dist)
        n_weighted += used
    overall = [sum(per_criterion[c][i] for c in CRITERION_NAMES) / len(CRITERION_NAMES) for i in range(n)]
    failures = _failures(list(outcomes.values()))
    abs_info = {**info, "mode": "absolute", "weighted_items": n_weighted}
    result.scores["judge"] = defined_scores(
        "judge", overall, signature("judge", **settings, mode="absolute", score="mean-of-criteria(1-5)"))
    for c in CRITERION_NAMES:
        result.scores[f"judge.{c}"] = defined_scores(
            f"judge.{c}", per_criterion[c], signature(f"judge.{c}", **settings, mode="absolute", score="1-5"))
    for key in ("judge", *(f"judge.{c}" for c in CRITERION_NAMES)):
        result.failures[key] = dict(failures)
        result.models[key] = abs_info


def _pairwise_scores(result: MetricResult, by_item: dict[int, dict[str, Outcome]], others: list[str | None],
                     n: int, weighted: bool, settings: dict, info: dict) -> None:
    values = [math.nan] * n
    failures = {"parse": 0, "api": 0}
    valid: dict[int, tuple[Outcome, Outcome]] = {}
    for i in range(n):
        if others[i] is None:
            failures["baseline"] = failures.get("baseline", 0) + 1
            continue
        pair = by_item.get(i)
        if pair is None:  # identical texts
            values[i] = 0.5
            continue
        ab, ba = pair["AB"], pair["BA"]
        bad = [o.status for o in (ab, ba) if o.status != "ok"]
        if bad:
            reason = "api" if "api" in bad else bad[0]
            failures[reason] = failures.get(reason, 0) + 1
            continue
        values[i] = (pairwise.preference(ab, "AB", weighted) + pairwise.preference(ba, "BA", weighted)) / 2
        valid[i] = (ab, ba)
    result.scores["judge.pairwise"] = defined_scores(
        "judge.pairwise", values,
        signature("judge.pairwise", **settings, mode="pairwise", orders="AB+BA", score="win=1,tie=0.5"))
    result.failures["judge.pairwise"] = failures
    result.models["judge.pairwise"] = {**info, "mode": "pairwise", "against": settings["against"],
                                       **pairwise.position_stats(valid)}


def _log_usage(usage: dict, result: MetricResult) -> None:
    now, reused = usage["requests"], usage["from_cache"]
    cost = f", about ${now['cost_usd']:.4f}" if now["cost_usd"] is not None else ""
    log.info("judge: %d answers now (%d prompt + %d completion tokens%s), %d from the cache, %d API failures",
             now["answers"], now["prompt_tokens"], now["completion_tokens"], cost, reused["answers"],
             now["api_failures"])
    if now["api_failures"]:
        log.warning("judge: %d request(s) failed; re-run the same command to ask only for those (answers are "
                    "cached)", now["api_failures"])
    parse = max((f.get("parse", 0) for f in result.failures.values()), default=0)
    if parse:
        log.warning("judge: %d answer(s) were not in the required form (counted as parse failures, not scored)",
                    parse)
