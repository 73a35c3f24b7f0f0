"""A second interpreter that takes work off this one, so that a large scoring uses two cores.

:func:`second_core` starts a fresh ``python -m altbench.helper`` for the span of a scoring (when there are
two usable cores and the scoring is large); :func:`current` gives it to the code that can split its work:
the paper convention's item-level metrics (a share of the items) and the bootstrap (a share of the
weight chunks). Each task is a function named ``"module:function"``; its arguments go in a pickle file,
its file's path down the helper's stdin, and the result comes back in a file, its status line on the
helper's stdout. Files, not pipes, carry the data: a pipe this process writes while the helper is still
starting blocks it, and a thread feeding the pipe competes for the GIL with this process's own work.

A fresh interpreter, not a fork: a forked child's resident pages (the split, the records, all this process
has loaded) would count again in its memory; a fresh one starts in a few tenths of a second, while this
process does other work. Tasks are pure functions of their arguments, so where a task runs changes no
number; when the helper fails, :meth:`Pending.result` raises :class:`HelperError` and callers compute the
share themselves. ``ALTBENCH_NO_HELPER=1`` turns the helper off.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MIN_ITEMS = 4000  # below this a scoring takes about as long as the helper takes to start


class HelperError(RuntimeError):
    """The helper process failed or is gone; the caller does the work itself."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Helper:
    """One helper process; :meth:`submit` queues a task, tasks run one at a time in submission order."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="altbench-helper")
        self._count = 0
        self._answered = 0
        self._answers: dict[int, str] = {}
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])  # the folder holding this altbench package
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        self._err = open(Path(self._dir.name) / "stderr", "w+b")  # noqa: SIM115 - closed in close()
        self._proc: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-m", "altbench.helper"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._err, env=env, text=True, bufsize=1)

    def submit(self, target: str, *args: Any) -> Pending:
        """Run ``target`` (``"module:function"``) on ``args`` in the helper; :meth:`Pending.result` waits."""
        index = self._count
        self._count += 1
        path = Path(self._dir.name) / f"task{index}"
        with open(path, "wb") as fh:
            pickle.dump((target, args), fh, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._proc.stdin.write(f"{path}\n")
            self._proc.stdin.flush()
        except (OSError, AttributeError, ValueError):
            self._answers[index] = "gone"
        return Pending(self, index, path)

    def _answer(self, index: int) -> str:
        while index not in self._answers:
            line = self._proc.stdout.readline() if self._proc is not None else ""
            self._answers[self._answered] = line.strip() or "gone"
            self._answered += 1
        return self._answers.pop(index)

    def error_text(self) -> str:
        self._err.seek(0)
        return self._err.read().decode("utf-8", "replace")[-3000:]

    def close(self, kill: bool = False) -> None:
        """End the helper: it finishes the task at hand and exits, or, with ``kill`` (this process is
        failing), stops now."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            if kill:
                self._proc.kill()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc.stdout.close()
            self._proc = None
        self._err.close()
        self._dir.cleanup()


class Pending:
    """A submitted task."""

    def __init__(self, helper: Helper, index: int, path: Path) -> None:
        self._helper, self._index, self._path = helper, index, path

    def result(self) -> Any:
        status = self._helper._answer(self._index)
        out = Path(f"{self._path}.out")
        if status != "ok":
            detail = out.read_text(errors="replace") if out.exists() else self._helper.error_text()
            raise HelperError(f"helper task failed ({status}): {detail[-2000:]}")
        with open(out, "rb") as fh:
            value = pickle.load(fh)
        out.unlink()
        return value


_current: list[Helper] = []


def current() -> Helper | None:
    """The helper of the scoring in progress, or None (then do the work here)."""
    return _current[-1] if _current else None


@contextlib.contextmanager
def second_core(n_items: int, warm: tuple[str, ...] = ()) -> Iterator[Helper | None]:
    """A helper process for a scoring of ``n_items`` items, when it pays (large, two usable cores); the
    ``warm`` tasks (``"module:function"``, no arguments) are queued at once. Inside another
    ``second_core``, that one's helper is reused."""
    if current() is not None:
        yield current()
        return
    if n_items < MIN_ITEMS or usable_cores() < 2 or os.environ.get("ALTBENCH_NO_HELPER"):
        yield None
        return
    try:
        helper = Helper()
    except OSError:
        yield None
        return
    for target in warm:
        helper.submit(target)
    _current.append(helper)
    try:
        yield helper
    except BaseException:
        _current.remove(helper)
        helper.close(kill=True)  # e.g. a data error: do not wait for the helper's task in progress
        raise
    _current.remove(helper)
    helper.close()


def main() -> None:
    """The helper's loop: one task file path a line on stdin, ``ok``/``error`` a line on stdout."""
    import gc

    gc.disable()  # the tasks make many short-lived objects and no cycles; the process is short-lived
    for line in sys.stdin:
        path = line.strip()
        try:
            with open(path, "rb") as fh:
                target, args = pickle.load(fh)
            module, _, name = target.partition(":")
            value = getattr(importlib.import_module(module), name)(*args)
            with open(f"{path}.out", "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            status = "ok"
        except BaseException:  # noqa: BLE001 - reported to the caller, which then does the work itself
            with open(f"{path}.out", "w") as fh:
                fh.write(traceback.format_exc())
            status = "error"
        sys.stdout.write(status + "\n")
        sys.stdout.flush()
    # stdin closed: the scoring is over and waits for this exit. Skip the interpreter's teardown (freeing
    # every token and table object one by one: tenths of a second); every answer is written and flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
