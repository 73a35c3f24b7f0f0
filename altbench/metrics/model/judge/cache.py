"""The judge's cache: append-only JSON Lines, one judgement a line, safe against a kill at any moment.

Key: sha256 of (judge identity, rubric id, item, mode, prediction, and for a pairwise judgement the order and
the other text). The judge identity holds the backend, the model (name, or weights sha256) and every decoding
setting; the item is its id plus a hash of its question, references and image bytes, so two splits that reuse
an id never share a judgement.

Each write is a whole line, flushed and fsync-ed. Only answers are written (parsable or not); API failures
never are, so a re-run after an outage asks only for what is missing. A trailing partial line (a write cut by
a kill) is skipped on reading, and the next write starts on a fresh line; a later line for a key supersedes
an earlier one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_key(judge: dict[str, Any], rubric: str, item: str, mode: str, prediction: str,
              extra: object = None) -> str:
    blob = json.dumps([judge, rubric, item, mode, prediction, extra], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._fresh_line = False
        self.skipped_lines = 0
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        self._fresh_line = bool(data) and not data.endswith(b"\n")
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self._entries[entry["key"]] = entry
            except (ValueError, KeyError, TypeError):
                self.skipped_lines += 1
        if self.skipped_lines:
            log.warning("judge cache %s: skipped %d unreadable line(s) (an interrupted write)", self.path,
                        self.skipped_lines)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._entries.get(key)

    def put(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, allow_nan=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as fh:
                if self._fresh_line:
                    fh.write(b"\n")
                    self._fresh_line = False
                fh.write(line.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            self._entries[entry["key"]] = entry
