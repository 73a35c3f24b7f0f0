"""Reading JSON Lines files of objects, with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from altbench.errors import DataError


def iter_objects(path: Path, what: str = "") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line; :class:`DataError` on anything else.

    what: names the file's role in the cannot-read message (e.g. "predictions").
    """
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with below; OSError mapped here
    except OSError as exc:
        role = f" {what}" if what else ""
        raise DataError(f"{path}: cannot read{role} ({exc.strerror})") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not a JSON object ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row
