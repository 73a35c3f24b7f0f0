"""Names people read: a run's display name (``run --name``, ``evaluate(name=)``, a checkpoint's folder name by
default) is provenance, not identity, and every page and table shows it; the leaderboard and the report
take overrides (``--label RUN=NAME``, ``--labels FILE``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import altbench
from altbench.cli import cli
from altbench.results import load_run
from altbench.results.model import short_model_name
from altbench.stats.synthetic import write_run

CHECKPOINT = "/home/me/checkpoints/tiny-mcmdpo"


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_short_model_names(tmp_path, monkeypatch):
    assert short_model_name(CHECKPOINT) == "tiny-mcmdpo"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ckpts" / "tiny").mkdir(parents=True)
    assert short_model_name("ckpts/tiny/") == "tiny" and short_model_name("./tiny") == "tiny"
    assert short_model_name("org/not-a-folder-here") == "org/not-a-folder-here"
    assert short_model_name("/w/sft-run/checkpoint-500") == "sft-run/checkpoint-500"  # a step says too little
    for name in ("retrieval", "context-echo", "hf:llava-hf/llava-1.5-7b-hf", "lmms:llava_hf", "gpt-4o"):
        assert short_model_name(name) == name  # registry names stay as they are


def test_run_name_is_provenance_not_identity(tmp_path):
    args = ["run", "--model", "context-echo", "--split", "demo", "--limit", "3", "--resamples", "100",
            "--out", tmp_path / "run"]
    res = invoke(*args, "--name", "Echo A")
    assert res.exit_code == 0, res.output
    assert "Echo A on demo" in res.output
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["name"] == "Echo A" and "Echo A" not in json.dumps(meta["fingerprint"])
    run_id = meta["run_id"]
    assert load_run(tmp_path / "run").display_name == "Echo A"
    res = invoke(*args, "--name", "Echo B")  # renaming resumes the same run, and records the latest name
    assert res.exit_code == 0, res.output
    assert "resumed: 3 items already predicted, 0 generated now" in res.output
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (meta["run_id"], meta["name"]) == (run_id, "Echo B")
    assert load_run(tmp_path / "run").display_name == "Echo B"
    res = invoke(*args)  # no --name: the recorded one stays
    assert res.exit_code == 0 and load_run(tmp_path / "run").display_name == "Echo B"
    out = altbench.evaluate("context-echo", "demo", limit=3, resamples=100, out=tmp_path / "run", name="Echo C")
    assert out.run.display_name == "Echo C" and out.resumed == 3


def test_old_results_and_checkpoint_paths_show_a_short_name(tmp_path):
    run = write_run(tmp_path / "ckpt", {"paper/x": np.linspace(0, 1, 10)}, model=CHECKPOINT)
    assert load_run(run).display_name == "tiny-mcmdpo"  # no display name recorded: the folder's name


def synthetic_runs(root: Path) -> list[Path]:
    return [write_run(root / "a", {"paper/x": np.linspace(0, 1, 12)}, model=CHECKPOINT, run_id="0a1b2c3d4e5f"),
            write_run(root / "b", {"paper/x": np.linspace(0, 1, 12) ** 2}, model="retrieval", run_id="6a7b8c9d0e1f")]


def _pages(site: Path) -> str:
    return "\n".join(p.read_text() for p in site.rglob("*") if p.suffix in (".html", ".csv", ".json"))


def test_leaderboard_report_and_compare_show_display_names(tmp_path):
    a, b = synthetic_runs(tmp_path / "runs")
    res = invoke("leaderboard", tmp_path / "runs", "--out", tmp_path / "site", "--resamples", "200", "--no-images")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "site" / "data" / "index--summary-synthetic.json").read_text())
    assert {r["model"] for r in summary["rows"]} == {"tiny-mcmdpo", "retrieval"}
    assert "/home/me" not in _pages(tmp_path / "site")  # no absolute path of one machine on any page
    assert (tmp_path / "site" / "synthetic" / "model-tiny-mcmdpo.html").is_file()
    res = invoke("report", a, "--out", tmp_path / "rep", "--no-images")
    assert res.exit_code == 0, res.output
    assert "Report: tiny-mcmdpo on synthetic" in (tmp_path / "rep" / "index.html").read_text()
    res = invoke("compare", a, b, "--json")
    assert res.exit_code == 0, res.output
    assert [r["label"] for r in json.loads(res.output)["runs"]] == ["tiny-mcmdpo", "retrieval"]


def test_leaderboard_label_overrides(tmp_path):
    a, b = synthetic_runs(tmp_path / "runs")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({str(b): "TF-IDF retrieval"}))
    res = invoke("leaderboard", tmp_path / "runs", "--out", tmp_path / "site", "--resamples", "200", "--no-images",
                 "--label", f"{a / 'results.json'}=MCM-DPO (tiny)", "--labels", labels)
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "site" / "data" / "index--summary-synthetic.json").read_text())
    assert {r["model"] for r in summary["rows"]} == {"MCM-DPO (tiny)", "TF-IDF retrieval"}
    res = invoke("report", a, "--out", tmp_path / "rep", "--no-images", "--label", f"{a}=Mine")
    assert res.exit_code == 0 and "Report: Mine on synthetic" in (tmp_path / "rep" / "index.html").read_text()
    for bad, message in ((["--label", "nothing-here"], "--label expects RUN=NAME"),
                         (["--label", f"{tmp_path}=X"], "is not one of the runs given"),
                         (["--label", f"{a}="], "--label expects RUN=NAME")):
        res = invoke("leaderboard", tmp_path / "runs", "--out", tmp_path / "site2", "--no-images", *bad)
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert res.exit_code == 2 and len(lines) == 1 and message in lines[0], res.output
    pytest.importorskip("yaml")
    (tmp_path / "labels.yaml").write_text(f"{b}: TF-IDF (yaml)\n")
    res = invoke("leaderboard", tmp_path / "runs", "--out", tmp_path / "site", "--resamples", "200", "--no-images",
                 "--labels", tmp_path / "labels.yaml")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "site" / "data" / "index--summary-synthetic.json").read_text())
    assert {r["model"] for r in summary["rows"]} == {"tiny-mcmdpo", "TF-IDF (yaml)"}
    labels.write_text("[1, 2]")
    res = invoke("leaderboard", tmp_path / "runs", "--out", tmp_path / "site2", "--labels", labels)
    assert res.exit_code == 2 and "expected a mapping of run folder -> name" in res.output


def test_arena_labels_are_display_names(tmp_path):
    from altbench.arena.runs import load_runs

    for name, model in (("a", "context-echo"), ("b", "retrieval")):
        res = invoke("run", "--model", model, "--split", "demo", "--limit", "2", "--resamples", "100",
                     "--out", tmp_path / name, "--name", f"{model} (mine)")
        assert res.exit_code == 0, res.output
    assert [r.label for r in load_runs([tmp_path / "a", tmp_path / "b"])] == ["context-echo (mine)",
                                                                              "retrieval (mine)"]


def test_a_checkpoint_run_is_named_after_its_folder(tmp_path, monkeypatch):
    """`run --model path/to/checkpoint`: the default display name is the folder's name, not the path."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from altbench.models.hf_files import shipped_folder

    checkpoint = tmp_path / "checkpoints" / "tiny-mcmdpo"
    shutil.copytree(shipped_folder("altbench-tiny"), checkpoint)
    res = invoke("run", "--model", checkpoint, "--split", "demo", "--limit", "2", "--resamples", "100",
                 "--out", tmp_path / "run")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "run" / "run.json").read_text())["name"] == "tiny-mcmdpo"
    assert load_run(tmp_path / "run").model_name == str(checkpoint)  # the identity keeps the path it ran
    assert "tiny-mcmdpo on demo" in res.output and str(checkpoint) not in res.output.split("\n")[0]
