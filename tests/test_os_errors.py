"""OS errors on the user's paths are user errors: a full disk, a read-only folder or a refused permission
gives one line naming the path and exit status 2, never a traceback, and leaves every earlier result and
prediction as it was (no partial file). Result files follow the umask, like predictions.jsonl.

Two ways to get there: a real small filesystem (a 1 MiB tmpfs, filled up; the same remounted read-only)
where ``mount`` is permitted (root in CI), and everywhere the same failures injected into the system calls
under one folder.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from altbench.cli import cli
from altbench.io import write_json_atomic
from altbench.run.runner import RunConfig, run

ERRORS = {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system",
          errno.EACCES: "Permission denied"}


@pytest.fixture(autouse=True)
def isolated(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.chdir(tmp_path)


def make_run(out: Path) -> Path:
    run(RunConfig(model="context-echo", split="demo", limit=4, out=out, resamples=100))
    return out


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (hidden ones included): relative path -> sha256 of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line(result, *parts: str) -> str:
    """Exit 2, one line on stderr holding every part, no exception escaped (no traceback)."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("altbench: error: cannot write "), lines
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def commands(disk: Path, run_dir: Path) -> dict[str, list[object]]:
    """Each command that writes, asked to do new work in ``disk`` (a new scoring, two more items, a new site
    and table), so that it must write there."""
    return {
        "score": ["score", run_dir / "predictions.jsonl", "--split", "demo", "--seed", "1"],
        "run": ["run", "--model", "context-echo", "--split", "demo", "--limit", "6", "--out", run_dir],
        "leaderboard": ["leaderboard", run_dir, "--out", disk / "site", "--no-images"],
        "export": ["export", "results", run_dir, "--out", disk / "table.parquet"],
    }


# ------------------------------------------------------------------- injected failures (always available)
class FullDiskFile:
    """A file object on a full disk: opening it worked, every write fails."""

    def __init__(self, fh, fail) -> None:
        self._fh, self._fail = fh, fail

    def write(self, data):
        self._fail(self._fh.name)

    writelines = write

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


class FailingWrites:
    """Make every write under ``root`` fail with ``err`` where the kernel reports it: a read-only or refused
    folder at open, mkdir, rename and unlink; a full disk when data is written or flushed to it (fsync)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path, err: int) -> None:
        self.root, self.err = str(root.resolve()), err
        real_open, real_os_open, real_fdopen, real_fsync = builtins.open, os.open, os.fdopen, os.fsync
        full = err == errno.ENOSPC

        def fail(path: object) -> None:
            raise OSError(self.err, os.strerror(self.err), os.fsdecode(path))

        def inside(path: object) -> bool:
            if isinstance(path, int):  # a file descriptor
                path = os.readlink(f"/proc/self/fd/{path}")
            return os.path.abspath(os.fsdecode(path)).startswith(self.root)

        def fake_open(file, mode="r", *args, **kwargs):
            writing = any(c in mode for c in "wax+") and inside(file)
            if writing and not full:
                fail(file)
            fh = real_open(file, mode, *args, **kwargs)
            return FullDiskFile(fh, fail) if writing else fh

        def fake_fdopen(fd, mode="r", *args, **kwargs):
            fh = real_fdopen(fd, mode, *args, **kwargs)
            return FullDiskFile(fh, fail) if full and any(c in mode for c in "wax+") and inside(fd) else fh

        def fake_os_open(path, flags, *args, **kwargs):
            writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
            if writing and not full and inside(path):
                fail(path)
            return real_os_open(path, flags, *args, **kwargs)

        def fake_fsync(fd):
            if full and inside(fd):
                fail(os.readlink(f"/proc/self/fd/{fd}"))
            return real_fsync(fd)

        def guard(real):
            def fake(path, *args, **kwargs):
                if not full and inside(path):
                    fail(path)
                return real(path, *args, **kwargs)
            return fake

        for module in (builtins, io):
            monkeypatch.setattr(module, "open", fake_open)
        monkeypatch.setattr(os, "fdopen", fake_fdopen)
        monkeypatch.setattr(os, "open", fake_os_open)
        monkeypatch.setattr(os, "fsync", fake_fsync)
        for name in ("mkdir", "replace", "rename", "unlink", "rmdir"):
            monkeypatch.setattr(os, name, guard(getattr(os, name)))


@pytest.mark.parametrize("err", list(ERRORS), ids=[errno.errorcode[e] for e in ERRORS])
@pytest.mark.parametrize("command", ["score", "run", "leaderboard", "export"])
def test_injected_os_error_is_one_line_exit_2_and_nothing_partial(command, err, tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    run_dir = make_run(disk / "run")
    before = snapshot(disk)
    args = commands(disk, run_dir)[command]
    FailingWrites(monkeypatch, disk, err)
    result = invoke(*args)
    monkeypatch.undo()
    assert_one_line(result, str(disk), ERRORS[err])
    assert snapshot(disk) == before  # results.json, the scorings and predictions.jsonl as they were


def test_an_os_error_without_a_file_name_names_the_command(tmp_path, monkeypatch):
    run_dir = make_run(tmp_path / "run")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # no filename, as some libraries raise it

    monkeypatch.setattr("altbench.results.frames.write_table", no_space)
    result = invoke("export", "results", run_dir, "--out", tmp_path / "t.csv")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["altbench: error: export: No space left on device"]


def test_a_programming_error_is_not_turned_into_one_line(tmp_path, monkeypatch):
    run_dir = make_run(tmp_path / "run")

    def bug(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("altbench.results.frames.write_table", bug)
    result = invoke("export", "results", run_dir, "--out", tmp_path / "t.csv")
    assert isinstance(result.exception, KeyError)  # a bug keeps its traceback


# ------------------------------------------------------------------------ a real small filesystem (root)
@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs at tmp_path/disk, unmounted afterwards; skipped where mounting is not permitted."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip() or done.returncode}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: nothing left to flush when the disk is full
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.parametrize("command", ["score", "run", "leaderboard", "export"])
def test_full_disk_is_one_line_exit_2_and_nothing_partial(command, small_fs):
    run_dir = make_run(small_fs / "run")
    fill(small_fs)
    before = snapshot(small_fs)
    result = invoke(*commands(small_fs, run_dir)[command])
    assert_one_line(result, str(small_fs), "No space left on device")
    assert snapshot(small_fs) == before
    (small_fs / "filler").unlink()  # with room again, the same command works
    again = invoke(*commands(small_fs, run_dir)[command])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("command", ["score", "run", "leaderboard", "export"])
def test_read_only_output_is_one_line_exit_2(command, small_fs):
    run_dir = make_run(small_fs / "run")
    before = snapshot(small_fs)
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        result = invoke(*commands(small_fs, run_dir)[command])
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    assert_one_line(result, str(small_fs), "Read-only file system")
    assert snapshot(small_fs) == before


# ------------------------------------------------------------------------------ permissions and durability
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_result_files_follow_the_umask_like_predictions(umask, mode, tmp_path):
    old = os.umask(umask)
    try:
        out = make_run(tmp_path / "run")
    finally:
        os.umask(old)
    files = [out / "predictions.jsonl", out / "results.json", out / "run.json", *out.glob("scorings/*")]
    assert len(files) == 4
    assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: oct(mode) for f in files}


def test_atomic_write_fsyncs_the_folder_after_the_rename(tmp_path, monkeypatch):
    synced: list[tuple[str, bool, bool]] = []  # (path, is a folder, target exists yet)
    real_fsync = os.fsync
    target = tmp_path / "sub" / "results.json"

    def recording_fsync(fd):
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), stat.S_ISDIR(os.fstat(fd).st_mode), target.exists()))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_json_atomic(target, {"a": 1})
    assert [(is_dir, after) for _, is_dir, after in synced] == [(False, False), (True, True)]
    assert synced[1][0] == str(target.parent)
