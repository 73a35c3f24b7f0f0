"""``--model lmms:<name>``: generation by one of lmms-eval's model wrappers, in a worker process.

lmms-eval wraps about a hundred models (``llava_hf``, ``qwen2_5_vl``, ``internvl3``, API models ...).
Importing it replaces the host's loguru handlers and patches modules, and its dependencies are many, so
it never runs inside altbench: the bridge starts :mod:`altbench.models.lmms_worker` under the interpreter
given by ``python`` (a virtualenv with lmms-eval installed; default ``$ALTBENCH_LMMS_PYTHON``, else this
interpreter) and talks JSON lines over pipes. Scoring stays altbench's.

Arguments: ``model`` (the lmms-eval model name), ``model_args`` (lmms-eval's ``k=v,k=v`` string),
``python``, ``force_simple``, ``batch_size`` and ``device`` (passed to the wrapper), ``max_new_tokens``,
``num_beams``, ``temperature`` (its ``gen_kwargs``), ``timeout`` (seconds for start-up and each batch).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from altbench.data.images import image_path
from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.base import Adapter, Generation

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("lmms_worker.py")


class LmmsAdapter(Adapter):
    """An lmms-eval model wrapper driven through a worker process (see the module docstring)."""

    uses_images = True
    reads_image_files = True  # the worker opens image_path(item)

    def __init__(
        self,
        model: str,
        model_args: str = "",
        python: str | None = None,
        force_simple: bool = False,
        batch_size: int = 1,
        device: str | None = None,
        max_new_tokens: int = 128,
        num_beams: int = 1,
        temperature: float = 0.0,
        timeout: float = 3600.0,
    ) -> None:
        self.model = str(model)
        self.model_args = str(model_args or "")
        self.python = python or os.environ.get("ALTBENCH_LMMS_PYTHON") or sys.executable
        self.force_simple = bool(force_simple)
        self.batch_size = int(batch_size)
        self.device = device
        self.timeout = float(timeout)
        self.gen_kwargs = {
            "max_new_tokens": int(max_new_tokens),
            "num_beams": int(num_beams),
            "temperature": float(temperature),
            "do_sample": float(temperature) > 0,
            "until": [],
        }
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self.info = self._start()
        atexit.register(self.close)

    # -- worker process ---------------------------------------------------------------------------------

    def _start(self) -> dict[str, Any]:
        if not Path(self.python).exists():
            raise MissingResourceError(
                f"lmms:{self.model}: interpreter {self.python} not found; pass "
                "--model-arg python=VENV/bin/python (a virtualenv with lmms-eval)"
            )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [self.python, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self._replies = queue.Queue()
        threading.Thread(target=self._read_replies, args=(self._proc, self._replies), daemon=True).start()
        reply = self._request(
            {
                "op": "init",
                "model": self.model,
                "model_args": self.model_args,
                "force_simple": self.force_simple,
                "batch_size": self.batch_size,
                "device": self.device,
            }
        )
        if not reply.get("ok"):
            self.close()
            error = reply.get("error", "")
            if "No module named 'lmms_eval'" in error:
                raise MissingResourceError(
                    f"lmms:{self.model}: lmms-eval is not installed for {self.python}; install it in a separate "
                    "virtualenv (pip install 'altbench[lmms]' there, or pip install lmms-eval) and pass "
                    "--model-arg python=VENV/bin/python"
                ) from None
            raise AltbenchError(f"lmms:{self.model}: lmms-eval could not create the model ({error})")
        log.info("lmms-eval %s: %s ready in %s", reply.get("lmms_eval"), reply.get("class"), self.python)
        return reply

    @staticmethod
    def _read_replies(proc: subprocess.Popen, replies: queue.Queue) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            replies.put(line)
        replies.put(None)  # end of stream: the worker exited

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.poll() is not None or proc.stdin is None:
            raise RuntimeError("the lmms-eval worker is not running")
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        try:
            line = self._replies.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise RuntimeError(f"the lmms-eval worker did not answer within {self.timeout:g}s") from None
        if line is None:
            code = proc.wait()
            return {
                "ok": False,
                "error": f"the lmms-eval worker exited with status {code} (see its log above)",
            }
        return json.loads(line)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"op": "close"}) + "\n")
            proc.stdin.flush()
            proc.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    # -- the adapter interface --------------------------------------------------------------------------

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        if self._proc is None or self._proc.poll() is not None:
            log.warning("lmms-eval worker is gone; starting a new one")
            self._start()
        reply = self._request(
            {
                "op": "generate",
                "gen_kwargs": self.gen_kwargs,
                "items": [
                    {"id": it.id, "question": it.question, "image": str(image_path(it))} for it in items
                ],
            }
        )
        if not reply.get("ok"):
            raise RuntimeError(f"lmms-eval {self.model}: {reply.get('error')}")
        outputs = {o["id"]: o for o in reply["outputs"]}
        gens = []
        for it in items:
            out = outputs.get(it.id)
            if out is None or not isinstance(out.get("text"), str):
                gens.append(Generation(it.id, None, error="lmms-eval returned no text for this item"))
            else:
                gens.append(
                    Generation(
                        it.id, out["text"].strip(), meta={"usage": out["usage"]} if out.get("usage") else {}
                    )
                )
        return gens

    def environment(self) -> dict[str, Any]:
        return {"lmms_eval": self.info.get("lmms_eval")}

    def fingerprint(self) -> dict[str, Any]:
        return {  # the lmms-eval version is in environment(), not in the run id
            "bridge": "lmms-eval",
            "model": self.model,
            "class": self.info.get("class"),
            "model_args": self.model_args,
            "gen_kwargs": self.gen_kwargs,
            "force_simple": self.force_simple,
        }
