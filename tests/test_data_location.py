"""Runs remember where their data is: run.json and results.json record the split's data location (outside the
fingerprint), so the leaderboard, the report, export, a rescore into the run and the arena find the references
and images again without --data-root / --images, and say exactly what is missing when they cannot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_bad_inputs import jsonl, png, row

import altbench
from altbench.cli import cli
from altbench.results import load_run

BOOT = ["--resamples", "100"]


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("ALTBENCH_DATA", raising=False)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def custom_run(tmp_path, monkeypatch) -> Path:
    """A context-echo run of a two-item split whose images are not beside the split file (--images), made
    from one folder; the checks run from another, as a later session would."""
    data = tmp_path / "data"
    (data / "pictures").mkdir(parents=True)
    (data / "pictures" / "a.png").write_bytes(png())
    (data / "pictures" / "b.png").write_bytes(png(16, 16))
    (data / "split.jsonl").write_bytes(jsonl([row(1), row(2, "b.png")]))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    res = invoke("run", "--model", "context-echo", "--split", "../data/split.jsonl", "--images", "../data/pictures",
                 "--out", "run", *BOOT)
    assert res.exit_code == 0, res.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return work / "run"


def _notes(res) -> str:
    return " ".join(res.output.split())


def test_the_location_is_recorded_as_provenance(custom_run, tmp_path):
    meta = json.loads((custom_run / "run.json").read_text())
    data = tmp_path / "data"
    assert meta["data"] == {"split_file": str(data / "split.jsonl"), "images": str(data / "pictures")}
    assert "pictures" not in json.dumps(meta["fingerprint"])
    assert load_run(custom_run).split["location"] == meta["data"]
    # the same data in another folder: the same run (resumed, nothing regenerated), its new location recorded
    shutil.copytree(data / "pictures", tmp_path / "moved")
    res = invoke("run", "--model", "context-echo", "--split", data / "split.jsonl", "--images", tmp_path / "moved",
                 "--out", custom_run, *BOOT)
    assert res.exit_code == 0 and "resumed: 2 items already predicted" in res.output, res.output
    again = json.loads((custom_run / "run.json").read_text())
    assert again["run_id"] == meta["run_id"] and again["data"]["images"] == str(tmp_path / "moved")


def test_leaderboard_report_and_export_find_the_data_where_the_run_found_it(custom_run, tmp_path):
    res = invoke("leaderboard", custom_run, "--out", tmp_path / "site", *BOOT)
    assert res.exit_code == 0, res.output
    assert "could not be loaded" not in res.output and "sha256" not in res.output
    page = (tmp_path / "site" / "split-jsonl" / "model-context-echo.html").read_text()
    assert "a grey square 2" in page and "data:image/png;base64," in page  # references and thumbnails
    res = invoke("report", custom_run, "--out", tmp_path / "rep")
    assert res.exit_code == 0 and "note:" not in res.output, res.output
    assert "a grey square 1" in (tmp_path / "rep" / "index.html").read_text()
    pytest.importorskip("pandas")
    assert altbench.load_run(custom_run).to_pandas()["references"].notna().all()


@pytest.mark.parametrize("damage, message", [
    (lambda data: shutil.rmtree(data / "pictures"), "images folder {data}/pictures no longer exists"),
    (lambda data: (data / "split.jsonl").unlink(), "split file {data}/split.jsonl no longer exists"),
    (lambda data: (data / "pictures" / "b.png").unlink(), "1 of 2 images are missing from {data}/pictures (e.g. b.png)"),
    (lambda data: (data / "split.jsonl").write_bytes(jsonl([row(1), {**row(2, "b.png"), "chosen": "changed"}])),
     "the split changed since the run (split file {data}/split.jsonl or its images): content sha256"),
])
def test_what_is_missing_is_said_exactly(custom_run, tmp_path, damage, message):
    data = tmp_path / "data"
    damage(data)
    expected = message.format(data=data)
    res = invoke("leaderboard", custom_run, "--out", tmp_path / "site", "--no-images", *BOOT)
    assert res.exit_code == 0, res.output
    assert expected in _notes(res) and "sha256 mismatch" not in res.output
    res = invoke("report", custom_run, "--out", tmp_path / "rep", "--no-images")
    assert res.exit_code == 0 and expected in _notes(res), res.output
    res = invoke("score", custom_run / "predictions.jsonl", "--split", data / "split.jsonl", *BOOT)
    if "changed" in message or "missing from" in message:  # the split is there but differs: said, not guessed at
        assert res.exit_code == 2 and expected in _notes(res), res.output


def test_score_into_the_run_uses_the_recorded_images(custom_run, tmp_path):
    res = invoke("score", custom_run / "predictions.jsonl", "--split", tmp_path / "data" / "split.jsonl",
                 "--convention", "paper", "--resamples", "200")
    assert res.exit_code == 0, res.output
    assert len(load_run(custom_run).scorings) == 2


def test_arena_reads_the_split_where_the_runs_found_it(custom_run, tmp_path):
    from altbench.arena.runs import load_runs, resolve_split

    other = tmp_path / "other"
    shutil.copytree(custom_run, other)
    split = resolve_split(load_runs([custom_run, other]), None)
    assert [it.id for it in split.items] == ["1", "2"]


def test_sample_split_leaderboard_without_data_root(sample_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("run", "--model", "context-echo", "--split", "talt-sample", "--data-root", sample_root,
                 "--out", "run", *BOOT)
    assert res.exit_code == 0, res.output
    res = invoke("leaderboard", "run", "--out", "site", "--no-images", *BOOT)
    assert res.exit_code == 0 and "could not be loaded" not in res.output, res.output


def test_splits_says_where_it_looked_and_what_runs_recorded(sample_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("splits")
    assert res.exit_code == 0, res.output
    text = _notes(res)
    assert "not downloaded" not in text
    assert "talt-sample, talt-sample-train, palt-sample, palt-sample-train: not in" in text
    assert "pass --data-root DIR or set ALTBENCH_DATA" in text
    res = invoke("run", "--model", "context-echo", "--split", "talt-sample", "--data-root", sample_root, *BOOT)
    assert res.exit_code == 0, res.output
    text = _notes(invoke("splits"))
    assert f"runs under runs/ read talt-sample from {sample_root}" in text
    assert f"altbench splits --data-root {sample_root}" in text
    res = invoke("splits", "--data-root", sample_root)
    rows = {line.split()[1]: line for line in res.output.splitlines() if line.startswith("│ ")}
    assert rows["talt-sample"].split()[3] == "10", res.output
