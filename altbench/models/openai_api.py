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

import base64
import http.client
import io
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.base import Adapter, Generation
from altbench.models.prompts import check_style

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


class _Retryable(Exception):
    """A transient failure: retried, then reported as the item's error."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Fatal(Exception):
    """A failure that retrying cannot fix (a 4xx answer): the item fails at once."""


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
        self.base_url = str(base_url).rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.api_key_env = api_key_env
        self._key = os.environ.get(api_key_env) if api_key_env else None
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        if not self._key and host not in LOCAL_HOSTS:
            raise MissingResourceError(
                f"{self.model}: no API key; set the environment variable {api_key_env} (the key for {host})"
            )
        self.system = system
        self.max_tokens = int(max_tokens)
        self.max_tokens_param = max_tokens_param
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
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
            "base_url": _public_url(self.base_url),
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
        attempts = 0
        while True:
            attempts += 1
            try:
                answer = self._post(body)
                text, meta = self._parse(answer)
            except _Fatal as exc:
                return Generation(
                    item.id, None, error=self._clean(f"{exc} (no retry)"), meta={"attempts": attempts}
                )
            except _Retryable as exc:
                if attempts > self.max_retries:
                    return Generation(
                        item.id,
                        None,
                        error=self._clean(f"{exc} (after {attempts} attempts)"),
                        meta={"attempts": attempts},
                    )
                delay = self._delay(attempts, exc.retry_after)
                log.debug("item %s: %s; retrying in %.2fs", item.id, self._clean(str(exc)), delay)
                time.sleep(delay)
                continue
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
        if self.max_side and max(image.size) > self.max_side:
            image = image.copy()
            image.thumbnail((self.max_side, self.max_side))
        buf = io.BytesIO()
        if self.image_format == "jpeg":
            image.convert("RGB").save(buf, format="JPEG", quality=90)
        else:
            image.save(buf, format="PNG")
        return f"data:image/{self.image_format};base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    def _post(self, body: bytes) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code in (401, 403):
                raise AltbenchError(
                    f"{self.model}: the API at {_public_url(self.base_url)} refused the key in "
                    f"${self.api_key_env} (HTTP {exc.code})"
                ) from None
            if exc.code in RETRY_STATUS:
                raise _Retryable(f"HTTP {exc.code}{detail}", _retry_after(exc.headers)) from None
            raise _Fatal(f"HTTP {exc.code}{detail}") from None
        except TimeoutError:
            raise _Retryable(f"timed out after {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _Retryable(f"timed out after {self.timeout:g}s") from None
            raise _Retryable(f"connection failed ({exc.reason})") from None
        except (OSError, http.client.HTTPException) as exc:  # reset, dropped, cut short (IncompleteRead)
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Retryable(f"answer is not JSON ({raw[:60]!r})") from None

    @staticmethod
    def _parse(answer: Any) -> tuple[str, dict[str, Any]]:
        try:
            choice = answer["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise _Retryable("answer has no choices[0].message.content") from None
        if isinstance(content, list):  # some servers answer with content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            reason = choice.get("finish_reason") if isinstance(choice, dict) else None
            raise _Fatal(f"answer has no text (finish_reason={reason})")
        meta: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        usage = answer.get("usage")
        if isinstance(usage, dict):
            meta["usage"] = {
                k: usage[k]
                for k in ("prompt_tokens", "completion_tokens", "total_tokens")
                if isinstance(usage.get(k), int)
            }
        return content.strip(), meta

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_backoff, max(0.0, retry_after))
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)

    def _count(self, usage: dict[str, int]) -> None:
        with self._lock:
            self.usage_totals["requests"] += 1
            for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
                self.usage_totals[key] += int(usage.get(key, 0))

    def _clean(self, message: str) -> str:
        return message.replace(self._key, "***") if self._key else message

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, OSError):
        message = None
    return f": {str(message)[:200]}" if message else ""


def _public_url(url: str) -> str:
    """The URL without credentials, query or fragment (what may be written to disk)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
