"""Shared by the model-metric tests (no tests here): tiny offline models and a real local HTTP judge server.

- :func:`build_tiny_clip`: an open_clip ``CLIP`` (random weights, 32 px images, context length 16) saved as an
  open_clip folder (``open_clip_config.json`` + weights), loaded by the metric through open_clip's own loader;
- :func:`build_tiny_bert`: a ``BertModel`` + ``BertTokenizer`` saved with ``save_pretrained``;
- :class:`FakeJudge`: an OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 (stdlib http.server)
  that answers like a judge following the rubric, with log-probabilities, and injects faults on demand.
"""

from __future__ import annotations

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CLIP_CFG = {
    "embed_dim": 32, "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


def build_tiny_clip(path: Path, seed: int = 0) -> Path:
    from altbench.torch_compat import import_open_clip

    open_clip = import_open_clip()
    import torch

    path.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = open_clip.CLIP(**CLIP_CFG)
    (path / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": CLIP_CFG, "preprocess_cfg": {"size": 32}}), encoding="utf-8")
    torch.save(model.state_dict(), path / "open_clip_pytorch_model.bin")
    return path


BERT_WORDS = ["a", "an", "the", "red", "green", "blue", "yellow", "orange", "purple", "white", "black", "circle", "square", "triangle", "diamond", "on", "background", "bar", "chart", "with", "bars", "tallest", "is", "text", "card", "reading", "in", "photo", "of", "image"]


def build_tiny_bert(path: Path, seed: int = 0, max_length: int | None = 64) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    path.mkdir(parents=True, exist_ok=True)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(BERT_WORDS)), *letters,
             *(f"##{c}" for c in letters), *".,!?\"'"]
    (path / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    kwargs = {"model_max_length": max_length} if max_length else {}
    BertTokenizer(str(path / "vocab.txt"), **kwargs).save_pretrained(path)
    config = BertConfig(vocab_size=len(dict.fromkeys(vocab)), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(path)
    return path


# ------------------------------------------------------------------------------------------ judge server
CRITERIA = ("accuracy", "relevance", "salience", "conciseness", "no_redundancy")
# the probabilities the server reports around each chosen score: chosen 0.7, one above 0.2, one below 0.1
P_CHOSEN, P_UP, P_DOWN = 0.7, 0.2, 0.1


def _between(text: str, label: str) -> str | None:
    m = re.search(re.escape(label) + r"[^\n]*\n<<<(.*?)>>>", text, re.DOTALL)
    return m.group(1) if m else None


def heuristic_scores(alt: str) -> dict[str, int]:
    """A deterministic 'judge': what the tests expect back for an alt-text."""
    low = alt.lower()
    return {
        "accuracy": 4 if any(c in low for c in ("red", "green", "blue", "yellow", "orange", "purple")) else 2,
        "relevance": 3,
        "salience": 4,
        "conciseness": 5 if len(alt.strip()) <= 125 else 2,
        "no_redundancy": 2 if low.startswith(("image of", "picture of", "photo of")) else 5,
    }


def expected_weighted(score: int) -> float:
    """The expected value the server's log-probabilities give for a chosen score."""
    alts = [(score, P_CHOSEN)]
    if score < 5:
        alts.append((score + 1, P_UP))
    if score > 1:
        alts.append((score - 1, P_DOWN))
    total = sum(p for _, p in alts)
    return sum(s * p for s, p in alts) / total


def _tokens(content: str, choices: tuple[str, ...], values: re.Pattern) -> list[dict]:
    """Split ``content`` into tokens, each value matched by ``values`` alone in its token, with top logprobs."""
    out, pos = [], 0
    for m in values.finditer(content):
        if m.start() > pos:
            out.append({"token": content[pos:m.start()], "logprob": -0.01, "top_logprobs": []})
        v = m.group(0)
        top = [(v, P_CHOSEN)]
        i = choices.index(v)
        if i + 1 < len(choices):
            top.append((choices[i + 1], P_UP))
        if i > 0:
            top.append((choices[i - 1], P_DOWN))
        out.append({"token": v, "logprob": math.log(P_CHOSEN),
                    "top_logprobs": [{"token": t, "logprob": math.log(p)} for t, p in top]})
        pos = m.end()
    if pos < len(content):
        out.append({"token": content[pos:], "logprob": -0.01, "top_logprobs": []})
    return out


def planted(text: str, fraction: float, salt: str) -> bool:
    """Whether a planted behaviour applies to this request: a fixed hash of it, below the fraction."""
    import hashlib

    if fraction <= 0:
        return False
    return int(hashlib.sha256(f"{salt}|{text}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


class FakeJudge:
    """A real HTTP server; ``requests`` records every request body; switches inject faults.

    - alt-text containing ``MALFORMED``: a prose answer (a parse failure);
    - ``EXTRAKEY``: JSON with an extra key (a parse failure under strict parsing);
    - ``FLAKY``: HTTP 500 on the first request for that text, then a normal answer (a retry succeeds);
    - ``BADBODY``: HTTP 200 with a body that is not JSON (an API failure, after retries);
    - ``down = True``: HTTP 503 for everything (an outage); ``down_after = k``: the outage starts after k
      successful answers;
    - ``position_bias = True``: pairwise answers always pick A.

    Planted pairwise behaviour for the judge-check tests (each decided by a hash of the request, so the same
    request always gets the same answer unless it is a repeat):

    - ``first_fraction = f``: answer "A" on (about) a fraction ``f`` of requests, whatever the texts;
    - ``prefer_longer = True``: the longer text wins (instead of the shorter);
    - ``contrary_marker = "~"``: where either text holds the marker, the longer text wins (a second judge that
      disagrees with the first on a known set of battles);
    - ``repeat_flip = q``: on the second and later asking of the same request, a fraction ``q`` of requests
      answers "tie" (a judge whose sampling is not self-consistent).
    """

    def __init__(self, api_key: str | None = None) -> None:
        self.requests: list[dict] = []
        self.answered = 0
        self.down = False
        self.down_after: int | None = None
        self.position_bias = False
        self.first_fraction = 0.0
        self.prefer_longer = False
        self.contrary_marker: str | None = None
        self.repeat_flip = 0.0
        self.planted_first: set[str] = set()  # requests answered "A" by the first_fraction plant
        self._asked: dict[str, int] = {}
        self.api_key = api_key
        self.logprobs = True
        self._flaky_seen: set[str] = set()
        self._lock = threading.Lock()
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                status, payload = judge.respond(body, self.headers.get("Authorization"))
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(self, body: dict, auth: str | None) -> tuple[int, object]:
        with self._lock:
            self.requests.append(body)
            if self.api_key and auth != f"Bearer {self.api_key}":
                return 401, {"error": {"message": "invalid api key"}}
            if self.down or (self.down_after is not None and self.answered >= self.down_after):
                return 503, {"error": {"message": "overloaded"}}
            user = next(m for m in body["messages"] if m["role"] == "user")["content"]
            text = user if isinstance(user, str) else next(c["text"] for c in user if c["type"] == "text")
            alt = _between(text, "Alt-text to evaluate")
            shown = text
            if "FLAKY" in shown and shown not in self._flaky_seen:
                self._flaky_seen.add(shown)
                return 500, {"error": {"message": "transient"}}
            if "BADBODY" in shown:
                return 200, b"<html>gateway error</html>"
            self.answered += 1
            asked = self._asked[shown] = self._asked.get(shown, 0) + 1
        if alt is not None:
            content, tokens = self._absolute(alt)
        else:
            content, tokens = self._pairwise(_between(text, "Alt-text A"), _between(text, "Alt-text B"), shown, asked)
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        if self.logprobs and body.get("logprobs"):
            choice["logprobs"] = {"content": tokens}
        return 200, {"id": "x", "object": "chat.completion", "model": body["model"] + "-2025-01-01",
                     "choices": [choice], "usage": {"prompt_tokens": 100, "completion_tokens": 20,
                                                    "total_tokens": 120}}

    def _absolute(self, alt: str) -> tuple[str, list[dict] | None]:
        if "MALFORMED" in alt:
            return "This alt-text looks fine to me, I would give it a 4.", None
        scores = heuristic_scores(alt)
        obj = {c: {"justification": f"{c} judged on {len(alt)} chars.", "score": scores[c]} for c in CRITERIA}
        if "EXTRAKEY" in alt:
            obj["overall"] = 4
        content = json.dumps(obj)
        return content, _tokens(content, ("1", "2", "3", "4", "5"), re.compile(r"(?<=\"score\": )[1-5]"))

    def _pairwise(self, a: str, b: str, shown: str = "", asked: int = 1) -> tuple[str, list[dict]]:
        longer = self.prefer_longer or (self.contrary_marker is not None and self.contrary_marker in a + b)
        if self.position_bias or planted(shown, self.first_fraction, "first"):
            winner = "A"
            self.planted_first.add(shown)
        elif asked > 1 and planted(shown, self.repeat_flip, "repeat"):
            winner = "tie"
        elif longer:
            winner = "A" if len(a) > len(b) else "B" if len(b) > len(a) else "tie"
        else:
            winner = "A" if len(a) < len(b) else "B" if len(b) < len(a) else "tie"
        content = json.dumps({"justification": "the shorter one is better here.", "winner": winner})
        return content, _tokens(content, ("A", "B", "tie"), re.compile(r"(?<=\"winner\": \")(A|B|tie)"))
