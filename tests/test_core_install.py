"""The core install, as a new user gets it: a fresh virtualenv, `pip install -e .` (no extras, no torch).

It must score saved predictions and, for everything that needs an extra, say in one line which extra to
install (exit 2, no traceback). The virtualenv is built from scratch (not ``--system-site-packages``: torch
is in this machine's system site-packages, which would hide exactly the failures this test is for); pip's
cache and the local index keep it to about a minute after the first download of pycocoevalcap.

Needs pip to reach a package index: set ``ALTBENCH_OFFLINE=1`` to skip it where none is reachable. CI
(`.ci/run`) does not set it, so there it always runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.install,
    pytest.mark.skipif(os.environ.get("ALTBENCH_OFFLINE") == "1",
                       reason="ALTBENCH_OFFLINE=1: building the core virtualenv needs a package index"),
]


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory) -> Path:
    """bin/ of a fresh virtualenv holding altbench's core install only (from a copy of the source, so the
    working tree's egg-info is left alone)."""
    base = tmp_path_factory.mktemp("core")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "altbench", src / "altbench", ignore=shutil.ignore_patterns("__pycache__"))
    venv = base / "venv"
    # no pip inside the venv (ensurepip costs seconds): this interpreter's pip installs into it (--python)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                          "--no-compile", "-e", str(src)], capture_output=True, text=True, check=False)
    assert pip.returncode == 0, pip.stderr[-3000:]
    probe = "import importlib.util as u; print([m for m in ('torch', 'transformers', 'trl', 'jinja2') if u.find_spec(m)])"
    found = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", f"the core install pulled {found.stdout.strip()}"
    return venv / "bin"


def _altbench(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([str(bin_dir / "altbench"), *args], capture_output=True, text=True, cwd=cwd, env=env,
                          check=False)


def _one_line_error(proc: subprocess.CompletedProcess, extra: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert f"(not installed): pip install 'altbench[{extra}]'" in proc.stderr


def test_core_install_scores_and_names_the_missing_extras(core_venv, tmp_path):
    assert _altbench(core_venv, "--help", cwd=tmp_path).returncode == 0

    # altbench score on saved predictions: the core's whole purpose
    from altbench.data.splits import load_split

    demo = load_split("demo")
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": it.id, "prediction": it.chosen, "error": None}) + "\n"
                             for it in demo.items))
    proc = _altbench(core_venv, "score", str(preds), "--split", "demo", "--out", "scored", "--resamples", "100",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "scored" / "results.json").read_text())
    assert "scored 48, failed 0" in proc.stdout and results["schema"].startswith("altbench.results/")

    # what needs an extra says which, in one line, and writes nothing
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_line_error(_altbench(core_venv, "run", cwd=tmp_path), "hf")
    _one_line_error(_altbench(core_venv, "run", "--model", str(REPO / "altbench/models/weights/altbench-tiny"),
                              cwd=tmp_path), "hf")
    _one_line_error(_altbench(core_venv, "train-baseline", "dpo", "--config", str(REPO / "baselines/dpo.yaml"),
                              "--dry-run", cwd=tmp_path), "train")
    _one_line_error(_altbench(core_venv, "report", "scored", cwd=tmp_path), "publish")
    _one_line_error(_altbench(core_venv, "score", str(preds), "--split", "demo", "--out", "s2", "--metrics",
                              "clipscore", cwd=tmp_path), "model-metrics")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    listing = _altbench(core_venv, "models", cwd=tmp_path)
    assert listing.returncode == 0 and "altbench-tiny  [pip install 'altbench[hf]']" in listing.stdout
