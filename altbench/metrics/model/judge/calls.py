"""Asking the judge: cache look-up, concurrent calls, a circuit breaker, usage accounting.

Every request becomes an :class:`Outcome`: an answer (``ok``, or ``parse`` when it is not in the required
form), or no answer (``api``: the backend failed; ``image``: the item's image cannot be read). Answers are
written to the cache as they arrive, so an interruption or an outage loses nothing already judged; API
failures are never cached. After ``max_consecutive_failures`` API failures in a row the judge is considered
down: the remaining requests are not sent and count as API failures, which the next run fills in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from altbench.data.images import ImageLoadError, load_image
from altbench.data.items import Item
from altbench.metrics.model.judge.backends import Completion, JudgeAPIError
from altbench.metrics.model.judge.cache import JudgeCache
from altbench.metrics.model.judge.parsing import ParseError
from altbench.metrics.model.judge.prompts import Prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One request: ``order`` is ``AB`` (the prediction is shown as A) or ``BA`` for a pairwise judgement;
    ``texts``: a pairwise request's two alt-texts as shown (A, B), what a metric judge compares."""

    index: int
    mode: str
    key: str
    prompt: Prompt
    order: str | None = None
    texts: tuple[str, str] | None = None


@dataclass
class Outcome:
    status: str  # ok | parse | api | image
    text: str | None = None
    parsed: Any = None
    dists: dict[str, dict[str, float]] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    error: str | None = None
    model: str | None = None
    sent: bool = False  # the request went to the backend now (not from the cache, not held back by the breaker)


Parser = Callable[[str], Any]
Weigher = Callable[[str, Any], dict[str, dict[str, float]]]  # (text, token logprobs) -> distributions


class Caller:
    def __init__(self, backend: Any, cache: JudgeCache, *, judge_label: str, rubric: str, with_image: bool,
                 retry_parse_failures: bool = False, max_consecutive_failures: int = 8,
                 concurrency: int = 4) -> None:
        self.backend = backend
        self.cache = cache
        self.judge_label = judge_label
        self.rubric = rubric
        self.with_image = with_image
        self.retry_parse_failures = retry_parse_failures
        self.limit = max(1, int(max_consecutive_failures))
        self.concurrency = max(1, int(concurrency)) if getattr(backend, "concurrent", True) else 1
        self._lock = threading.Lock()
        self._failures_in_row = 0
        self.down = False

    def run(self, jobs: Sequence[Job], items: Sequence[Item], parsers: dict[str, tuple[Parser, Weigher]]
            ) -> list[Outcome]:
        def one(job: Job) -> Outcome:
            return self._one(job, items[job.index], *parsers[job.mode])

        if self.concurrency == 1 or len(jobs) <= 1:
            return [one(job) for job in jobs]
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, jobs))

    def _one(self, job: Job, item: Item, parse: Parser, weigh: Weigher) -> Outcome:
        entry = self.cache.get(job.key)
        if entry is not None:
            outcome = _from_text(entry["text"], parse, entry.get("dists") or {}, entry.get("usage") or {},
                                 entry.get("model"), cached=True)
            if outcome.status == "ok" or not self.retry_parse_failures:
                return outcome
        if self.down:
            return Outcome("api", error=f"not sent: the judge failed {self.limit} times in a row")
        image = None
        if self.with_image:
            try:
                image = load_image(item)
            except ImageLoadError as exc:
                return Outcome("image", error=str(exc))
        try:
            completion: Completion = self.backend.complete(job.prompt, image)
        except JudgeAPIError as exc:
            self._record(ok=False, error=str(exc))
            return Outcome("api", error=str(exc), sent=True)
        self._record(ok=True)
        dists = weigh(completion.text, completion.logprobs) if completion.logprobs else {}
        self.cache.put({
            "key": job.key, "judge": self.judge_label, "rubric": self.rubric, "item": item.id, "mode": job.mode,
            "order": job.order, "text": completion.text, "dists": dists, "usage": completion.usage,
            "model": completion.model, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        return _from_text(completion.text, parse, dists, completion.usage, completion.model, cached=False, sent=True)

    def _record(self, ok: bool, error: str = "") -> None:
        with self._lock:
            if ok:
                self._failures_in_row = 0
                return
            self._failures_in_row += 1
            if self._failures_in_row >= self.limit and not self.down:
                self.down = True
                log.warning("judge: %d API failures in a row (last: %s); not sending the remaining requests",
                            self._failures_in_row, error)


def _from_text(text: str, parse: Parser, dists: dict, usage: dict, model: str | None, cached: bool,
               sent: bool = False) -> Outcome:
    try:
        parsed = parse(text)
    except ParseError as exc:
        return Outcome("parse", text=text, usage=usage, cached=cached, error=str(exc), model=model, sent=sent)
    return Outcome("ok", text=text, parsed=parsed, dists=dists, usage=usage, cached=cached, model=model, sent=sent)


def usage_summary(outcomes: Sequence[Outcome], price_in: float | None, price_out: float | None
                  ) -> dict[str, dict[str, Any]]:
    """Tokens (and cost, given prices in USD per million tokens) of the requests made now and of those reused."""
    out: dict[str, dict[str, Any]] = {}
    for label, cached in (("requests", False), ("from_cache", True)):
        answered = [o for o in outcomes if o.cached is cached and o.text is not None]
        prompt = sum(o.usage.get("prompt_tokens", 0) for o in answered)
        completion = sum(o.usage.get("completion_tokens", 0) for o in answered)
        cost = None
        if price_in is not None and price_out is not None:
            cost = round((prompt * float(price_in) + completion * float(price_out)) / 1e6, 6)
        out[label] = {"answers": len(answered), "prompt_tokens": prompt, "completion_tokens": completion,
                      "cost_usd": cost}
    out["requests"]["api_failures"] = sum(1 for o in outcomes if o.status == "api")
    return out
