"""Shared file I/O at the bottom of altbench: JSON Lines reading with errors that name the file and line,
and atomic (write-then-rename, fsync-ed) JSON / JSON Lines writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from altbench.errors import DataError


def iter_objects(path: Path, what: str = "") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line; :class:`DataError` on anything else.

    what: names the file's role in the cannot-read message (e.g. "predictions").
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below; OSError mapped here
    except OSError as exc:
        role = f" {what}" if what else ""
        raise DataError(f"{path}: cannot read{role} ({exc.strerror})") from None
    with fh:
        for lineno, raw in enumerate(fh, 1):
            # bytes decoded per line, so a non-UTF-8 byte names its line; a UTF-8 BOM (Windows editors) is fine
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
                                f"{exc.start + 1}); save the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not a JSON object ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def write_json_atomic(path: Path, obj: Any) -> None:
    _write_atomic(path, [json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"])


def write_jsonl_atomic(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object a line, streamed (the whole text of 200,000 rows would be a second copy in memory)."""
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    _write_atomic(path, (encode(r) + "\n" for r in rows))


def _write_atomic(path: Path, pieces: Iterable[str]) -> None:
    # write-then-rename: a reader (or a kill) never sees a half-written results file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as fh:
            fh.writelines(pieces)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
