"""The append-only ``predictions.jsonl`` of a run, safe against a kill at any moment.

Each batch is written as whole lines, flushed and fsync-ed. On opening, a trailing partial line (a write
cut by SIGKILL) is truncated away, so the next run neither breaks on it nor loses more than that batch.

An id may have several records: failures, then a prediction (a retried failure), or the same prediction
again. What counts is its prediction when it has one, else its last failure; a failure never replaces a
prediction, and two *different* predictions for one id are an error (which one to score is not ours to guess).

Also reads the reference work's inference output (rows with ``response``, ``chosen``, ``idx``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from altbench.errors import DataError, WriteError
from altbench.io import iter_objects
from altbench.models.base import Generation


@dataclass(frozen=True)
class PredictionRecord:
    id: str
    prediction: str | None
    error: str | None


def repair_tail(path: Path) -> int:
    """Cut a trailing line that has no newline (a write interrupted by a kill); returns bytes cut."""
    if not path.exists():
        return 0
    try:
        return _repair_tail(path)
    except OSError as exc:
        raise WriteError(path, exc) from exc


def _repair_tail(path: Path) -> int:
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return 0
        fh.seek(max(0, size - 1))
        if fh.read(1) == b"\n":
            return 0
        # find the last newline; everything after it is a partial record
        block = 1 << 16
        pos = size
        last_nl = -1
        while pos > 0 and last_nl < 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                last_nl = start + idx
            pos = start
        keep = last_nl + 1
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
        return size - keep


def append(path: Path, generations: Iterable[Generation]) -> None:
    """Append whole lines for one batch, then flush and fsync so a kill loses at most this batch."""
    lines = []
    for g in generations:
        row = {"id": g.item_id, "prediction": g.prediction, "error": g.error}
        if g.meta:
            row["meta"] = g.meta
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    append_bytes(path, "".join(lines).encode("utf-8"))


def append_bytes(path: Path, data: bytes) -> None:
    """Append whole lines and fsync them. A write that fails (a full disk) is cut back to where it began, so
    the file never ends in part of a line, and becomes a :class:`WriteError` naming ``path``."""
    try:
        with open(path, "ab", buffering=0) as fh:  # unbuffered: no bytes left in a buffer after a failure
            start = fh.seek(0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[fh.write(view) :]
                os.fsync(fh.fileno())
            except OSError:
                with contextlib.suppress(OSError):
                    fh.truncate(start)
                raise
    except OSError as exc:
        raise WriteError(path, exc) from exc


def read(path: Path, allow_empty: bool = True) -> dict[str, PredictionRecord]:
    """The record per id (its prediction, else its last failure) from an altbench predictions file or the
    reference work's output file.

    allow_empty: False for a file the user gives to score (an empty one is a mistake to report, not a run
    with nothing scored); a run's own file may be empty after a kill cut its only, partial, line.
    """
    if not allow_empty and path.is_dir():
        raise DataError(f"{path}: is a folder, not a predictions file (its predictions.jsonl?)")
    records: dict[str, PredictionRecord] = {}
    first_line: dict[str, int] = {}  # of the id's prediction, for the error that names both lines
    for lineno, row in iter_objects(path, "predictions"):
        rec = _record(row, f"{path}:{lineno}")
        old = records.get(rec.id)
        if old is not None and old.error is None:  # a prediction stands
            if rec.error is None and rec.prediction != old.prediction:
                raise DataError(f"{path}: lines {first_line[rec.id]} and {lineno} give different predictions "
                                f"for id {rec.id!r} (keep one)")
            continue
        records[rec.id] = rec
        first_line[rec.id] = lineno
    if not records and not allow_empty:
        raise DataError(f"{path}: no predictions in it (the file is empty or holds only blank lines)")
    return records


def _record(row: dict, where: str) -> PredictionRecord:
    if "id" in row and ("prediction" in row or "error" in row):
        pred, err = row.get("prediction"), row.get("error")
        value = pred if err is None else err
        if (pred is None) == (err is None) or not isinstance(value, str):
            raise DataError(f"{where}: a record needs a string 'prediction' or a string 'error'")
        return PredictionRecord(str(row["id"]), pred, err)
    if "idx" in row and "response" in row:  # the reference work's inference output
        if not isinstance(row["response"], str):
            raise DataError(f"{where}: 'response' must be a string")
        return PredictionRecord(str(row["idx"]), row["response"], None)
    raise DataError(f"{where}: expected fields id+prediction (altbench) or idx+response (reference output)")
