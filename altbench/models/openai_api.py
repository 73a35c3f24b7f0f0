"""An adapter for any OpenAI-compatible chat-completions endpoint with image input.

GPT-4o, Gemini's OpenAI-compatible endpoint, a vLLM (``vllm serve``) or llama.cpp server: anything that
takes ``POST {base_url}/chat/completions`` with an ``image_url`` content part. Standard library only.

- The image goes inline as a data URL (PNG by default; images larger than ``max_side`` are shrunk first).
- At most ``concurrency`` requests are in flight (a thread pool; give ``--batch-size`` at least that).
- 429, 5xx, 408, timeouts, dropped connections and unparseable answers are retried up to ``max_retries``
  times with exponential backoff and jitter (a ``Retry-After`` header is honoured, capped at
  ``max_backoff``). What still fails is a failed item with its reason: counted, never an empty prediction.
  Other 4xx answers fail their item at once; 401/403 stop the run (the key is wrong, every item would fail).
- Token usage is kept per item in the prediction's ``meta`` and logged as running totals.
- The API key is read from the environment variable ``api_key_env`` and kept in memory only: it is in no
  fingerprint, prediction, result or error message.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError
from altbench.models.base import Adapter, Generation
from altbench.models.prompts import check_style
from altbench.net.openai_client import (
    LOCAL_HOSTS,
    RETRY_STATUS,
    ChatClient,
    FatalError,
    RetriesExhausted,
    RetryableError,
    image_data_url,
    public_url,
)

log = logging.getLogger(__name__)

__all__ = ["LOCAL_HOSTS", "RETRY_STATUS", "OpenAIChatAdapter"]


class OpenAIChatAdapter(Adapter):
    """Zero-shot alt-text from an OpenAI-compatible chat-completions API.

    model:        the API's model name (``gpt-4o``, ``gemini-2.0-flash``, the served name of a vLLM model).
    base_url:     the API root, up to and including ``/v1`` (``.../chat/completions`` is appended).
    api_key_env:  environment variable holding the key; a server on this machine may need none.
    prompt:       ``chat`` (image, then the item's question as one user turn) or ``plain`` (the same).
    system:       optional system message.
    max_tokens, temperature, top_p, seed: sent as given (``max_tokens_param`` renames the first, e.g.
                  ``max_completion_tokens`` for newer OpenAI models).
    concurrency, max_retries, timeout, backoff, max_backoff: transport (not in the fingerprint).
    image_format: ``png`` (lossless) or ``jpeg``; max_side: longest side sent; detail: OpenAI's image detail.
    """

    uses_images = True

    def __init__(
        self,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key_env: str = "OPENAI_API_KEY",
        prompt: str = "chat",
        system: str | None = None,
        max_tokens: int = 300,
        max_tokens_param: str = "max_tokens",
        temperature: float | None = 0.0,
        top_p: float | None = None,
        seed: int | None = None,
        concurrency: int = 4,
        max_retries: int = 5,
        timeout: float = 60.0,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        image_format: str = "png",
        max_side: int | None = 2048,
        detail: str | None = None,
    ) -> None:
        if check_style(prompt) == "paper":
            raise AltbenchError(
                "prompt=paper is the reference code's LLaVA prompt; API models take prompt=chat"
            )
        if image_format not in ("png", "jpeg"):
            raise AltbenchError(f"image_format must be png or jpeg, got {image_format!r}")
        if int(concurrency) < 1 or int(max_retries) < 0:
            raise AltbenchError("concurrency must be >= 1 and max_retries >= 0")
        self.model = str(model)
        self.client = ChatClient(base_url, api_key_env, label=self.model, timeout=float(timeout),
                                 max_retries=int(max_retries), backoff=float(backoff), max_backoff=float(max_backoff))
        self.base_url = self.client.base_url
        self.url = self.client.url
        self.api_key_env = api_key_env
        self.system = system
        self.max_tokens = int(max_tokens)
        self.max_tokens_param = max_tokens_param
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.concurrency = int(concurrency)
        self.image_format = image_format
        self.max_side = int(max_side) if max_side else None
        self.detail = detail
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="altbench-api")
        self._lock = threading.Lock()
        self.usage_totals = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}

    # -- the adapter interface --------------------------------------------------------------------------

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        if images is None or len(images) != len(items):
            raise AltbenchError("the API adapter needs one image per item")
        futures = [self._pool.submit(self._one, item, image) for item, image in zip(items, images)]
        gens = [f.result() for f in futures]
        with self._lock:
            totals = dict(self.usage_totals)
        log.info(
            "%s usage so far: %d requests, %d prompt + %d completion tokens",
            self.model,
            totals["requests"],
            totals["prompt_tokens"],
            totals["completion_tokens"],
        )
        return gens

    def fingerprint(self) -> dict[str, Any]:
        return {
            "api": "openai-chat-completions",
            "base_url": public_url(self.base_url),
            "model": self.model,
            "system": self.system,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "image": {"format": self.image_format, "max_side": self.max_side, "detail": self.detail},
        }

    # -- one item ---------------------------------------------------------------------------------------

    def _one(self, item: Item, image: Any) -> Generation:
        body = json.dumps(self._payload(item, image)).encode("utf-8")

        def retrying(message: str, delay: float) -> None:
            log.debug("item %s: %s; retrying in %.2fs", item.id, message, delay)

        try:
            (text, meta), attempts = self.client.call(body, self._parse, on_retry=retrying)
        except FatalError as exc:
            return Generation(item.id, None, error=f"{exc} (no retry)", meta={"attempts": exc.attempts})
        except RetriesExhausted as exc:
            return Generation(item.id, None, error=str(exc), meta={"attempts": exc.attempts})
        meta["attempts"] = attempts
        self._count(meta.get("usage") or {})
        return Generation(item.id, text, meta=meta)

    def _payload(self, item: Item, image: Any) -> dict[str, Any]:
        image_part: dict[str, Any] = {"url": self._data_url(image)}
        if self.detail:
            image_part["detail"] = self.detail
        messages: list[dict[str, Any]] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": image_part},
                    {"type": "text", "text": item.question},
                ],
            }
        )
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            self.max_tokens_param: self.max_tokens,
        }
        for key in ("temperature", "top_p", "seed"):
            if getattr(self, key) is not None:
                payload[key] = getattr(self, key)
        return payload

    def _data_url(self, image: Any) -> str:
        return image_data_url(image, self.image_format, self.max_side)

    @staticmethod
    def _parse(answer: Any) -> tuple[str, dict[str, Any]]:
        try:
            choice = answer["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise RetryableError("answer has no choices[0].message.content") from None
        if isinstance(content, list):  # some servers answer with content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            reason = choice.get("finish_reason") if isinstance(choice, dict) else None
            raise FatalError(f"answer has no text (finish_reason={reason})")
        meta: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        usage = answer.get("usage")
        if isinstance(usage, dict):
            meta["usage"] = {
                k: usage[k]
                for k in ("prompt_tokens", "completion_tokens", "total_tokens")
                if isinstance(usage.get(k), int)
            }
        return content.strip(), meta

    def _count(self, usage: dict[str, int]) -> None:
        with self._lock:
            self.usage_totals["requests"] += 1
            for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                self.usage_totals[key] += int(usage.get(key, 0))

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

