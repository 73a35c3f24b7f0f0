"""altbench.executor: tasks in order, errors raised where the results are asked for, and no process left behind
after an error in a task, an error in this process or Ctrl-C.

Processes are found through psutil when it is installed, else /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from altbench.errors import AltbenchError
from altbench.executor import MIN_TASKS, Executor, WorkerError, usable_cores

REPO = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        import psutil

        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except ImportError:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False
    except Exception:  # noqa: BLE001 - gone between the two calls
        return False


def _descendants(pid: int) -> set[int]:
    try:
        import psutil

        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except ImportError:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().split(")")[-1].split()[1])
                except OSError:
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        out, todo = set(), [pid]
        while todo:
            for child in children.get(todo.pop(), []):
                out.add(child)
                todo.append(child)
        return out


def _gone_soon(pids: set[int], seconds: float = 20.0) -> set[int]:
    """The pids still alive after waiting up to ``seconds`` for them to end."""
    deadline = time.monotonic() + seconds
    left = set(pids)
    while left and time.monotonic() < deadline:
        left = {p for p in left if _alive(p)}
        time.sleep(0.05)
    return left


def _workers(executor: Executor, at_least: int = 0) -> set[int]:
    """The pids of the executor's workers, once there are ``at_least`` (they start in the background)."""
    deadline = time.monotonic() + 60
    while True:
        pids = {p.pid for p in (executor._pool._processes or {}).values()}
        if len(pids) >= at_least or time.monotonic() > deadline:
            return pids
        time.sleep(0.02)


def _fail_on(x: int, bad: int) -> int:
    if x == bad:
        raise ValueError(f"task {x} fails")
    return x * x


def test_results_in_order_from_workers_and_here():
    tasks = [(x, -1) for x in range(3 * MIN_TASKS)]
    with Executor(2) as executor:
        assert list(executor.starmap(_fail_on, tasks)) == [x * x for x in range(3 * MIN_TASKS)]
        assert executor.started and len(_workers(executor)) == 2
        workers = _workers(executor)
    assert not _gone_soon(workers)  # leaving the block normally ends the workers too
    with Executor(1) as alone:
        assert list(alone.starmap(_fail_on, tasks)) == [x * x for x in range(3 * MIN_TASKS)]
        assert not alone.started  # jobs=1: no pool
    with Executor(2) as few:
        assert list(few.starmap(_fail_on, tasks[:2])) == [0, 1] and not few.started  # too few tasks: here


def test_defaults_and_bad_jobs():
    assert Executor().jobs == usable_cores() == len(os.sched_getaffinity(0))
    with pytest.raises(AltbenchError, match="jobs must be at least 1"):
        Executor(0)


def test_an_error_in_a_task_is_raised_here_and_no_worker_is_left():
    executor = Executor(2)
    with pytest.raises(ValueError, match="task 5 fails"), executor:
        results = executor.starmap(_fail_on, [(x, 5) for x in range(3 * MIN_TASKS)])
        workers = _workers(executor, 2)
        list(results)
    assert len(workers) == 2 and not _gone_soon(workers, 10)
    assert not executor.started


def test_an_error_here_kills_busy_workers_at_once():
    executor = Executor(2)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="a data error"), executor:
        executor.starmap(time.sleep, [(60,)] * MIN_TASKS)  # every worker busy for a minute
        workers = _workers(executor, 2)
        raise RuntimeError("a data error")
    assert not _gone_soon(workers, 10) and time.monotonic() - t0 < 30


def test_a_killed_worker_is_a_one_line_error():
    with pytest.raises(WorkerError, match="ended abruptly.*--jobs 1"), Executor(2) as executor:
        results = executor.starmap(time.sleep, [(2,)] * MIN_TASKS)
        for pid in _workers(executor, 2):
            os.kill(pid, signal.SIGKILL)
        list(results)


CTRL_C = """
import os, sys, time
from altbench.executor import Executor, MIN_TASKS


def busy(seconds):
    print("busy", os.getpid(), flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    with Executor(2) as executor:
        executor.starmap(busy, [(60,)] * MIN_TASKS)
        time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups: POSIX only")
def test_ctrl_c_leaves_no_process_behind(tmp_path):
    """Ctrl-C as a terminal sends it: SIGINT to the whole process group (the parent, the workers, the
    executor's fork server). Afterwards no process the parent started is left."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(textwrap.dedent(CTRL_C))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO, start_new_session=True)
    try:
        for _ in range(2):  # both workers in their task
            assert proc.stdout.readline().startswith("busy"), proc.stderr.read()
        started = _descendants(proc.pid)
        assert len(started) >= 2  # the workers (and the fork server)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert err.count("Traceback") == 1, err  # the parent's; the workers ignore SIGINT
    assert not _gone_soon(started)


def test_cli_ctrl_c_during_a_scoring_leaves_no_process_behind(tmp_path):
    """``altbench score`` of a large file, interrupted while its workers score: exit 130, nothing left."""
    items = _synthetic_file(tmp_path, 6000)
    proc = subprocess.Popen([sys.executable, "-m", "altbench", "score", str(items), "--split", str(items),
                             "--out", str(tmp_path / "out"), "--jobs", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(started := _descendants(proc.pid)) < 3 and time.monotonic() < deadline:  # server + 2 workers
            time.sleep(0.05)
        assert len(started) >= 3
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not _gone_soon(started)


def _synthetic_file(folder: Path, n: int) -> Path:
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("_bench_paper_for_tests", REPO / "bench" / "bench_paper.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    refs, preds = mod.make_items(n, 7)
    path = folder / "items.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i, ((ref,), pred) in enumerate(zip(refs, preds)):
            fh.write(json.dumps({"image_path": f"{i}.jpg", "idx": i, "chosen": ref, "response": pred,
                                 "question": f"Context:\npost number {i % 97}"}) + "\n")
    return path
