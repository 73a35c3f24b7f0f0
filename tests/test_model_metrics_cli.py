"""`altbench run` / `altbench score` with --metrics: the demo split end to end with tiny offline CLIP and BERT and
a local HTTP judge (per-item scores, CIs, signatures in results.json), a judge outage and the re-run, and the
messages for a missing model or key."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from altbench.cli import cli
from altbench.results import load_run
from altbench.torch_compat import import_open_clip

pytest.importorskip("torch")
try:  # through torch_compat: torchvision beside a CPU-only torch
    import_open_clip()
except ImportError:
    pytest.skip("open_clip is not installed", allow_module_level=True)
pytest.importorskip("bert_score")
from test_model_metrics_helpers import FakeJudge, build_tiny_bert, build_tiny_clip

MODEL_KEYS = ("model/clipscore", "model/refclipscore", "model/bertscore", "model/judge", "model/judge.accuracy")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_clip(root / "clip"), build_tiny_bert(root / "bert")


def _args(tiny, url: str) -> list[str]:
    clip, bert = tiny
    return ["--metrics", "clipscore,refclipscore", "--metrics", "bertscore,judge",
            "--metric-arg", f"clipscore.model={clip}", "--metric-arg", f"bertscore.model={bert}",
            "--metric-arg", "bertscore.num_layers=2", "--metric-arg", "judge.model=fake-judge",
            "--metric-arg", f"judge.url={url}", "--metric-arg", "judge.backoff=0.01",
            "--metric-arg", "judge.retries=1", "--resamples", "200"]


def _invoke(args: list[str]):
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result


def test_run_on_demo_with_every_model_metric(tiny, tmp_path):
    out = tmp_path / "run"
    with FakeJudge() as server:
        result = _invoke(["run", "--model", "context-echo", "--split", "demo", "--out", str(out),
                          *_args(tiny, server.url)])
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 48
    results = load_run(out).flat()
    for key in MODEL_KEYS:
        m = results["metrics"][key]
        lo, hi = m["ci95"]
        assert m["n"] == 48 and lo <= m["value"] <= hi and lo < hi, key
        assert "|ci:percentile-bootstrap|" in m["signature"] and m["aggregator"] == "mean_defined"
    assert results["metrics"]["model/clipscore"]["signature"].startswith("clipscore|model:clip|pretrained:local-dir")
    assert results["metric_models"]["model/clipscore"]["sha256"]
    assert results["metric_models"]["model/bertscore"]["layer"] == 2
    assert results["metric_models"]["model/judge"]["usage"]["requests"]["answers"] == 48
    assert results["metric_failures"]["model/judge"] == {"parse": 0, "api": 0}
    assert "paper/bleu4" in results["metrics"] or any(k.startswith("paper/") for k in results["metrics"])
    rows = [json.loads(line) for line in load_run(out).headline.scores_path.read_text().splitlines()]
    assert len(rows) == 48 and all(set(MODEL_KEYS) <= set(r["scores"]) for r in rows)
    assert all(r["stats"]["model/judge"][1] == 1.0 for r in rows)  # (score, scored) per item
    assert "model/judge" in result.output


def test_judge_outage_then_rerun_fills_in_only_the_missing(tiny, tmp_path):
    out = tmp_path / "run"
    clip, _ = tiny
    args = ["run", "--model", "context-echo", "--split", "demo", "--limit", "10", "--out", str(out),
            "--metrics", "judge,clipscore", "--metric-arg", f"clipscore.model={clip}",
            "--metric-arg", "judge.model=fake-judge", "--metric-arg", "judge.backoff=0.01",
            "--metric-arg", "judge.retries=0", "--metric-arg", "judge.concurrency=1",
            "--metric-arg", "judge.max_consecutive_failures=2", "--resamples", "200"]
    with FakeJudge() as server:
        server.down_after = 4
        first = _invoke([*args, "--metric-arg", f"judge.url={server.url}"])
        assert first.exit_code == 0, first.output
        res = load_run(out).flat()
        assert res["metrics"]["model/judge"]["n"] == 4 and res["metric_failures"]["model/judge"]["api"] == 6
        assert res["metrics"]["model/clipscore"]["n"] == 10  # the other metrics are whole
        assert "6 api item(s) left unscored" in first.output
        per_item = [json.loads(line)["scores"]["model/judge"] for line in load_run(out).headline.scores_path.open()]
        assert sum(v is None for v in per_item) == 6  # null per item, never 0
        asked = len(server.requests)

        server.down_after = None
        second = _invoke([*args, "--metric-arg", f"judge.url={server.url}"])
        assert second.exit_code == 0, second.output
        assert len(server.requests) - asked == 6
        res = load_run(out).flat()
        assert res["metrics"]["model/judge"]["n"] == 10 and res["metric_failures"]["model/judge"]["api"] == 0
        assert "resumed: 10 items already predicted" in second.output


def test_score_command_with_metrics_config(tiny, tmp_path):
    clip, bert = tiny
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": str(i), "prediction": "a red circle on a blue background",
                                         "error": None}) + "\n" for i in range(5)))
    config = tmp_path / "metrics.yaml"
    config.write_text(f"clipscore:\n  model: {clip}\nbertscore:\n  model: {bert}\n  num_layers: 1\n")
    result = _invoke(["score", str(preds), "--split", "demo", "--metrics", "clipscore,bertscore",
                      "--metrics-config", str(config), "--metric-arg", "bertscore.num_layers=2",
                      "--resamples", "100", "--out", str(tmp_path / "scored")])
    assert result.exit_code == 0, result.output
    res = load_run(tmp_path / "scored").flat()
    assert res["metrics"]["model/clipscore"]["n"] == 5
    assert "layer:2" in res["metrics"]["model/bertscore"]["signature"]  # --metric-arg overrides the file


@pytest.mark.parametrize("extra, message", [
    (["--metrics", "clipscor"], "unknown model metric 'clipscor'; did you mean 'clipscore'?"),
    (["--metrics", "clipscore", "--metric-arg", "clipscore.model=/nonexistent/w.pt"],
     "clipscore: no weights at /nonexistent/w.pt; pass --metric-arg clipscore.model="),
    (["--metrics", "judge", "--metric-arg", "judge.model=gpt-4o-mini"], "$JUDGE_TEST_KEY is not set"),
    (["--metrics", "bertscore", "--metric-arg", "bertscor.model=x"], "unknown metric 'bertscor'"),
    (["--metric-arg", "clipscore"], "--metric-arg expects KEY=VALUE"),
])
def test_clear_messages_before_any_generation(tmp_path, monkeypatch, extra, message):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    out = tmp_path / "run"
    args = ["run", "--model", "context-echo", "--out", str(out), *extra]
    if "judge" in extra:
        args += ["--metric-arg", "judge.api_key_env=JUDGE_TEST_KEY"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    err = result.output.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()  # nothing was generated


def test_score_without_metrics_never_imports_torch(tmp_path, cache):
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "0", "prediction": "a red circle", "error": None}) + "\n")
    code = ("import sys; from click.testing import CliRunner; from altbench.cli import cli; "
            f"r = CliRunner().invoke(cli, ['score', {str(preds)!r}, '--split', 'demo', '--resamples', '100', "
            f"'--out', {str(tmp_path / 'scored')!r}]); "
            "assert r.exit_code == 0, r.output; "
            "heavy = [m for m in ('torch', 'open_clip', 'bert_score', 'transformers') if m in sys.modules]; "
            "assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "ALTBENCH_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_docs_name_every_option():
    from altbench.metrics.model import bertscore, clipscore
    from altbench.metrics.model.judge import metric

    doc = (Path(__file__).resolve().parents[1] / "docs" / "model-metrics.md").read_text()
    for family, module in (("clipscore", clipscore), ("bertscore", bertscore), ("judge", metric)):
        for option in module.OPTIONS:
            assert f"`{family}.{option}`" in doc, f"{family}.{option} undocumented"
