import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from altbench.errors import AltbenchError
from altbench.models.registry import REGISTRY, ModelEntry
from altbench.run import predictions as pred_store
from altbench.run.runner import RunConfig, run

TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def demo_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.syspath_prepend(str(TESTS))


@pytest.fixture
def test_models(monkeypatch):
    for name, target in (("slow-echo", "adapters_for_tests:SlowEcho"), ("flaky", "adapters_for_tests:Flaky")):
        monkeypatch.setitem(REGISTRY._entries, name, ModelEntry(name, target))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_end_to_end_and_resume(tmp_path):
    cfg = RunConfig(model="context-echo", split="demo", runs_root=tmp_path, resamples=200)
    first = run(cfg)
    assert first.generated == 48 and first.resumed == 0
    res = first.results
    assert res["schema"] == "altbench.results/2" and first.run.headline.key == first.scoring.key
    assert res["counts"] == {"items": 48, "scored": 48, "failed": 0, "missing": 0, "empty": 0, "empty_reference": 0}
    assert {"paper/bleu4", "paper/meteor", "paper/rougeL", "paper/cider", "diag/length_chars"} <= set(res["metrics"])
    m = res["metrics"]["paper/rougeL"]
    assert m["ci95"][0] <= m["value"] <= m["ci95"][1] and "ci:percentile-bootstrap" in m["signature"]
    second = run(cfg)
    assert second.generated == 0 and second.resumed == 48 and second.run_dir == first.run_dir
    # two runs that differ only in time: identical per-item scores
    assert len(_lines(first.run_dir / "predictions.jsonl")) == 48
    assert second.results["metrics"] == res["metrics"]


def test_identical_scores_files_across_runs(tmp_path):
    a = run(RunConfig(model="context-echo", split="demo", out=tmp_path / "a", resamples=200))
    b = run(RunConfig(model="context-echo", split="demo", out=tmp_path / "b", resamples=200))
    assert a.scoring.key == b.scoring.key
    assert a.scoring.scores_path.read_bytes() == b.scoring.scores_path.read_bytes()


def test_changed_settings_do_not_resume_into_stale_predictions(tmp_path):
    a = run(RunConfig(model="context-echo", split="demo", runs_root=tmp_path, limit=5, resamples=200))
    b = run(RunConfig(model="context-echo", split="demo", runs_root=tmp_path, limit=5, resamples=200,
                      model_args={"max_chars": 40}))
    assert a.run_dir != b.run_dir and b.generated == 5
    with pytest.raises(AltbenchError, match="holds a different run .*args"):
        run(RunConfig(model="context-echo", split="demo", out=a.run_dir, model_args={"max_chars": 40}))


def test_limit_marks_a_subset_and_extends_on_resume(tmp_path):
    a = run(RunConfig(model="context-echo", split="demo", runs_root=tmp_path, limit=10, resamples=200))
    assert a.results["split"]["subset"] is True and a.results["counts"]["scored"] == 10
    b = run(RunConfig(model="context-echo", split="demo", runs_root=tmp_path, limit=20, resamples=200))
    assert b.run_dir == a.run_dir and b.resumed == 10 and b.generated == 10


def test_failed_items_are_counted_then_retried(tmp_path, monkeypatch, test_models):
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", "3")
    cfg = RunConfig(model="flaky", split="demo", runs_root=tmp_path, batch_size=4, limit=12, resamples=200)
    out = run(cfg)
    counts = out.results["counts"]
    assert counts["failed"] == 4 and counts["scored"] == 8  # the batch holding id 3 failed, nothing else
    assert all("model exploded" in f["error"] for f in out.results["failures"])
    assert out.results["metrics"]["paper/bleu4"]["n"] == 8
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", "")
    again = run(cfg)
    assert again.generated == 4 and again.results["counts"]["failed"] == 0


def test_sigkill_mid_run_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "killed"
    script = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
        "from altbench.models.registry import REGISTRY, ModelEntry\n"
        "from altbench.run.runner import RunConfig, run\n"
        "REGISTRY.add(ModelEntry('slow-echo', 'adapters_for_tests:SlowEcho'))\n"
        f"run(RunConfig(model='slow-echo', split='demo', out=__import__('pathlib').Path({str(out)!r}), batch_size=2))\n"
    )
    env = {**os.environ, "ALTBENCH_TEST_DELAY": "0.05"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    preds = out / "predictions.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not preds.exists() or len(preds.read_text().splitlines()) < 6):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _lines(preds)
    assert 6 <= len(before) < 48
    with open(preds, "a") as fh:  # what a kill in the middle of a write leaves behind
        fh.write('{"id": "47", "predic')
    REGISTRY._entries["slow-echo"] = ModelEntry("slow-echo", "adapters_for_tests:SlowEcho")
    try:
        resumed = run(RunConfig(model="slow-echo", split="demo", out=out, batch_size=2, resamples=200))
    finally:
        del REGISTRY._entries["slow-echo"]
    after = _lines(preds)
    ids = [row["id"] for row in after]
    assert len(ids) == len(set(ids)) == 48
    assert after[: len(before)] == before
    assert resumed.resumed == len(before) and resumed.results["counts"]["scored"] == 48


def test_repair_tail_keeps_whole_lines(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "1", "prediction": "a", "error": null}\n{"id": "2", "pre')
    assert pred_store.repair_tail(path) > 0
    assert list(pred_store.read(path)) == ["1"]
    assert pred_store.repair_tail(path) == 0


def test_images_that_fail_are_counted_not_fatal(tmp_path, test_models):
    images = tmp_path / "img"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(images / "ok.png")
    (images / "bad.png").write_bytes(b"garbage")
    # (an image path leading out of the image folder is refused when the split loads: tests/test_bad_inputs.py)
    rows = [("ok.png", 1), ("bad.png", 2), ("missing.png", 3)]
    split = tmp_path / "s.jsonl"
    split.write_text("".join(json.dumps({"image_path": p, "question": "Q\nContext:\nhello there", "chosen": "a cat",
                                         "idx": i}) + "\n" for p, i in rows))
    out = run(RunConfig(model="flaky", split=str(split), images=images, runs_root=tmp_path, resamples=200))
    reasons = {f["id"]: f["error"] for f in out.results["failures"]}
    assert set(reasons) == {"2", "3"} and "not a readable image" in reasons["2"] and "not found" in reasons["3"]
    assert out.results["counts"]["scored"] == 1
