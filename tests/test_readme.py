"""The README is executable: every command of its ``bash`` and ``python`` blocks is run, in README order,
in a copy of the repository's working tree inside a temporary folder, offline, with ``../shared``
linked beside the copy as the README assumes.

How each command is treated, and nothing else is tolerated:

- install commands (``apt-get install``, ``pip install``, ``python -m pytest``) are not re-run here (the
  machine is installed, and the test command would run this test again); they are checked for consistency
  instead: the apt packages are those `.ci/run` installs, the torch pin is `.ci/run`'s CPU pin, every
  ``.[extra]`` exists in pyproject.toml, and `.ci/run` ends with the README's test command;
- a few commands need what no offline test machine has (an API key, the full data, files a user supplies
  under placeholder names): :data:`CANNOT_RUN` names each by a pattern, says why, and the command is still
  run and must fail as a user would see it: exit 2 with the expected one-line error, no traceback;
- the files the examples read as a user's own (``my_items.jsonl``, ``eval_output/talt.jsonl``, ...) are made
  first by :func:`user_files`, from the demo split and the released sample;
- every other command must exit 0;
- no command changes a tracked file of the checkout (``git status`` of the copy, which is made a git
  repository for this), except ``leaderboards/build.sh``, the one command that rewrites the committed site,
  and only under ``leaderboards/``: a new user running the README in the repository damages nothing.

A README command that matches nothing here and fails is drift, and fails this test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE = SHARED / "data" / "mcmdpo-sample"

# pattern (searched in the command) -> (why it cannot succeed here, the one-line error it must give)
CANNOT_RUN: dict[str, tuple[str, str]] = {
    r"--data-root /data/talt": ("the full TAlt data is not public", "/data/talt/twitter/twitter_test.json not found"),
    r"altbench arena runs/\S+ runs/\S+ --judge gpt-4o-mini": ("needs an OpenAI API key",
                                                              "$OPENAI_API_KEY is not set"),
    r"altbench arena NEW_RUN": ("NEW_RUN, A_RUN... stand for the user's run folders", "Path 'NEW_RUN' does not exist"),
    r"altbench meta-eval judgments\.jsonl": ("judgments.jsonl stands for the user's human judgments",
                                             "Path 'judgments.jsonl' does not exist"),
    r"--format mcmdpo-pairs .*judge\.model=gpt-4o-mini": ("needs an OpenAI API key", "$OPENAI_API_KEY is not set"),
}
INSTALL = re.compile(r"^(apt-get |pip install |python -m pytest)")
# the one README command allowed to rewrite tracked files, and where
WRITES_TRACKED = {"leaderboards/build.sh": "leaderboards/"}


def blocks(text: str) -> list[tuple[str, int, str]]:
    """(language, first line number, body) of every fenced block."""
    out, lang, start, body = [], None, 0, []
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            if lang is None:
                lang, start, body = line[3:].strip(), n + 1, []
            else:
                out.append((lang, start, "\n".join(body)))
                lang = None
        elif lang is not None:
            body.append(line)
    return out


def commands(body: str) -> list[str]:
    """The block's commands: continuation lines joined, comment-only lines dropped, trailing comments cut."""
    joined = body.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(re.sub(r"\s+#.*$", "", line).strip())
    return out


def extras(pyproject: str) -> set[str]:
    """The extras pyproject.toml declares (read by line: tomllib is Python 3.11+, the project 3.10+)."""
    section = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([A-Za-z0-9_-]+) = \[", section, flags=re.MULTILINE))


def check_install(segment: str, ci: str, pyproject: str) -> None:
    """An install command, checked against `.ci/run` and pyproject.toml instead of being run."""
    words = shlex.split(segment)
    if words[0] == "apt-get":
        wanted = set(re.findall(r"need_apt\+=\((\S+)\)", ci))
        assert set(words[3:]) <= wanted, f"README installs {words[3:]}, .ci/run {sorted(wanted)}"
    elif words[:2] == ["pip", "install"]:
        for word in words[2:]:
            pin = re.fullmatch(r"(torch|torchvision)==(\S+)", word)
            if pin:
                assert word in ci, f"README pins {word}; .ci/run installs another {pin[1]}"
            extra = re.fullmatch(r"\.\[(\S+)\]", word)
            if extra:
                assert extra[1] in extras(pyproject), f"pyproject.toml has no extra {extra[1]!r}"
    else:  # the test command itself: .ci/run must run exactly it
        assert "python -m pytest" in ci


def user_files(work: Path) -> None:
    """What the examples read as the user's own files, made from the demo split and the released sample."""
    from altbench.data.splits import load_split

    demo = load_split("demo")
    (work / "my_images").mkdir()
    rows = []
    for item in demo.items[:8]:
        shutil.copy2(item.image, work / "my_images" / item.image.name)
        rows.append({"image_path": item.image.name, "question": item.question, "chosen": item.chosen,
                     "idx": item.id})
    (work / "my_items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    train = [{"image_path": it.image.name, "idx": it.id,
              "text": json.dumps({"question": it.question, "chosen": it.chosen, "rejected": it.rejected})}
             for it in load_split("demo-train").items[:64]]
    (work / "my_train.json").write_text(json.dumps(train))
    if SAMPLE.is_dir():  # the reference work's inference output, and its data folder, as the README shows
        (work / "eval_output").mkdir()
        test = [json.loads(line) for line in (SAMPLE / "twitter" / "twitter_test.json").read_text().splitlines()]
        (work / "eval_output" / "talt.jsonl").write_text(
            "".join(json.dumps({**r, "response": "Assistant: " + r["chosen"]}) + "\n" for r in test))
        (work / "data").mkdir()
        (work / "data" / "twitter").symlink_to(SAMPLE / "twitter")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A copy of the working tree (tracked files and new ones git does not ignore), with ../shared beside it:
    commands run as ``python -m`` from the copy import its package, so it must be the code under test."""
    base = tmp_path_factory.mktemp("readme")
    copy = base / "altbench"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        src = REPO / rel
        if src.is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / rel)
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "the working tree under test")
    user_files(copy)
    return copy


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false",
                           *args], cwd=folder, capture_output=True, text=True, check=True).stdout


def changed_tracked(folder: Path) -> list[str]:
    """Tracked files the commands changed or deleted (``git status`` without untracked files)."""
    return [line[3:] for line in git(folder, "status", "--porcelain", "--untracked-files=no").splitlines()]


def test_readme_commands_run(work, tmp_path_factory):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert ci.rstrip().splitlines()[-1] == "pip install -e '.[all]' && python -m pytest -q"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", OMP_NUM_THREADS="1",
               ALTBENCH_CACHE=str(tmp_path_factory.getbasetemp() / "cache"), HF_HUB_OFFLINE="1")
    env.pop("ALTBENCH_DATA", None)
    ran = 0
    for lang, line_no, body in blocks(text):
        if lang == "python":
            proc = subprocess.run([sys.executable, "-c", body], cwd=work, env=env, capture_output=True, text=True,
                                  check=False)
            assert proc.returncode == 0, f"README.md:{line_no}: python block failed\n{proc.stderr[-2000:]}"
            assert not changed_tracked(work), f"README.md:{line_no}: changed tracked files: {changed_tracked(work)}"
            ran += 1
            continue
        if lang != "bash":
            continue
        for command in commands(body):
            where = f"README.md:{line_no}: {command}"
            if "../shared" in command and not SAMPLE.is_dir():
                continue  # the README says this example needs ../shared; skipped as the sample tests are
            runnable = []
            for segment in (s.strip() for s in command.split("&&")):
                if INSTALL.match(segment):
                    check_install(segment, ci, pyproject)
                else:
                    runnable.append(segment)
            if not runnable:
                continue
            proc = subprocess.run(["bash", "-c", " && ".join(runnable)], cwd=work, env=env, capture_output=True,
                                  text=True, check=False)
            ran += 1
            changed = changed_tracked(work)
            allowed = next((folder for cmd, folder in WRITES_TRACKED.items() if command.startswith(cmd)), None)
            assert not [p for p in changed if allowed is None or not p.startswith(allowed)], \
                f"{where}: changed tracked files of the checkout: {changed[:10]}"
            if changed:  # the committed site, rebuilt: the new baseline for the commands after it
                git(work, "commit", "-q", "-a", "-m", "rebuilt by leaderboards/build.sh")
            expected = [v for k, v in CANNOT_RUN.items() if re.search(k, command)]
            if expected:
                why, message = expected[0]
                assert proc.returncode == 2 and "Traceback" not in proc.stderr, f"{where}\n{proc.stderr[-2000:]}"
                assert message in proc.stderr, f"{where} ({why}): expected {message!r}, got {proc.stderr[-500:]}"
            else:
                assert proc.returncode == 0, f"{where}\nstdout: {proc.stdout[-1500:]}\nstderr: {proc.stderr[-2000:]}"
    assert ran >= 20, f"only {ran} README commands ran: the README parser lost some"
