"""The Python API: altbench.score / evaluate / load_run give the CLI's numbers; `import altbench` stays light."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import altbench
from altbench.cli import cli
from altbench.data.splits import load_split
from altbench.errors import AltbenchError
from altbench.results import MetricResult, RunResults, Scoring
from altbench.run import predictions as pred_store

RESAMPLES = "300"


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def cli_run(tmp_path: Path, *args: str) -> RunResults:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", *args, "--out", str(out), "--resamples", RESAMPLES])
    assert result.exit_code == 0, result.output
    return altbench.load_run(out)


def assert_same(api: Scoring, cli_scoring: Scoring) -> None:
    """Every corpus value, CI, n and signature, and every per-item score, equal to the digit."""
    assert list(api.metrics) == list(cli_scoring.metrics)
    for key, m in cli_scoring.metrics.items():
        a: MetricResult = api.metrics[key]
        assert (a.value, a.ci95, a.n, a.signature, a.aggregator) == (m.value, m.ci95, m.n, m.signature,
                                                                      m.aggregator), key
    assert api.counts == cli_scoring.counts
    cli_rows, api_rows = cli_scoring.rows(), api.rows()
    assert len(api_rows) == len(cli_rows)
    for (cid, crow), arow in zip(cli_rows.items(), api_rows.values()):
        assert arow.scores == crow.scores, cid
        assert arow.stats == crow.stats, cid


def api_scoring_of(run: RunResults, convention: str, data_root: Path | None = None) -> Scoring:
    split = load_split(run.split_name, data_root)
    records = pred_store.read(run.path / "predictions.jsonl")
    items = [it for it in split.items if it.id in records]
    res = altbench.score([records[it.id].prediction for it in items], [list(it.references) for it in items],
                         [it.context for it in items], convention=convention, ids=[it.id for it in items],
                         resamples=int(RESAMPLES))
    return res.scoring


def test_score_equals_cli_on_demo(tmp_path):
    run = cli_run(tmp_path, "--model", "retrieval", "--split", "demo")
    assert_same(api_scoring_of(run, "paper"), run.headline)


@pytest.mark.java
def test_score_equals_cli_on_released_samples_both_conventions(tmp_path, sample_root):
    for platform in ("talt", "palt"):
        run = cli_run(tmp_path / platform, "--model", "context-echo", "--split", f"{platform}-sample",
                      "--data-root", str(sample_root), "--convention", "both")
        api = api_scoring_of(run, "both", sample_root)
        assert_same(api, run.headline)
        assert "coco/cider" in api.metrics and "paper/bleu4" in api.metrics


def test_score_result_shape_and_default_ids():
    res = altbench.score(["a red circle", "a chart"], ["a red circle on blue", ["a bar chart", "sales chart"]],
                         resamples=200)
    assert isinstance(res, altbench.ScoreResult)
    assert list(res.rows()) == ["0", "1"]
    rouge = res.metrics["paper/rougeL"]
    assert rouge.value == res.value("paper/rougeL") and rouge.n == 2
    assert rouge.ci95[0] <= rouge.value <= rouge.ci95[1]
    assert "|ci:percentile-bootstrap" in rouge.signature and "n:200" in rouge.signature
    per_item = res.per_item("paper/rougeL")
    # the paper convention reports round(mean, 5) * 100 of the per-item scores
    assert rouge.value == pytest.approx(round(sum(per_item) / 2, 5) * 100)
    assert res.split.items[1].references == ("a bar chart", "sales chart")


@pytest.mark.parametrize("call, message", [
    (lambda: altbench.score(["a"], ["x", "y"]), "expected one entry per prediction"),
    (lambda: altbench.score("abc", ["x"]), "list of strings"),
    (lambda: altbench.score([], []), "nothing to score"),
    (lambda: altbench.score(["a"], [[]]), "non-empty list"),
    (lambda: altbench.score(["a"], ["x"], convention="bleu"), "unknown convention"),
    (lambda: altbench.score(["a", "b"], ["x", "y"], ids=["1", "1"]), "distinct id"),
    (lambda: altbench.score([3], ["x"]), "expected a string"),
])
def test_score_rejects_bad_input(call, message):
    with pytest.raises(AltbenchError, match=message):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: altbench.score(["a"], ["x"], metrics="judge"), "pass metric_args={'judge': {'model': MODEL}}"),
    (lambda: altbench.score(["a"], ["x"], metrics="judge", metric_args={"judge": {"modell": "m"}}),
     "unknown option metric_args['judge']['modell']; did you mean metric_args['judge']['model']?"),
    (lambda: altbench.score(["a"], ["x"], metric_args={"judgee": {"model": "m"}}), "metric_args: unknown metric"),
    (lambda: altbench.evaluate("context-echo", "demo", batch_size=0), "batch_size must be at least 1"),
])
def test_library_errors_name_parameters_not_cli_options(call, message):
    with pytest.raises(AltbenchError) as err:
        call()
    assert message in str(err.value) and "--" not in str(err.value)


def test_evaluate_is_altbench_run(tmp_path):
    outcome = altbench.evaluate(model="context-echo", split="demo", limit=8, out=tmp_path / "api-run",
                                resamples=int(RESAMPLES))
    cli = cli_run(tmp_path, "--model", "context-echo", "--split", "demo", "--limit", "8")
    assert outcome.run.run_id == cli.run_id  # same fingerprint: the same run
    assert_same(outcome.scoring, cli.headline)
    again = altbench.load_run(outcome.run_dir)
    assert again.headline.key == outcome.scoring.key
    assert again.headline.metrics == outcome.scoring.metrics


def test_load_run_errors_are_one_line(tmp_path):
    with pytest.raises(AltbenchError, match="no such run folder"):
        altbench.load_run(tmp_path / "nope")


LIGHT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'torch', 'transformers', 'open_clip', 'trl', 'pandas', 'pyarrow'}:
            raise ImportError('blocked for the test: ' + name)
sys.meta_path.insert(0, Block())
import altbench
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'numpy', 'nltk', 'rouge', 'pycocoevalcap'}
               or m.startswith(('altbench.run', 'altbench.metrics', 'altbench.models')))
assert not heavy, heavy
assert callable(altbench.score) and callable(altbench.evaluate) and callable(altbench.load_run)
res = altbench.score(['a red circle'], [['a red circle on blue']], resamples=100)
print(res.value('paper/rougeL'))
"""


def test_import_is_light_and_score_needs_no_torch():
    proc = subprocess.run([sys.executable, "-c", LIGHT], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert math.isfinite(float(proc.stdout.strip()))
