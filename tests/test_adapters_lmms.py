"""The lmms-eval bridge and task export, run offline against a real lmms-eval in its own virtualenv.

lmms-eval is an optional extra that changes the importing process's logging, so it lives in a separate
interpreter: $ALTBENCH_LMMS_PYTHON, else /tmp/lmms-venv or .cache/lmms-venv beside the repo (made with
``python -m venv --system-site-packages DIR && DIR/bin/pip install lmms-eval decord 'filelock<4'``). Skipped without it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from altbench.data.splits import load_split
from altbench.run.predictions import PredictionRecord
from altbench.run.runner import RunConfig, run
from altbench.run.scoring import score_split

pytest_plugins = ["tiny_models"]  # session fixtures: tiny checkpoints built offline

ROOT = Path(__file__).resolve().parents[1]
CONVENTION = "paper"
# `python -m lmms_eval ARGS` with the bridge worker's torchvision fix applied first (PyPI's torchvision does not
# load beside the CPU-only torch of the CPU test install; the worker applies the same fix for the bridge)
LAUNCH_LMMS_EVAL = ("import runpy, sys; worker = runpy.run_path(sys.argv.pop(1)); "
                    "worker['_torchvision_on_cpu_torch'](); sys.argv[0] = 'lmms_eval'; "
                    "runpy.run_module('lmms_eval', run_name='__main__', alter_sys=True)")


def _lmms_python() -> str | None:
    for candidate in (
        os.environ.get("ALTBENCH_LMMS_PYTHON"),
        "/tmp/lmms-venv/bin/python",
        str(ROOT / ".cache" / "lmms-venv" / "bin" / "python"),
    ):
        if candidate and Path(candidate).exists():
            probe = subprocess.run(
                [candidate, "-c", "import importlib.util as u; exit(u.find_spec('lmms_eval') is None)"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if probe.returncode == 0:
                return candidate
    return None


@pytest.fixture(scope="module")
def lmms_python():
    python = _lmms_python()
    if python is None:
        pytest.skip(
            "lmms-eval is not installed in a separate interpreter (set ALTBENCH_LMMS_PYTHON=VENV/bin/python; "
            "see this module's docstring)"
        )
    return python


@pytest.fixture(autouse=True)
def offline(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_lmms_bridge_runs_lmms_evals_own_llava_wrapper(lmms_python, tiny_llava, demo_batch, tmp_path):
    """lmms:llava_hf on the tiny LLaVA gives the same greedy text as altbench's own LLaVA adapter."""
    out = run(
        RunConfig(
            model="lmms:llava_hf",
            split="demo",
            limit=4,
            batch_size=4,
            out=tmp_path / "run",
            resamples=100,
            convention=CONVENTION,
            model_args={
                "python": lmms_python,
                "model_args": f"pretrained={tiny_llava},device_map=cpu",
                "device": "cpu",
                "max_new_tokens": 8,
            },
        )
    )
    assert out.results["counts"]["scored"] == 4
    fp = out.results["model"]["fingerprint"]["adapter"]
    assert fp["bridge"] == "lmms-eval" and fp["class"].endswith("LlavaHf")
    assert "lmms_eval" not in fp  # versions are provenance, not part of the run id
    bridged = [
        json.loads(line)["prediction"]
        for line in (out.run_dir / "predictions.jsonl").read_text().splitlines()
    ]

    from altbench.models.llava import LlavaAdapter

    items, images = demo_batch
    own = [
        g.prediction
        for g in LlavaAdapter(path=str(tiny_llava), max_new_tokens=8).generate(items[:4], images[:4])
    ]
    assert bridged == own
    assert "lmms_eval" not in sys.modules  # the host never imported it


def test_bridge_without_lmms_eval_says_how_to_install(tmp_path):
    from altbench.errors import MissingResourceError
    from altbench.models.lmms_bridge import LmmsAdapter

    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')  # an interpreter without site-packages
    fake.chmod(0o755)
    with pytest.raises(MissingResourceError, match="lmms-eval is not installed"):
        LmmsAdapter("dummy", python=str(fake), timeout=120)


def test_exported_talt_task_runs_in_lmms_eval_with_altbench_scoring(lmms_python, sample_root, tmp_path):
    from click.testing import CliRunner

    from altbench.cli import cli

    tasks = tmp_path / "tasks"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "lmms-eval",
            str(tasks),
            "--task",
            "talt=talt-sample",
            "--task",
            "altbench_demo=demo",
            "--data-root",
            str(sample_root),
            "--convention",
            CONVENTION,
            "--max-new-tokens",
            "32",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "talt: 10 items from talt-sample" in result.output
    response = "a person holding a sign"
    done = subprocess.run(
        [
            lmms_python,
            "-c",
            LAUNCH_LMMS_EVAL,
            str(ROOT / "altbench" / "models" / "lmms_worker.py"),
            "--include_path",
            str(tasks),
            "--tasks",
            "talt",
            "--model",
            "dummy",
            "--model_args",
            f"response={response}",
            "--batch_size",
            "1",
            "--output_path",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "ALTBENCH_DATA": str(sample_root)},
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    results_file = next((tmp_path / "out").rglob("*_results.json"), None)
    assert results_file is not None, (done.stdout + done.stderr)[-3000:]  # lmms-eval logs errors, exits 0
    talt = json.loads(results_file.read_text())["results"]["talt"]

    split = load_split("talt-sample", sample_root)
    records = {it.id: PredictionRecord(it.id, response, None) for it in split.items}
    expected = score_split(split, records, CONVENTION, resamples=100).metrics
    for name in ("bleu4", "rougeL", "cider"):
        assert talt[f"{CONVENTION}_{name},none"] == pytest.approx(expected[f"{CONVENTION}/{name}"].value)
