"""A small client for OpenAI-compatible chat-completions endpoints, shared by the API model adapter
(:mod:`altbench.models.openai_api`) and the judge's OpenAI backend (:mod:`altbench.metrics.model.judge.backends`).

Standard library only. What it owns, so both users behave the same:

- the API key, read from an environment variable and kept in memory only (:meth:`ChatClient.clean` scrubs it
  from any message that is written or shown);
- the POST and its error classes: :class:`RetryableError` (time-outs, dropped connections, an answer that is
  not JSON, HTTP 408/409/425/429/5xx, with the server's ``Retry-After``), :class:`FatalError` (other 4xx: retrying
  cannot help), and :class:`~altbench.errors.AltbenchError` for a refused key (HTTP 401/403: every request
  would fail);
- the retry delays (exponential with jitter, ``Retry-After`` honoured, capped) and :meth:`ChatClient.call`, the
  retry loop around a POST and a caller-supplied parser;
- images as data URLs and URLs without credentials (:func:`public_url`, what may be written to disk).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from altbench.errors import AltbenchError, MissingResourceError

RETRY_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")

T = TypeVar("T")


class RetryableError(Exception):
    """A transient failure: retried, then reported as the request's error."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(Exception):
    """A failure that retrying cannot fix (a 4xx answer): the request fails at once (``attempts`` made)."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class RetriesExhausted(Exception):
    """Every attempt failed with a :class:`RetryableError`; ``attempts`` says how many were made."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class ChatClient:
    """``POST {base_url}/chat/completions`` with a bearer key from ``api_key_env`` (none needed on this machine).

    label:       who is calling, for the refused-key message (a model name).
    max_retries: retries after the first attempt; timeout, backoff, max_backoff in seconds.
    """

    def __init__(self, base_url: str, api_key_env: str | None, *, label: str, timeout: float = 60.0,
                 max_retries: int = 5, backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        self.base_url = str(base_url).rstrip("/")
        self.url = self.base_url + "/chat/completions"
        self.api_key_env = api_key_env
        self.label = label
        self._key = os.environ.get(api_key_env) if api_key_env else None
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        if not self._key and host not in LOCAL_HOSTS:
            raise MissingResourceError(
                f"{label}: no API key; set the environment variable {api_key_env} (the key for {host})")
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)

    def post(self, body: bytes) -> Any:
        """One POST; the decoded JSON answer, or one of this module's errors."""
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
                    f"{self.label}: the API at {public_url(self.base_url)} refused the key in "
                    f"${self.api_key_env} (HTTP {exc.code})") from None
            if exc.code in RETRY_STATUS:
                raise RetryableError(f"HTTP {exc.code}{detail}", retry_after(exc.headers)) from None
            raise FatalError(f"HTTP {exc.code}{detail}") from None
        except TimeoutError:
            raise RetryableError(f"timed out after {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise RetryableError(f"timed out after {self.timeout:g}s") from None
            raise RetryableError(f"connection failed ({exc.reason})") from None
        except (OSError, http.client.HTTPException) as exc:  # reset, dropped, cut short (IncompleteRead)
            raise RetryableError(f"connection failed ({type(exc).__name__})") from None
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RetryableError(f"answer is not JSON ({raw[:60]!r})") from None

    def call(self, body: bytes, parse: Callable[[Any], T], on_retry: Callable[[str, float], None] | None = None
             ) -> tuple[T, int]:
        """POST and ``parse`` the answer, retrying :class:`RetryableError` (from either) with back-off.

        Returns (parsed, attempts). Raises :class:`FatalError` at once, :class:`RetriesExhausted` after
        ``max_retries`` retries, and lets a refused key's :class:`~altbench.errors.AltbenchError` through.
        Messages are scrubbed of the key.
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                return parse(self.post(body)), attempts
            except FatalError as exc:
                raise FatalError(self.clean(str(exc)), attempts) from None
            except RetryableError as exc:
                if attempts > self.max_retries:
                    raise RetriesExhausted(self.clean(f"{exc} (after {attempts} attempts)"), attempts) from None
                wait = self.delay(attempts, exc.retry_after)
                if on_retry is not None:
                    on_retry(self.clean(str(exc)), wait)
                time.sleep(wait)

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(self.max_backoff, max(0.0, retry_after_s))
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * (0.5 + random.random() / 2)

    def clean(self, message: str) -> str:
        return message.replace(self._key, "***") if self._key else message


def image_data_url(image: Any, image_format: str = "png", max_side: int | None = None) -> str:
    """A PIL image as a ``data:image/...;base64`` URL (shrunk to ``max_side`` first; JPEG at quality 90)."""
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    if image_format == "jpeg":
        image.convert("RGB").save(buf, format="JPEG", quality=90)
    else:
        image.save(buf, format="PNG")
    return f"data:image/{image_format};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def retry_after(headers: Any) -> float | None:
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


def public_url(url: str) -> str:
    """The URL without credentials, query or fragment (what may be written to disk)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
