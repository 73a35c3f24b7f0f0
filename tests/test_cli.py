import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from altbench import __version__
from altbench.cli import cli
from altbench.results import load_run

REPO = Path(__file__).resolve().parents[1]

# Runs the CLI in a fresh interpreter where importing torch & co. fails, as on a machine without them.
NO_HEAVY = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'torch', 'transformers', 'open_clip', 'lmms_eval', 'trl'}:
            raise ImportError('blocked for the test: ' + name)
sys.meta_path.insert(0, Block())
from altbench.cli import main
sys.argv = ['altbench'] + sys.argv[1:]
main()
"""


def altbench(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_HEAVY, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, check=False)


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def test_help_and_version():
    runner = CliRunner()
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("run", "score", "splits", "models", "setup"):
        assert name in result.output
    for name in ("run", "score", "splits", "models", "setup"):
        assert runner.invoke(cli, [name, "--help"]).exit_code == 0
    assert __version__ in runner.invoke(cli, ["--version"]).output


def test_help_imports_no_subcommand_or_heavy_module():
    code = "import sys; from altbench.cli import cli; print(sorted(m for m in sys.modules if m.startswith(('altbench.run', 'altbench.metrics', 'torch', 'rich'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--model", "context-ecco"], "did you mean 'context-echo'"),
        (["run", "--split", "nope"], "unknown split 'nope'"),
        (["run", "--model", "mcmdpo-7b"], "needs torch, transformers (not installed): pip install 'altbench[hf]'"),
        (["run", "--model-arg", "novalue"], "expects KEY=VALUE"),
        (["score", "missing.jsonl", "--split", "demo"], "cannot read predictions"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, message, tmp_path):
    proc = altbench(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_score_rejects_wrong_ids_and_malformed_lines(tmp_path):
    bad_ids = tmp_path / "ids.jsonl"
    bad_ids.write_text(json.dumps({"id": "999999", "prediction": "x", "error": None}) + "\n")
    proc = altbench("score", str(bad_ids), "--split", "demo", cwd=tmp_path)
    assert proc.returncode == 2 and "not in split demo" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "0", "prediction": "x", "error": null}\n{oops\n')
    proc = altbench("score", str(bad), "--split", "demo", cwd=tmp_path)
    assert proc.returncode == 2 and "bad.jsonl:2" in proc.stderr


def test_run_then_score_without_torch(tmp_path):
    proc = altbench("run", "--model", "context-echo", "--split", "demo", "--limit", "6", "--out", "r",
                    "--resamples", "200", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "paper/rougeL" in proc.stdout
    proc = altbench("score", "r/predictions.jsonl", "--split", "demo", "--resamples", "200", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the same settings scored again: the run's one scoring, same numbers, no pseudo-run beside it
    run = load_run(tmp_path / "r")
    assert len(run.scorings) == 1 and run.headline.items.subset is True
    assert not (tmp_path / "r" / "predictions.scores").exists()
    proc = altbench("score", "r/predictions.jsonl", "--split", "demo", "--resamples", "200", "--convention", "coco",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = load_run(tmp_path / "r")
    assert len(run.scorings) == 2 and run.headline.conventions == ["paper"]
    assert "coco/cider" in run.metric_view() and "paper/rougeL" in run.metric_view()


def test_score_reference_work_output(sample_root, tmp_path):
    """The reference work's inference output (test row + `response`) rescored with the file as split."""
    rows = [json.loads(line) for line in (sample_root / "twitter" / "twitter_test.json").read_text().splitlines()]
    out = tmp_path / "eval_output.jsonl"
    out.write_text("".join(json.dumps({**r, "response": "Assistant: " + r["chosen"]}) + "\n" for r in rows))
    images = str(sample_root / "twitter" / "image" / "twitter_test")
    proc = altbench("score", str(out), "--split", str(out), "--images", images, "--resamples", "200", cwd=tmp_path)
    assert proc.returncode == 2 and "--out" in proc.stderr  # a foreign file's results go where --out says
    proc = altbench("score", str(out), "--split", str(out), "--images", images, "--resamples", "200",
                    "--out", "scored", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = load_run(tmp_path / "scored").headline
    assert results.metrics["paper/rougeL"].value == pytest.approx(100.0)
    assert results.counts["scored"] == 10


def test_listings(tmp_path, sample_root):
    proc = altbench("models", cwd=tmp_path)
    assert proc.returncode == 0 and "mcmdpo-7b" in proc.stdout and "retrieval" in proc.stdout
    proc = altbench("splits", "--data-root", str(sample_root), cwd=tmp_path)
    assert proc.returncode == 0 and "talt-sample" in proc.stdout and "48" in proc.stdout


def test_paper_checkpoint_without_weights_says_so(tmp_path, monkeypatch):
    """With the hf extra installed, the next thing a paper checkpoint needs is named: its weights."""
    monkeypatch.delenv("ALTBENCH_MCMDPO_7B", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--model", "mcmdpo-7b"])
    assert result.exit_code == 2 and "weights not configured" in result.output


@pytest.mark.parametrize(
    "args, extra",
    [
        (["run"], "hf"),
        (["run", "--model", "llava-1.5-7b"], "hf"),
        (["train-baseline", "dpo", "--out", "out"], "train"),
        (["train-baseline", "sft", "--config", str(REPO / "baselines/sft.yaml"), "--dry-run"], "train"),
        (["leaderboard", "."], "publish"),
        (["report", "."], "publish"),
        (["score", "p.jsonl", "--split", "demo", "--metrics", "clipscore"], "model-metrics"),
        (["score", "p.jsonl", "--split", "demo", "--metrics", "bertscore"], "model-metrics"),
    ],
)
def test_missing_extras_name_the_extra_in_one_line(args, extra, tmp_path):
    """Without torch, trl, yaml, jinja2, open_clip, bert_score: one line naming the extra, exit 2."""
    (tmp_path / "p.jsonl").write_text('{"id": "0", "prediction": "x", "error": null}\n')
    blocked = "{'torch', 'transformers', 'trl', 'datasets', 'yaml', 'jinja2', 'matplotlib', 'open_clip', 'bert_score'}"
    code = NO_HEAVY.replace("{'torch', 'transformers', 'open_clip', 'lmms_eval', 'trl'}", blocked)
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"(not installed): pip install 'altbench[{extra}]'" in proc.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "p.jsonl"]  # nothing written before the check


def test_models_lists_the_extra_and_fits_80_columns(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "altbench", "models"], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "COLUMNS": "80"}, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    block = " ".join(lines[lines.index("altbench-tiny  [pip install 'altbench[hf]']"):][:5])
    assert "needs: nothing more (weights shipped with altbench, 2.3 MB; offline, CPU)" in block
    assert "context-echo  [core install]" in lines and "vllm  [pip install 'altbench[vllm]']" in lines
