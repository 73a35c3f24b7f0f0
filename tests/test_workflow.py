"""The shipped GitHub Actions workflow: valid YAML, and its steps run locally as written.

Only the install step (apt-get, pip) is replaced: this checkout is already installed. Every other ``run:``
step is executed with bash in a scratch folder that sees the repository's ``baselines/``, with the
workflow's environment, so the same commands that gate a checkpoint on GitHub are exercised here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "altbench-regress.yml"
REMAKE = "altbench run --model retrieval --split demo --out baselines/regress/demo-retrieval"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow):
    return workflow["jobs"]["regress"]["steps"]


def test_workflow_is_a_valid_github_actions_file(workflow):
    assert isinstance(workflow["name"], str)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    job = workflow["jobs"]["regress"]
    assert job["runs-on"] == "ubuntu-latest"
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    assert uses[0].startswith("actions/checkout@") and any(u.startswith("actions/setup-python@") for u in uses)
    install = next(s for s in job["steps"] if s.get("id") == "install")
    assert "pip install" in install["run"]
    commands = " ".join(s.get("run", "") for s in job["steps"])
    assert "altbench run" in commands and "altbench regress" in commands
    baseline = ROOT / workflow["env"]["ALTBENCH_BASELINE"]
    assert (baseline / "results.json").is_file() and (baseline / "scores.jsonl").is_file()


def _bin(tmp: Path) -> Path:
    """An ``altbench`` on PATH that is this interpreter's altbench (what the install step provides)."""
    bindir = tmp / "bin"
    bindir.mkdir()
    exe = bindir / "altbench"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m altbench "$@"\n')
    exe.chmod(0o755)
    return bindir


def _run_steps(workflow, tmp: Path, **overrides) -> dict[str, subprocess.CompletedProcess]:
    work = tmp / "checkout"
    work.mkdir()
    (work / "baselines").symlink_to(ROOT / "baselines")
    env = {**os.environ, **{k: str(v) for k, v in workflow.get("env", {}).items()}, **overrides}
    env["PATH"] = f"{_bin(tmp)}{os.pathsep}{env['PATH']}"
    env.setdefault("ALTBENCH_NLTK_DATA", str(tmp / "nltk_data"))
    env["ALTBENCH_CACHE"] = str(tmp / "cache")
    env["OMP_NUM_THREADS"] = "1"
    done = {}
    for step in _steps(workflow):
        if "run" not in step or step.get("id") == "install":
            continue
        step_env = {**env, **{k: str(v) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=work, env=step_env, capture_output=True,
                              text=True, timeout=600, check=False)
        done[step["name"]] = proc
        if proc.returncode != 0:
            break
    return done


@pytest.fixture(scope="module")
def nltk_dir(tmp_path_factory):
    """Where the NLTK data is: the user's, if already built; else the workflow's setup step builds it."""
    from altbench.errors import MissingResourceError
    from altbench.metrics.nltk_data import default_target, ensure_nltk_data

    try:
        ensure_nltk_data()
        return str(default_target())
    except MissingResourceError:
        return str(tmp_path_factory.mktemp("nltk") / "nltk_data")


def test_workflow_steps_pass_on_the_shipped_example(workflow, tmp_path, nltk_dir):
    done = _run_steps(workflow, tmp_path, ALTBENCH_NLTK_DATA=nltk_dir)
    gate = done.get("Gate against the committed baseline")
    for name, proc in done.items():
        assert proc.returncode == 0, (
            f"step {name!r} failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}\n"
            f"if the scorers changed on purpose, re-make the baseline: {REMAKE}")
    assert gate is not None
    assert "regress: PASS" in gate.stdout and "paper/rougeL" in gate.stdout
    verdict = json.loads((tmp_path / "checkout" / workflow["env"]["ALTBENCH_VERDICT"]).read_text())
    assert verdict["status"] == "pass" and len(verdict["metrics"]) == 4


def test_workflow_fails_the_job_on_a_regression(workflow, tmp_path, nltk_dir):
    # a worse candidate (context echo instead of retrieval): the gate step exits 1, which fails the job
    done = _run_steps(workflow, tmp_path, ALTBENCH_NLTK_DATA=nltk_dir, ALTBENCH_MODEL="context-echo")
    last = list(done.values())[-1]
    gate = done.get("Gate against the committed baseline")
    assert gate is not None, f"a step before the gate failed: {last.stdout[-1500:]}{last.stderr[-1500:]}"
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "REGRESSION" in gate.stdout
    verdict = json.loads((tmp_path / "checkout" / workflow["env"]["ALTBENCH_VERDICT"]).read_text())
    assert verdict["status"] == "regression"
