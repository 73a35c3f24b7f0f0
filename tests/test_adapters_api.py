"""The OpenAI-compatible API adapter against a real local chat-completions server that misbehaves on cue.

Each item's context carries a tag telling the server what to do with requests for it: ``[500x2]`` answer
HTTP 500 to the first two, ``[stall]`` never answer in time, ``[garbage]`` answer non-JSON, and so on.
"""

import base64
import io
import json
import logging
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from PIL import Image

from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.registry import REGISTRY
from altbench.run.runner import RunConfig, run

KEY = "sk-test-SECRET-4f9a1c2e7b"
KEY_ENV = "ALTBENCH_TEST_API_KEY"
CONVENTION = "paper"
TAG = re.compile(r"\[(\w+?)(?:x(\d+))?\]")
TAGS = [
    "[500x2]",
    "[429x1]",
    "[stallx1]",
    "[garbagex1]",
    "[dropx1]",
    "[500]",
    "[stall]",
    "[garbage]",
    "[400]",
    "[emptyx1]",
    "",
    "",
]
ALWAYS_FAIL = {"5": "HTTP 500", "6": "timed out", "7": "not JSON", "8": "HTTP 400"}


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.attempts: Counter = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.images: list[tuple[int, int]] = []
        self.stall = 3.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: FaultServer

    def log_message(self, *args):  # keep the test output clean
        pass

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self._answered()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        srv = self.server
        with srv.lock:
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        self._in_flight = True
        try:
            self._answer(srv)
        finally:
            self._answered()

    def _answered(self) -> None:
        """A request stops counting as in flight *before* its answer is written: once the client has read
        it, its next request may arrive before this thread runs again (a loaded machine counted four)."""
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            with self.server.lock:
                self.server.in_flight -= 1

    def _answer(self, srv: FaultServer) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": "no such route"}})
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._json(401, {"error": {"message": "bad key"}})
        parts = body["messages"][-1]["content"]
        text = next(p["text"] for p in parts if p["type"] == "text")
        url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
        assert url.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
            size = img.size
        with srv.lock:
            srv.attempts[text] += 1
            n = srv.attempts[text]
            srv.images.append(size)
        time.sleep(0.05)  # so that concurrent requests overlap
        tag = TAG.search(text)
        fault = tag.group(1) if tag and (tag.group(2) is None or n <= int(tag.group(2))) else None
        if fault in ("500", "400"):
            return self._json(int(fault), {"error": {"message": f"injected {fault}"}})
        if fault == "429":
            return self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if fault == "slow":
            time.sleep(0.2)
        if fault == "stall":
            time.sleep(srv.stall)
        elif fault == "garbage":
            self._answered()
            self.send_response(200)
            self.send_header("Content-Length", "17")
            self.end_headers()
            self.wfile.write(b"<html>oops</html>")
            return None
        elif fault == "drop":
            self.close_connection = True
            return None
        elif fault == "empty":
            return self._json(200, {"choices": []})
        return self._json(
            200,
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"  a photo for item {text[-12:]}  "},
                    }
                ],
                "usage": {
                    "prompt_tokens": 100 + len(text),
                    "completion_tokens": 7,
                    "total_tokens": 107 + len(text),
                },
            },
        )


@pytest.fixture
def server():
    srv = FaultServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def split_file(tmp_path):
    """A reference-format test file whose contexts carry the fault tags, with small PNG images."""
    images = tmp_path / "images"
    images.mkdir()
    rows = []
    for i, tag in enumerate(TAGS):
        Image.new("RGB", (40 + i, 30), (20 * i, 100, 200)).save(images / f"{i}.png")
        rows.append(
            {
                "idx": i,
                "image_path": f"{i}.png",
                "chosen": f"a blue picture number {i}",
                "question": f"Given an image and context, generate alt-text for the image.\nContext:\npost {i} {tag}",
            }
        )
    path = tmp_path / "api_test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, images


def _config(server, split_file, tmp_path, **extra):
    path, images = split_file
    args = {
        "base_url": server.base_url,
        "model": "test-vlm",
        "api_key_env": KEY_ENV,
        "concurrency": 3,
        "max_retries": 2,
        "timeout": 0.4,
        "backoff": 0.01,
        "max_backoff": 0.05,
        **extra,
    }
    return RunConfig(
        model="openai-compatible",
        split=str(path),
        images=images,
        model_args=args,
        batch_size=6,
        out=tmp_path / "run",
        resamples=100,
        convention=CONVENTION,
    )


def test_every_fault_is_retried_or_counted_and_no_secret_is_written(
    server, split_file, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv(KEY_ENV, KEY)
    caplog.set_level(logging.INFO, logger="altbench.models.openai_api")
    out = run(_config(server, split_file, tmp_path))  # a stalled request ends by its timeout: item 6 below

    counts = out.results["counts"]
    assert counts == {"items": 12, "scored": 8, "failed": 4, "missing": 0, "empty": 0, "empty_reference": 0}
    failures = {f["id"]: f["error"] for f in out.results["failures"]}
    assert set(failures) == set(ALWAYS_FAIL)
    for item_id, reason in ALWAYS_FAIL.items():
        assert reason in failures[item_id]
    assert "after 3 attempts" in failures["5"] and "no retry" in failures["8"]

    rows = {r["id"]: r for r in map(json.loads, (out.run_dir / "predictions.jsonl").read_text().splitlines())}
    assert all((r["prediction"] is None) == (r["error"] is not None) for r in rows.values())
    assert all(r["prediction"] is None for i, r in rows.items() if i in ALWAYS_FAIL)  # never "" for a failure
    expected_attempts = {
        "0": 3,
        "1": 2,
        "2": 2,
        "3": 2,
        "4": 2,
        "5": 3,
        "6": 3,
        "7": 3,
        "8": 1,
        "9": 2,
        "10": 1,
    }
    assert {i: rows[i]["meta"]["attempts"] for i in expected_attempts} == expected_attempts
    assert (
        rows["10"]["prediction"].startswith("a photo for item")
        and rows["10"]["prediction"] == rows["10"]["prediction"].strip()
    )
    assert rows["0"]["meta"]["usage"]["completion_tokens"] == 7
    assert any("prompt + 56 completion tokens" in m for m in caplog.messages)  # 8 answered items x 7

    assert (40, 30) in server.images  # the image itself went inline as a data URL

    for path in out.run_dir.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"the API key leaked into {path}"
    assert KEY_ENV in json.dumps(out.results["model"]) and KEY not in json.dumps(out.results)

    server.attempts.clear()
    again = run(_config(server, split_file, tmp_path))  # a re-run retries exactly the failed items
    assert again.resumed == 8 and again.generated == 4


def test_concurrency_is_bounded(server, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    images = tmp_path / "images"
    images.mkdir()
    rows = []
    for i in range(12):
        Image.new("RGB", (16, 16), (i, i, i)).save(images / f"{i}.png")
        rows.append(
            {"idx": i, "image_path": f"{i}.png", "chosen": "x", "question": f"Context:\npost {i} [slowx1]"}
        )
    (tmp_path / "plain.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = _config(server, (tmp_path / "plain.jsonl", images), tmp_path, timeout=60)
    config.batch_size = 12
    assert run(config).results["counts"]["scored"] == 12
    assert server.max_in_flight == 3  # concurrent, and never more than `concurrency`


def test_a_rejected_key_stops_the_run_with_one_line(server, split_file, tmp_path, monkeypatch):
    from altbench.cli import cli

    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    with pytest.raises(AltbenchError, match="refused the key in \\$ALTBENCH_TEST_API_KEY"):
        run(_config(server, split_file, tmp_path))
    path, images = split_file
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--model",
            "openai-compatible",
            "--split",
            str(path),
            "--images",
            str(images),
            "--model-arg",
            f"base_url={server.base_url}",
            "--model-arg",
            "model=test-vlm",
            "--model-arg",
            f"api_key_env={KEY_ENV}",
            "--out",
            str(tmp_path / "cli"),
        ],
    )
    assert result.exit_code == 2 and "refused the key" in result.output and "sk-wrong" not in result.output


def test_an_endpoint_that_is_down_fails_every_item_and_the_run_exits_5(split_file, tmp_path):
    """Nothing listens on the port: every item fails (counted, listed, written) and the run says so with its
    exit status instead of 0; a re-run retries them."""
    import socket

    from altbench.cli import EXIT_INCOMPLETE, cli
    from altbench.results import load_run

    with socket.socket() as sock:  # a port that was free a moment ago: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path, images = split_file
    args = ["run", "--model", "openai-compatible", "--split", str(path), "--images", str(images),
            "--model-arg", f"base_url=http://127.0.0.1:{port}/v1", "--model-arg", "model=test-vlm",
            "--model-arg", "max_retries=0", "--model-arg", "backoff=0.01", "--out", str(tmp_path / "down")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "scored 0, failed 12" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("altbench: error:")]
    expected = (f"altbench: error: nothing scored: all 12 items failed; the results, failures listed, are in "
                f"{tmp_path / 'down'}/results.json; re-run the same command to retry the failed items")
    assert errors == [expected]
    assert load_run(tmp_path / "down").headline.counts["failed"] == 12


def test_a_hosted_api_without_its_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingResourceError, match="OPENAI_API_KEY"):
        REGISTRY.create("gpt-4o")
    assert REGISTRY.get("gemini-2.0-flash").args["api_key_env"] == "GEMINI_API_KEY"


def test_fingerprint_names_the_endpoint_but_never_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    _, adapter = REGISTRY.create("gpt-4o", {"base_url": "https://user:pw@api.example.com/v1?token=abc"})
    fp = json.dumps(adapter.fingerprint())
    assert KEY not in fp and ":pw@" not in fp and "token=abc" not in fp and "https://api.example.com/v1" in fp
