"""One writer per run folder: ``altbench run`` holds an exclusive lock on ``<run folder>/.run.lock`` from
before it repairs the predictions' tail until its scoring is stored.

A second run of the same folder is refused at once (exit 2), naming the process that holds it, rather than
waiting: a run can take hours, and a second one that waited would only find the work done. The lock is an
``flock``, which the kernel drops when its process dies, so a killed run (even by SIGKILL) never leaves a
folder locked; the lock file stays and is reused. Its content (``<pid> <start time>``) is only for the
message, and is cleared on release. Under ``accelerate launch`` only the main process takes it (the other
ranks write their own rank files and wait for the main one at barriers).

Separate from the results store's ``.results.lock`` (``altbench score`` of the same folder, taken only while
a scoring is stored), which a run takes inside this one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from altbench.errors import AltbenchError, WriteError

LOCK = ".run.lock"


class RunFolderBusy(AltbenchError):
    """Another altbench run is generating into the folder."""


@contextlib.contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for this process, or raise :class:`RunFolderBusy` at once."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise WriteError(run_dir, exc) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderBusy(f"{run_dir} is in use by another altbench run ({_holder(fd)}); wait for it to "
                                "finish or choose another --out") from None
        try:
            _write(fd, f"{os.getpid()} {_now()}\n")
        except OSError as exc:  # a full disk: this run could not have written a prediction either
            raise WriteError(run_dir, exc) from exc
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # the next holder's message must not name this process
    finally:
        os.close(fd)  # drops the flock


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    data = text.encode()
    if os.pwrite(fd, data, 0) != len(data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a short write: only a full disk does that to a few bytes


def _holder(fd: int) -> str:
    """``pid N, started T`` from the lock file (the holder may not have written it yet)."""
    try:
        pid, started = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        return f"pid {int(pid)}, started {started}"
    except (OSError, ValueError):
        return "process unknown"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
