"""One writer per run folder: two ``altbench run`` of the same model and split never both append.

Real processes (the CLI in fresh interpreters) with an adapter that waits at a gate the test opens, so
which process holds the folder, and when generation ends, is decided by the test, not by timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from altbench.errors import AltbenchError
from altbench.models.registry import REGISTRY, ModelEntry
from altbench.run import lock as run_lock
from altbench.run.runner import RunConfig, Shard, run

TESTS = Path(__file__).resolve().parent
N = 8  # items of the demo split each run generates
CLI = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from altbench.models.registry import REGISTRY, ModelEntry
REGISTRY.add(ModelEntry('gated', 'adapters_for_tests:Gated'))
from altbench.cli import main
sys.argv = ['altbench'] + sys.argv[1:]
main()
"""


@pytest.fixture
def gate(tmp_path, tmp_path_factory):
    """(environment for the processes, the gate file, the folder where each records it started)."""
    started = tmp_path / "started"
    started.mkdir()
    gate = tmp_path / "gate"
    env = {**os.environ, "ALTBENCH_TEST_GATE": str(gate), "ALTBENCH_TEST_STARTED": str(started),
           "ALTBENCH_CACHE": str(tmp_path_factory.getbasetemp() / "cache"), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    return env, gate, started


def start(env: dict, out: Path) -> subprocess.Popen:
    args = ["run", "--model", "gated", "--split", "demo", "--limit", str(N), "--batch-size", "2", "--out", str(out)]
    return subprocess.Popen([sys.executable, "-c", CLI, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "predictions.jsonl").read_text().splitlines()]


def until(condition, what: str) -> None:
    """Wait for ``condition`` (a safety limit of five minutes: a hung process fails the test, never hangs it)."""
    give_up = time.monotonic() + 300
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_two_runs_started_together_one_generates_the_other_is_refused(gate, tmp_path):
    env, gate_file, started = gate
    out = tmp_path / "run"
    procs = [start(env, out), start(env, out)]
    try:
        # the gate is shut: a process that got the folder waits in generation; the other must be refused at once
        until(lambda: any(p.poll() is not None for p in procs) or len(list(started.iterdir())) == 2,
              "one run to be refused or both to generate")
        generating = sorted(int(p.name) for p in started.iterdir())
        assert len(generating) == 1, "both processes got into generation: the run folder has two writers"
        (winner,) = [p for p in procs if p.pid == generating[0]]
        (loser,) = [p for p in procs if p is not winner]
        _, err = loser.communicate(timeout=300)
        assert winner.poll() is None  # refused while the other still holds the folder
        assert loser.returncode == 2, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert lines[0].startswith(f"altbench: error: {out} is in use by another altbench run (pid {winner.pid}, "
                                   "started "), lines[0]
        assert lines[0].endswith("; wait for it to finish or choose another --out"), lines[0]
    finally:
        gate_file.touch()
        for p in procs:
            p.communicate(timeout=300)
    assert winner.returncode == 0, winner.stderr
    assert ids(out) == [str(i) for i in range(N)]  # exactly one record per id, in order


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(gate, tmp_path):
    env, gate_file, started = gate
    out = tmp_path / "run"
    first = start(env, out)
    until(lambda: (started / str(first.pid)).exists() or first.poll() is not None, "the first run to generate")
    assert first.poll() is None, first.communicate()[1]
    assert (out / run_lock.LOCK).is_file()  # the lock file stays behind a SIGKILL ...
    first.kill()  # SIGKILL: no clean-up runs; the kernel drops the flock with the process
    first.communicate()
    gate_file.touch()
    second = start(env, out)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err  # ... and does not block
    assert ids(out) == [str(i) for i in range(N)]


def test_the_lock_holder_is_named_and_released(tmp_path):
    folder = tmp_path / "run"
    with run_lock.hold_run_folder(folder):
        holder = (folder / run_lock.LOCK).read_text()
        assert holder.split()[0] == str(os.getpid())
        busy = rf"is in use by another altbench run \(pid {os.getpid()}, started "
        with pytest.raises(run_lock.RunFolderBusy, match=busy), run_lock.hold_run_folder(folder):
            pass
    with run_lock.hold_run_folder(folder):  # released: taken again at once
        pass
    assert (folder / run_lock.LOCK).read_text() == ""  # no stale holder named after release


@pytest.fixture
def echo(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setitem(REGISTRY._entries, "slow-echo", ModelEntry("slow-echo", "adapters_for_tests:SlowEcho"))


def test_ranks_of_one_distributed_launch_do_not_lock_each_other_out(tmp_path, monkeypatch, echo):
    cfg = RunConfig(model="slow-echo", split="demo", limit=4, out=tmp_path / "run", resamples=100)
    done = run(cfg)
    with run_lock.hold_run_folder(cfg.out):  # as the main rank of a launch holds it through the run
        with pytest.raises(AltbenchError, match="is in use by another altbench run"):
            run(cfg)  # a main rank (or a single process) of another launch is refused
        monkeypatch.setattr(Shard, "from_env", classmethod(lambda cls: cls(rank=1, world=2)))
        other_rank = run(cfg)  # rank 1 of the launch that holds the folder works beside its main rank
    assert other_rank.scoring.key == done.scoring.key and other_rank.resumed == 4
