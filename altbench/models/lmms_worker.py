"""Worker process of the lmms-eval bridge: runs one lmms-eval model wrapper, answers over pipes.

Started by :mod:`altbench.models.lmms_bridge` as ``PYTHON lmms_worker.py`` with the interpreter of the
environment that has lmms-eval (its own virtualenv, typically), so importing lmms-eval (which replaces
loguru handlers and patches modules) never touches the altbench process. It imports nothing from
altbench: the file runs as a script in any environment with lmms-eval and Pillow.

Protocol: one JSON object a line. The real stdout is kept for replies; everything libraries print goes
to stderr.

    -> {"op": "init", "model": "llava_hf", "model_args": "pretrained=...", "force_simple": false,
        "batch_size": 1, "device": null}
    <- {"ok": true, "is_simple": true, "class": "...", "lmms_eval": "0.7.3"}
    -> {"op": "generate", "gen_kwargs": {...}, "items": [{"id": "1", "question": "...", "image": "/path.png"}]}
    <- {"ok": true, "outputs": [{"id": "1", "text": "...", "usage": {...}}]}
    -> {"op": "close"}
    <- {"ok": false, "error": "..."} on any failure of a request (the worker stays up).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path

TASK, SPLIT = "altbench", "test"


def _reply(channel, payload: dict) -> None:
    channel.write(json.dumps(payload, ensure_ascii=False) + "\n")
    channel.flush()


class Worker:
    def __init__(self) -> None:
        self.lm = None

    def init(self, msg: dict) -> dict:
        from importlib.metadata import version

        from lmms_eval.models import get_model

        cls = get_model(msg["model"], bool(msg.get("force_simple", False)))
        extra = {k: msg[k] for k in ("batch_size", "device") if msg.get(k) is not None}
        self.lm = cls.create_from_arg_string(msg.get("model_args") or "", extra)
        return {
            "is_simple": bool(getattr(self.lm, "is_simple", True)),
            "class": f"{cls.__module__}.{cls.__name__}",
            "lmms_eval": version("lmms-eval"),
        }

    def generate(self, msg: dict) -> dict:
        from lmms_eval.api.instance import Instance
        from PIL import Image

        items = msg["items"]
        docs = {}
        for n, item in enumerate(items):
            with Image.open(item["image"]) as img:
                docs[n] = {"image": img.convert("RGB"), "question": item["question"]}
        self.lm.task_dict = {TASK: {SPLIT: docs}}
        gen_kwargs = msg.get("gen_kwargs") or {}
        requests = []
        for n in docs:
            if self.lm.is_simple:
                args = (docs[n]["question"], dict(gen_kwargs), _doc_to_visual, n, TASK, SPLIT)
            else:
                args = (docs[n]["question"], _doc_to_messages, dict(gen_kwargs), n, TASK, SPLIT)
            requests.append(
                Instance(
                    request_type="generate_until",
                    arguments=args,
                    idx=0,
                    metadata={"task": TASK, "doc_id": n, "repeats": 1},
                )
            )
        outputs = self.lm.generate_until(requests)
        if len(outputs) != len(items):
            raise RuntimeError(f"the model returned {len(outputs)} outputs for {len(items)} requests")
        return {"outputs": [dict(id=item["id"], **_unwrap(out)) for item, out in zip(items, outputs)]}


def _doc_to_visual(doc: dict) -> list:
    return [doc["image"]]


def _doc_to_messages(doc: dict) -> list:
    return [
        {
            "role": "user",
            "content": [{"type": "image", "url": doc["image"]}, {"type": "text", "text": doc["question"]}],
        }
    ]


def _unwrap(output) -> dict:
    try:
        from lmms_eval.api.instance import unwrap_generation_output
    except ImportError:  # older lmms-eval: plain strings
        return {"text": output if isinstance(output, str) else str(output)}
    text, counts = unwrap_generation_output(output)
    usage = counts.to_dict() if counts is not None and hasattr(counts, "to_dict") else {}
    return {"text": text if isinstance(text, str) else json.dumps(text), "usage": usage}


def _torchvision_on_cpu_torch() -> None:
    """lmms-eval's wrappers import torchvision, whose PyPI build does not load beside a CPU-only torch: apply
    altbench's ``torch_compat`` fix here too. It is loaded from its file (it needs only the standard library
    and torch), since this interpreter may have no altbench installed."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchvision") is None:
        return
    path = Path(__file__).resolve().parents[1] / "torch_compat.py"
    spec = importlib.util.spec_from_file_location("_altbench_torch_compat", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.import_torchvision()


def main() -> None:
    _torchvision_on_cpu_torch()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")  # replies only
    os.dup2(2, 1)  # whatever libraries print goes to stderr
    sys.stdout = sys.stderr
    worker = Worker()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            op = msg.get("op")
            if op == "close":
                _reply(channel, {"ok": True})
                return
            handler = {"init": worker.init, "generate": worker.generate}.get(op)
            if handler is None:
                raise ValueError(f"unknown op {op!r}")
            _reply(channel, {"ok": True, **handler(msg)})
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the bridge as data
            traceback.print_exc()
            _reply(channel, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
