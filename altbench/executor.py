"""One executor for a command's parallel work: pure tasks (:mod:`altbench.tasks`) on ``--jobs`` worker processes.

The work that splits is a list of pure tasks: the paper convention's per-item metrics by blocks of items, the
diagnostics by blocks, the bootstrap's and the permutation test's chunks of resamples, the arena's refits,
meta-eval's Kendall taus. The modules that make the tasks take a starmap and never import this module; the
pipeline (``altbench/run/``, the commands) makes one :class:`Executor` per command, from ``--jobs``, and hands
its :meth:`Executor.starmap` down (and its ``jobs``, which caps the coco METEOR JVMs).

* ``jobs`` worker processes (default: the usable cores, :func:`usable_cores`) of a standard
  :class:`concurrent.futures.ProcessPoolExecutor`, started on first use (a starmap of :data:`MIN_TASKS` tasks
  or more) or by :meth:`Executor.start`, and kept for the rest of the command. ``jobs=1``: no pool, every task
  runs in this process when its result is asked for. Python code that asks for workers must be importable
  without side effects (the ``if __name__ == "__main__":`` guard of :mod:`multiprocessing`); the library's
  entry points default to ``jobs=1``, the CLI to the usable cores.
* The work is cut into tasks by fixed sizes (items per block, resamples per chunk, each chunk with its own
  seeded generator), never by the number of workers, so no number depends on ``jobs``
  (``tests/test_parallel_numbers.py``). Only how many tasks travel in one message does
  (:meth:`Executor.batch_size`): arguments the tasks of a message share, such as the statistics matrix of every
  bootstrap chunk, are pickled once per message.
* Workers are started by the ``forkserver`` method where there is one: each is forked from a server process
  that imported the task modules and ran the warm-up functions once (:mod:`altbench.executor_preload`: the
  paper convention's WordNet table, for one), so a worker neither inherits this process's memory and threads
  (a scoring's split, a model's torch threads) nor loads those again; ``spawn`` elsewhere. The server starts
  at :meth:`Executor.start`; one thread of this process hands the tasks to the pool, so that this process goes
  on with its own work (CIDEr-D, the split's hash) while the first workers wait for the server.
* Workers inherit this process's environment, hence its BLAS settings: a chunk's matrix product gives the same
  bits in a worker as here (the CLI pins ``OPENBLAS_NUM_THREADS=1``, ``altbench/cli/__init__.py``).
* Workers ignore SIGINT. Ctrl-C, or an error, in this process leaves the ``with`` block of the executor, which
  cancels the tasks not yet started and kills the workers at once: no process is left behind
  (``tests/test_executor.py``).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from typing import TYPE_CHECKING, Any

from altbench.errors import AltbenchError
from altbench.tasks import IN_PROCESS

if TYPE_CHECKING:
    from typing_extensions import Self

BATCHES_PER_WORKER = 4  # messages per worker and starmap: shared arguments pickled few times, work still balanced
# Fewer tasks than this (each task is tens of milliseconds or more of work, by the fixed sizes of blocks and
# chunks) run here unless the workers are already started: starting them takes a few tenths of a second.
MIN_TASKS = 8
PRELOAD = ("numpy", "altbench.executor", "altbench.stats.bootstrap")  # imported once, in the fork server
WARM_ENV = "ALTBENCH_EXECUTOR_WARM"  # the warm-up functions, for the fork server (altbench.executor_preload)


class WorkerError(AltbenchError):
    """A worker process ended abruptly (killed, out of memory): its tasks' results are lost."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. under ``taskset``): the default ``--jobs``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _worker_start(warm: Sequence[str]) -> None:
    """In each worker, once: leave Ctrl-C to the parent, then the warm-up functions (``module:function``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for target in warm:
        module, _, name = target.partition(":")
        getattr(importlib.import_module(module), name)()


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started inside are born ignoring SIGINT: an ignored signal stays ignored across exec, and the
    fork server started now hands its own disposition on to every worker it forks. (The workers' initializer
    ignores it too, but only once it runs.) Ctrl-C then reaches this process alone, which ends them."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: the initializer does it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """``os.environ[name] = value`` for the processes started inside (the fork server reads it once)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _run_batch(fn: Callable[..., Any], tasks: list[tuple]) -> list[Any]:
    return [fn(*args) for args in tasks]


def _started() -> None:
    """A task that does nothing: one per worker makes the pool start them all now."""


class Executor:
    """Worker processes for one command's pure tasks; use it as a context manager (``with Executor(jobs) as ex``).

    ``jobs``: worker processes (None: :func:`usable_cores`; 1: none, tasks run here). ``warm``: functions
    (``"module:function"``, no arguments) each worker runs when it starts, e.g. to load a table its tasks need.
    """

    def __init__(self, jobs: int | None = None, warm: Sequence[str] = ()) -> None:
        self.jobs = usable_cores() if jobs is None else int(jobs)
        if self.jobs < 1:
            raise AltbenchError(f"jobs must be at least 1, got {jobs}")
        self.warm = tuple(warm)
        self._pool: ProcessPoolExecutor | None = None
        # hands the tasks to the pool: a submission that starts a worker waits for the fork server to have warmed
        # up, and this process has its own work to do meanwhile
        self._submitter: ThreadPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def start(self) -> None:
        """Start the workers now (they warm up while this process does other work); nothing with ``jobs=1``."""
        if self.jobs > 1 and self._pool is None:
            ctx = multiprocessing.get_context(_start_method())
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_worker_start,
                                             initargs=(self.warm,))
            self._submitter = ThreadPoolExecutor(1, thread_name_prefix="altbench-executor")
            with _children_ignore_ctrl_c(), _environ(WARM_ENV, ",".join(self.warm)):
                if ctx.get_start_method() == "forkserver":
                    # the server starts now and warms up for all workers (altbench.executor_preload) while this
                    # process goes on; the workers are forked from it when the first tasks come (on demand, one
                    # per task submitted while none is idle). Both are ignored once this process's server runs.
                    ctx.set_forkserver_preload([*PRELOAD, "altbench.executor_preload"])
                    forkserver.ensure_running()
                else:
                    for _ in range(self.jobs):  # spawned workers: started now, each warms up
                        self._pool.submit(_started)

    def batch_size(self, tasks: int) -> int:
        """Tasks per message to a worker (speed only: every task is computed alone, whatever travels with it)."""
        return max(1, math.ceil(tasks / (self.jobs * BATCHES_PER_WORKER)))

    def starmap(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        """``fn(*args)`` for each argument tuple, in order. With workers, every task is handed out now and the
        iterator yields each result when it is ready; a task's exception is raised here. Without (``jobs=1``,
        or fewer than :data:`MIN_TASKS` tasks while no worker is started), the tasks run here as the results
        are asked for."""
        tasks = list(tasks)
        if self.jobs == 1 or (self._pool is None and len(tasks) < MIN_TASKS):
            return IN_PROCESS(fn, tasks)
        self.start()
        size = self.batch_size(len(tasks))
        handed = [self._submitter.submit(self._pool.submit, _run_batch, fn, tasks[i : i + size])
                  for i in range(0, len(tasks), size)]
        return self._results(handed)

    @staticmethod
    def _results(handed: list[Future]) -> Iterator[Any]:
        """The results of the batches handed to the pool (``handed``: futures of the pool's futures)."""
        try:
            for hand_out in handed:
                try:
                    batch = hand_out.result().result()
                except BrokenProcessPool as exc:
                    raise _worker_error(exc) from exc
                yield from batch
        finally:  # the caller stopped early (an error): the batches not yet started are not needed
            for hand_out in handed:
                if not hand_out.cancel() and hand_out.done() and hand_out.exception() is None:
                    hand_out.result().cancel()

    def close(self, kill: bool = False) -> None:
        """Stop the workers: after the tasks in progress, or with ``kill`` (an error, Ctrl-C) at once."""
        pool, self._pool = self._pool, None
        submitter, self._submitter = self._submitter, None
        if submitter is not None:  # first the hand-outs (one may be starting a worker), so that none comes after
            submitter.shutdown(wait=True, cancel_futures=kill)
        if pool is None:
            return
        if not kill:
            pool.shutdown(wait=True)
            return
        # Python < 3.14 has no public way to stop a busy worker (3.14: terminate_workers); its processes are
        # kept in _processes, as multiprocessing.Process objects
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.kill()
        for proc in processes:
            with contextlib.suppress(Exception):
                proc.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)


def _worker_error(exc: BaseException) -> WorkerError:
    return WorkerError(f"a worker process ended abruptly (killed, or out of memory?): {exc}; "
                       "--jobs 1 computes everything in this process")
