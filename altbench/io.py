"""Shared file I/O at the bottom of altbench: JSON Lines reading with errors that name the file and line,
and atomic (write-then-rename, fsync-ed) writes whose OS errors become one-line :class:`WriteError` s.

Files are created with the permissions the umask gives (0644 under umask 022), like ``predictions.jsonl``."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from altbench.errors import DataError, WriteError


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


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """``path.write_bytes(data)``, but a reader, a kill or a full disk never leaves a partial file.

    durable: also fsync the file and its folder (False for pages of a site, which are rebuilt from the
    runs: hundreds of fsyncs would buy nothing there).
    """
    with atomic_output(path, durable=durable) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def _write_atomic(path: Path, pieces: Iterable[str]) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", buffering=1 << 20) as fh:
        fh.writelines(pieces)


@contextlib.contextmanager
def atomic_output(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """A new empty file beside ``path`` to write (by path: pandas and pyarrow open it themselves); when the
    block ends, it replaces ``path`` in one rename, so a reader or a kill sees the old file or the new one.

    durable: fsync the file before the rename and the folder after it, so the rename survives a crash too.
    An OSError of the write (a full disk, a read-only folder, a refused permission) removes the temporary
    file and becomes a :class:`WriteError` naming ``path``; the old file is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _new_file_beside(path)
    except OSError as exc:
        raise WriteError(path, exc) from exc
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        if exc.filename is not None and os.fsdecode(exc.filename) not in (str(tmp), str(path)):
            raise  # another file's error while making the content (a read): it names its own path
        raise WriteError(path, exc) from exc
    except BaseException:
        _discard(tmp)
        raise
    if durable:
        try:
            _fsync(path.parent)
        except OSError as exc:
            raise WriteError(path.parent, exc) from exc


def _new_file_beside(path: Path) -> Path:
    """An empty file next to ``path`` under a fresh name, created with mode 0666 so the kernel applies the
    umask (and a default ACL) as for any file the user creates: mkstemp's 0600 would make results.json
    unreadable to others where predictions.jsonl is readable. The name ends in ``path``'s own name, so a
    writer that goes by the suffix (pandas: ``.csv.gz`` compresses) writes what ``path`` asks for."""
    for _ in range(100):
        tmp = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def _fsync(path: Path) -> None:
    """fsync a file or folder by path. A filesystem that cannot fsync a folder (EINVAL) is left at that."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (exc.errno in (errno.EINVAL, errno.ENOTSUP) and os.path.isdir(path)):
            raise
    finally:
        os.close(fd)


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:  # a folder that became read-only: nothing was written there either
        pass
