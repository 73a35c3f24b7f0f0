"""Probes through real adapters: the OpenAI-compatible adapter against a local server that records what it
receives, and an adapter that opens the image files itself (as the lmms-eval bridge does)."""

from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from altbench.data.splits import load_split
from altbench.models.base import Adapter, Generation
from altbench.models.registry import REGISTRY, ModelEntry
from altbench.probes import ProbeSettings, probe
from altbench.probes.counterfactuals import blank_image, noised_image
from altbench.run.runner import RunConfig, run

KEY_ENV = "ALTBENCH_TEST_PROBE_KEY"


class EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, bytes]] = []  # (prompt text, image bytes)


class Handler(BaseHTTPRequestHandler):
    server: EchoServer

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        parts = body["messages"][-1]["content"]
        text = next(p["text"] for p in parts if p["type"] == "text")
        url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
        image = base64.b64decode(url.split(",", 1)[1])
        with self.server.lock:
            self.server.requests.append((text, image))
        with Image.open(io.BytesIO(image)) as img:
            mean = np.asarray(img.convert("RGB"), dtype=float).mean()
        # the answer echoes the context and the image's mean brightness: each probe moves its own part
        answer = f"{text.rsplit(chr(10), 1)[-1][:40]} | brightness {mean:.0f}"
        payload = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(KEY_ENV, "sk-test")
    srv = EchoServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_openai_compatible_adapter_receives_the_swapped_context_and_the_noised_image(server, tmp_path):
    args = {"base_url": f"http://127.0.0.1:{server.server_address[1]}/v1", "model": "echo-vlm",
            "api_key_env": KEY_ENV, "concurrency": 1, "max_retries": 0}
    config = RunConfig(model="openai-compatible", split="demo", model_args=args, limit=6, batch_size=3,
                       out=tmp_path / "run", resamples=100)
    run(config)
    originals = list(server.requests)
    assert len(originals) == 6
    server.requests.clear()
    report = probe(tmp_path / "run", "context-swap,image-noise,image-blank",
                   ProbeSettings(resamples=100, trials=100, batch_size=3))
    split = load_split("demo")
    items = split.items[:6]
    donors = json.loads((tmp_path / "run" / "probes" / "context-swap" / "swaps.json").read_text())
    swapped, noised, blank = server.requests[:6], server.requests[6:12], server.requests[12:18]
    by_id = {it.id: it for it in items}
    for item, (text, image) in zip(items, swapped):
        original_image = originals[items.index(item)][1]
        assert text.startswith(item.question[: item.question.index("Context:")])  # instruction kept
        assert text.endswith(by_id[donors[item.id]].context) and donors[item.id] != item.id
        assert image == original_image  # the image is untouched by a context probe
    from altbench.data.images import load_image

    for item, (text, image) in zip(items, noised):
        assert text == originals[items.index(item)][0]  # the prompt is untouched by an image probe
        with Image.open(io.BytesIO(image)) as got:
            expected = noised_image(load_image(item), 0, item.id)
            assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(expected))
    for item, (_, image) in zip(items, blank):
        with Image.open(io.BytesIO(image)) as got:
            assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(blank_image(load_image(item))))
    assert report.probes["image-noise"].changed.value > 0 and report.probes["context-swap"].changed.value == 1.0


class FileReader(Adapter):
    """Opens ``item.image`` itself (like the lmms-eval worker) and reports the file's mean pixel."""

    uses_images = True
    reads_image_files = True

    def generate(self, items, images):
        out = []
        for it in items:
            with Image.open(it.image) as img:
                out.append(Generation(it.id, f"mean {np.asarray(img.convert('RGB'), dtype=float).mean():.1f}"))
        return out


def test_an_adapter_that_reads_image_files_gets_the_probed_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(REGISTRY._entries, "file-reader", ModelEntry("file-reader", f"{__name__}:FileReader"))
    run(RunConfig(model="file-reader", split="demo", limit=4, out=tmp_path / "run", resamples=100))
    probe(tmp_path / "run", "image-blank", ProbeSettings(resamples=100, trials=100))
    from altbench.data.images import load_image
    from altbench.run.predictions import read

    got = read(tmp_path / "run" / "probes" / "image-blank" / "predictions.jsonl")
    for item in load_split("demo").items[:4]:
        expected = np.asarray(blank_image(load_image(item)), dtype=float).mean()
        assert got[item.id].prediction == f"mean {expected:.1f}"
    assert len(list((tmp_path / "run" / "probes" / "image-blank" / "images").glob("*.png"))) == 4
