"""Judge backends: any OpenAI-compatible chat endpoint (text + image), or a local transformers VLM.

A backend turns a :class:`~altbench.metrics.model.judge.prompts.Prompt` and an optional PIL image into a
:class:`Completion` (text, per-token log-probabilities when available, token usage), or raises
:class:`JudgeAPIError`. It never interprets the answer. ``identity()`` is what pins the judge in the cache key
and the signature: backend, model (name, or path + sha256 of the weights), and the decoding settings.

HTTP goes through the shared client :mod:`altbench.net.openai_client` (standard library only; the API model
adapter uses the same one): retries with exponential back-off on
time-outs, connection errors, malformed answers and HTTP 408/409/425/429/5xx; other 4xx fail at once, a
refused key stops the scoring. The API key is read from the environment variable the options name and is
never written anywhere.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError, MissingResourceError
from altbench.metrics.model.judge.prompts import Prompt
from altbench.metrics.model.options import option_setting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token, its log-probability and the most likely alternatives at its position."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Completion:
    text: str
    logprobs: tuple[TokenLogprob, ...] | None = None
    usage: dict[str, int] = field(default_factory=dict)
    model: str | None = None  # the model the server says answered (e.g. a dated snapshot)


class JudgeAPIError(Exception):
    """The backend gave no answer (transport, HTTP, protocol or model failure): not a judgement."""


class OpenAIBackend:
    """``POST {url}/chat/completions`` of an OpenAI-compatible server (OpenAI, vLLM, llama.cpp, TGI...).

    The transport is :class:`altbench.net.openai_client.ChatClient`, shared with the API model adapter: its key
    handling, image data URLs, HTTP error classes, retry delays (exponential with jitter, ``Retry-After``
    honoured) and key scrubbing. A refused key (HTTP 401/403) stops the scoring with one line; other failures
    that outlast the retries are :class:`JudgeAPIError`. What is added here: the judge's request (system
    rubric, log-probabilities, JSON mode) and reading the log-probabilities back.
    """

    kind = "openai"

    def __init__(self, model: str, url: str, api_key_env: str, *, temperature: float = 0.0,
                 max_tokens: int = 512, top_logprobs: int = 5, json_mode: bool = True, image_max_side: int = 768,
                 timeout: float = 60.0, retries: int = 3, backoff: float = 1.0) -> None:
        from altbench.net.openai_client import ChatClient, public_url

        self._http = ChatClient(url, api_key_env, label=model, timeout=float(timeout), max_retries=int(retries),
                                backoff=float(backoff))
        self.model = model
        self.location = public_url(self._http.url)  # no credentials
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.image_max_side = int(image_max_side)
        self.top_logprobs = int(top_logprobs)
        self.json_mode = bool(json_mode)
        self.concurrent = True

    def identity(self) -> dict[str, Any]:
        return {"backend": self.kind, "model": self.model, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "top_logprobs": self.top_logprobs, "json_mode": self.json_mode,
                "image": f"jpeg-q90-max{self.image_max_side}"}

    def request_body(self, prompt: Prompt, image: Any | None) -> dict[str, Any]:
        from altbench.net.openai_client import image_data_url

        content: list[dict[str, Any]] = []
        if image is not None:
            url = image_data_url(image, "jpeg", self.image_max_side)
            content.append({"type": "image_url", "image_url": {"url": url}})
        content.append({"type": "text", "text": prompt.user})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": content}],
            "temperature": self.temperature, "max_tokens": self.max_tokens,
        }
        if self.top_logprobs > 0:
            body.update(logprobs=True, top_logprobs=self.top_logprobs)
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    def complete(self, prompt: Prompt, image: Any | None) -> Completion:
        from altbench.net.openai_client import FatalError, RetriesExhausted, RetryableError

        def parse(data: Any) -> Completion:
            try:
                return parse_chat_response(data)
            except JudgeAPIError as exc:  # a malformed response is transient: asked again
                raise RetryableError(str(exc)) from None

        payload = json.dumps(self.request_body(prompt, image)).encode("utf-8")
        try:
            completion, _ = self._http.call(payload, parse)
        except AltbenchError as exc:  # the key was refused: every request would fail
            raise MissingResourceError(f"judge: {exc}") from None
        except (FatalError, RetriesExhausted) as exc:
            raise JudgeAPIError(str(exc)) from None
        return completion


def parse_chat_response(data: Any) -> Completion:
    """A chat-completions response -> Completion; anything malformed is an API failure, not a judgement."""
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise JudgeAPIError(f"malformed response (no choices[0].message.content): {str(data)[:120]}") from None
    if not isinstance(text, str):
        raise JudgeAPIError("malformed response: message content is not a string")
    logprobs = None
    content = (choice.get("logprobs") or {}).get("content") if isinstance(choice.get("logprobs"), dict) else None
    if isinstance(content, list):
        try:
            logprobs = tuple(
                TokenLogprob(str(t["token"]), float(t["logprob"]),
                             tuple((str(a["token"]), float(a["logprob"])) for a in t.get("top_logprobs") or ()))
                for t in content)
        except (KeyError, TypeError, ValueError):
            logprobs = None  # unusable log-probabilities: the answer still counts, unweighted
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    usage = {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens") if isinstance(usage.get(k), int)}
    return Completion(text, logprobs, usage, data.get("model") if isinstance(data.get("model"), str) else None)


class TransformersBackend:
    """A local image-text-to-text checkpoint, loaded through the model adapters (same code as ``altbench run``).

    Greedy decoding; the log-probabilities of each generated token and its top alternatives come from the
    generation scores. One request at a time.
    """

    kind = "transformers"

    def __init__(self, path: str, *, max_tokens: int = 512, top_logprobs: int = 5, device: str = "auto",
                 dtype: str = "auto", image_max_side: int = 768) -> None:
        from altbench.models.registry import REGISTRY

        try:
            _, adapter = REGISTRY.create(path, {"device": device, "dtype": dtype, "max_new_tokens": int(max_tokens)})
        except MissingResourceError:
            raise
        except AltbenchError as exc:
            raise MissingResourceError(f"judge: cannot load a local VLM from {path} ({exc}); pass "
                                       f"{option_setting('judge', 'model', 'DIR')} (a transformers checkpoint "
                                       "folder)") from None
        if not all(hasattr(adapter, a) for a in ("model", "processor", "tokenizer", "processor_inputs")):
            raise AltbenchError(f"judge: {path} does not load as a transformers VLM (adapter "
                                f"{type(adapter).__name__}); the transformers backend needs one")
        self.adapter = adapter
        self.location = str(getattr(adapter, "source", path))
        self.max_tokens = int(max_tokens)
        self.top_logprobs = max(1, int(top_logprobs))
        self.image_max_side = int(image_max_side)
        self._lock = threading.Lock()
        self.concurrent = False
        self._fingerprint = adapter.fingerprint()

    def identity(self) -> dict[str, Any]:
        fp = self._fingerprint
        checkpoint = fp.get("checkpoint", {})
        name = Path(checkpoint["path"]).name if checkpoint.get("path") else checkpoint.get("hub_id")
        return {"backend": self.kind, "model": name,
                "sha256": checkpoint.get("sha256") or checkpoint.get("commit"), "class": fp.get("class"),
                "dtype": fp.get("dtype"), "temperature": 0.0, "max_tokens": self.max_tokens,
                "top_logprobs": self.top_logprobs}

    def complete(self, prompt: Prompt, image: Any | None) -> Completion:
        with self._lock:
            try:
                return self._complete(prompt, image)
            except (RuntimeError, ValueError) as exc:  # a model or processor failure on this input
                raise JudgeAPIError(f"local VLM failed: {type(exc).__name__}: {exc}") from None

    def _complete(self, prompt: Prompt, image: Any | None) -> Completion:
        import torch

        from altbench.models.prompts import chat_messages

        a = self.adapter
        if image is not None and max(image.size) > self.image_max_side:
            image = image.copy()
            image.thumbnail((self.image_max_side, self.image_max_side))
        messages = chat_messages(prompt.user, prompt.system, with_image=image is not None)
        text = a.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = a.processor_inputs([text], [image]) if image is not None else \
            a.processor(text=[text], return_tensors="pt")
        model = a.model
        inputs = inputs.to(model.device)
        for key, value in inputs.items():
            if torch.is_floating_point(value):
                inputs[key] = value.to(model.dtype)
        tok = a.tokenizer
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=self.max_tokens, do_sample=False, num_beams=1,
                                 output_scores=True, return_dict_in_generate=True,
                                 pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
        n_in = inputs["input_ids"].shape[1]
        ids = out.sequences[0, n_in:].tolist()
        stop = set(tok.all_special_ids)
        tokens = []
        for step, tid in enumerate(ids):
            if tid in stop:
                break
            logp = torch.log_softmax(out.scores[step][0].float(), dim=-1)
            vals, idx = torch.topk(logp, min(self.top_logprobs, logp.shape[-1]))
            top = tuple((tok.decode([int(i)]), float(v)) for v, i in zip(vals, idx) if math.isfinite(float(v)))
            tokens.append(TokenLogprob(tok.decode([tid]), float(logp[tid]), top))
        kept = ids[: len(tokens)]
        return Completion(tok.decode(kept, skip_special_tokens=True), tuple(tokens),
                          {"prompt_tokens": int(n_in), "completion_tokens": len(kept)}, None)
