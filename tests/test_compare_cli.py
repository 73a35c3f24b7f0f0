"""``altbench compare`` and ``altbench regress``: output, JSON, exit codes; end to end on `altbench run` outputs."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from altbench.cli import cli
from altbench.stats.synthetic import Column, write_run

N = 120


def _columns(seed, shift=0.0, length_shift=0.0):
    rng = np.random.default_rng(seed)
    base = np.random.default_rng(0).beta(2, 5, N)  # shared item difficulty: a paired design
    return {
        "paper/rougeL": Column(np.clip(base + rng.normal(0, 0.05, N) + shift, 0, 1), scale=100.0),
        "paper/cider": Column(np.clip(base * 2 + rng.normal(0, 0.1, N) + 2 * shift, 0, None), scale=100.0),
        "paper/meteor": Column(np.clip(base + rng.normal(0, 0.05, N) + shift, 0, 1), scale=100.0),
        "paper/bleu4": Column(np.clip(base / 2 + rng.normal(0, 0.05, N) + shift, 0, 1), scale=100.0),
        "diag/length_chars": Column(80 + 10 * base + rng.normal(0, 3, N) + length_shift, higher_is_better=False),
    }


@pytest.fixture
def runs(tmp_path):
    return {
        "base": write_run(tmp_path / "base", _columns(1), model="base"),
        "same": write_run(tmp_path / "same", _columns(1), model="same"),
        "better": write_run(tmp_path / "better", _columns(2, 0.03), model="better"),
        "worse": write_run(tmp_path / "worse", _columns(3, -0.06), model="worse"),
        "noisy": write_run(tmp_path / "noisy", _columns(4, -0.005), model="noisy"),
        "longer": write_run(tmp_path / "longer", _columns(1, 0.0, 40.0), model="longer"),
    }


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# -------------------------------------------------------------------------------------------- compare
def test_compare_table(runs):
    res = invoke("compare", runs["base"], runs["better"], runs["same"], "--resamples", 1000, "--trials", 1000)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "B = better  vs  A = base" in out and "B = same  vs  A = better" in out
    assert "paper/rougeL" in out and "diag/" not in out  # diagnostics only on request
    assert "B better" in out and "Holm-adjusted over each pair's quality metrics" in out


def test_compare_json(runs, tmp_path):
    out_file = tmp_path / "cmp.json"
    res = invoke("compare", runs["base"], runs["better"], "--json", "--json-out", out_file, "--include-diagnostics",
                 "--resamples", 500, "--trials", 500, "--seed", 3)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data == json.loads(out_file.read_text())
    assert data["settings"]["seed"] == 3 and data["settings"]["resamples"] == 500
    rows = {r["metric"]: r for r in data["comparisons"]}
    assert set(rows) == {"paper/rougeL", "paper/cider", "paper/meteor", "paper/bleu4", "diag/length_chars"}
    r = rows["paper/rougeL"]
    assert r["a"] == "base" and r["b"] == "better" and r["better"] == "better" and r["significant"]
    assert r["delta"] == pytest.approx(r["value_b"] - r["value_a"]) and r["ci"][0] < r["delta"] < r["ci"][1]
    assert 0 < r["p_permutation"] <= r["p_permutation_holm"] <= 1 and r["effect_size_kind"] == "dz"


def test_compare_refusals_and_usage(runs, tmp_path):
    other = write_run(tmp_path / "other", _columns(1), model="other", split_sha256="a" * 64)
    res = invoke("compare", runs["base"], other)
    assert res.exit_code == 4
    assert res.stderr.count("\n") == 1 and "not comparable" in res.stderr and "different split content" in res.stderr
    assert invoke("compare", runs["base"]).exit_code == 2
    res = invoke("compare", runs["base"], tmp_path / "missing")
    assert res.exit_code == 2 and "no such run folder" in res.stderr
    assert invoke("compare", runs["base"], runs["same"], "--metric", "cidr").exit_code == 2


def _both(seed, shift=0.0):
    """Columns of a run scored in both conventions (one scoring), with diagnostics and a model metric."""
    cols = _columns(seed, shift)
    rng = np.random.default_rng(seed + 100)
    cols["coco/rougeL"] = Column(np.clip(cols["paper/rougeL"].stats + rng.normal(0, 0.01, N), 0, 1))
    cols["coco/cider"] = Column(np.clip(cols["paper/cider"].stats + rng.normal(0, 0.01, N), 0, None))
    cols["model/clipscore"] = Column(np.clip(rng.normal(0.7, 0.05, N) + shift, 0, 1))
    return cols


def test_compare_convention_shows_only_that_conventions_metrics(tmp_path):
    a = write_run(tmp_path / "a", _both(1), model="a", convention="both")
    b = write_run(tmp_path / "b", _both(2, 0.03), model="b", convention="both")
    common = ("--json", "--resamples", 300, "--trials", 300)

    def shown(*extra):
        res = invoke("compare", a, b, *common, *extra)
        assert res.exit_code == 0, res.output
        return {r["metric"] for r in json.loads(res.output)["comparisons"]}

    paper = {"paper/rougeL", "paper/cider", "paper/meteor", "paper/bleu4"}
    assert shown("--convention", "paper") == paper
    assert shown("--convention", "coco") == {"coco/rougeL", "coco/cider"}
    assert shown("--convention", "paper", "--include-diagnostics") == paper | {"diag/length_chars"}
    assert shown() == paper | {"coco/rougeL", "coco/cider", "model/clipscore"}  # no filter: every metric shared
    # a short name resolves within the convention; a metric of another convention is refused, naming it
    assert shown("--convention", "coco", "-m", "rougeL") == {"coco/rougeL"}
    res = invoke("compare", a, b, *common, "--convention", "paper", "-m", "coco/cider")
    assert res.exit_code == 2 and "coco/cider is not a metric of convention paper" in res.stderr
    # the filter only chooses rows: each pair's verdicts stay those of the whole family (engine.py)
    full = {r["metric"]: r for r in json.loads(invoke("compare", a, b, *common).output)["comparisons"]}
    part = json.loads(invoke("compare", a, b, *common, "--convention", "paper").output)["comparisons"]
    assert all(r["p_permutation_holm"] == full[r["metric"]]["p_permutation_holm"] for r in part)
    # the table too
    table = invoke("compare", a, b, "--resamples", 300, "--trials", 300, "--convention", "paper").output
    assert "paper/rougeL" in table and "coco/" not in table and "model/" not in table and "diag/" not in table


# -------------------------------------------------------------------------------------------- regress
def _regress(runs, cand, *extra, base="base", tmp=None):
    out = Path(tmp or runs["base"].parent) / f"verdict-{cand}.json"
    res = invoke("regress", "--baseline", runs[base], "--candidate", runs[cand], "--json-out", out,
                 "--resamples", 1000, *extra)
    verdict = json.loads(out.read_text()) if out.exists() else None
    return res, verdict


def test_regress_pass_on_an_equal_candidate(runs):
    res, verdict = _regress(runs, "same")
    assert res.exit_code == 0, res.output
    assert verdict["status"] == "pass" and verdict["exit_code"] == 0
    assert [m["metric"] for m in verdict["metrics"]] == ["paper/rougeL", "paper/cider", "paper/meteor", "paper/bleu4"]
    assert [m["margin"] for m in verdict["metrics"]] == [1.0, 2.0, 1.0, 0.5]  # points, paper scale 100
    lines = res.output.splitlines()
    assert lines[0].startswith("PASS ") and "paper/rougeL" in lines[0] and "95% CI" in lines[0]
    assert "regress: PASS (4 metrics" in res.output


def test_regress_regression(runs):
    res, verdict = _regress(runs, "worse")
    assert res.exit_code == 1, res.output
    assert verdict["status"] == "regression" and all(m["status"] == "regression" for m in verdict["metrics"])
    assert "REGRESSION" in res.output


def test_regress_inconclusive_and_on_inconclusive(runs):
    res, verdict = _regress(runs, "noisy", "--metric", "rougeL:0.2")
    assert res.exit_code == 3 and verdict["status"] == "inconclusive", res.output
    assert "inconclusive counts as failing" in res.output
    res, verdict = _regress(runs, "noisy", "--metric", "rougeL:0.2", "--on-inconclusive", "pass")
    assert res.exit_code == 0 and verdict["status"] == "inconclusive" and verdict["exit_code"] == 0
    # a wide enough margin passes, and --margin applies to metrics named without one
    res, _ = _regress(runs, "noisy", "--metric", "rougeL", "--margin", "5")
    assert res.exit_code == 0


def test_regress_lower_is_better_metric(runs):
    # 40 characters longer, for a lower-is-better diagnostic: a regression beyond a 20-character margin
    res, verdict = _regress(runs, "longer", "--metric", "diag/length_chars")
    assert res.exit_code == 1, res.output
    m = verdict["metrics"][0]
    assert m["delta"] > 0 and m["improvement"] < 0 and m["margin"] == 20.0 and not m["higher_is_better"]
    assert "(lower is better;" in res.output
    res, verdict = _regress(runs, "longer", "--include-diagnostics")
    assert res.exit_code == 1 and len(verdict["metrics"]) == 5  # 4 main + the diagnostic


def test_regress_not_comparable(runs, tmp_path):
    runs["other"] = write_run(tmp_path / "other", _columns(1), model="other", convention="coco")
    res, verdict = _regress(runs, "other")
    assert res.exit_code == 4, res.output
    assert verdict["status"] == "not_comparable" and "computed with other settings (conv:paper vs conv:coco)" in verdict["reason"]
    assert "NOT COMPARABLE" in res.stderr


@pytest.mark.parametrize("extra, message", [
    (["--metric", "rougeL:abc"], "is not a number"),
    (["--metric", "rougeL:-1"], "margin must be a number >= 0"),
    (["--metric", "nope"], "unknown metric 'nope'"),
    (["--metric", "rougeL", "--metric", "paper/rougeL"], "named twice"),
    (["--alpha", "1.5"], "1.5"),
    (["--on-inconclusive", "maybe"], "maybe"),
])
def test_regress_usage_errors(runs, extra, message):
    res, _ = _regress(runs, "same", *extra)
    assert res.exit_code == 2 and message in res.output + res.stderr


def test_regress_familywise(runs, tmp_path):
    """One of 4 gated metrics regresses at its own level (p 0.036) but not over the family of 4."""
    cand = write_run(tmp_path / "edge", _columns(22, -0.008), model="edge")
    gated = ["--metric", "rougeL:0", "--metric", "cider:0", "--metric", "meteor:0", "--metric", "bleu4:0"]

    def gate(*extra):
        out = tmp_path / "verdict.json"
        res = invoke("regress", "--baseline", runs["base"], "--candidate", cand, "--json-out", out,
                     "--resamples", 1000, "--trials", 1000, *extra)
        return res, json.loads(out.read_text())

    res, verdict = gate(*gated)
    assert res.exit_code == 1 and verdict["familywise"] == "none", res.output
    by_metric = {m["metric"]: m for m in verdict["metrics"]}
    assert [k for k, m in by_metric.items() if m["status"] == "regression"] == ["paper/bleu4"]
    assert 0.0125 < by_metric["paper/bleu4"]["p_regression"] < 0.05
    for m in verdict["metrics"]:  # under none the p-value and the interval say the same
        assert (m["p_regression"] < 0.05) == (m["status"] == "regression") == (m["improvement_ci"][1] < 0)
    for method in ("holm", "bonferroni"):
        res, verdict = gate(*gated, "--familywise", method)
        assert res.exit_code == 3 and verdict["status"] == "inconclusive", res.output
        assert verdict["familywise"] == method and f"{method} over the 4 metrics" in res.output
        bleu4 = next(m for m in verdict["metrics"] if m["metric"] == "paper/bleu4")
        assert bleu4["status"] == "inconclusive" and bleu4["p_regression_adjusted"] >= 0.05
        assert f"{method}-adjusted" in res.output
        res, verdict = gate("--metric", "bleu4:0", "--familywise", method)  # one metric: the plain rule
        assert res.exit_code == 1 and verdict["metrics"][0]["status"] == "regression"
    from altbench.errors import AltbenchError
    from altbench.stats.gate import regress

    assert regress(runs["base"], cand, ["bleu4:0", "rougeL:0"], resamples=1000, trials=1000,
                   familywise="bonferroni").familywise == "bonferroni"
    with pytest.raises(AltbenchError, match="^familywise must be one of none, holm, bonferroni"):
        regress(runs["base"], cand, familywise="sidak")


def test_regress_json_to_stdout(runs):
    res = invoke("regress", "--baseline", runs["base"], "--candidate", runs["same"], "--json-out", "-",
                 "--resamples", 500)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["schema"] == "altbench.regress/1" and "PASS" in res.stderr


def test_regress_default_verdict_path(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("regress", "--baseline", runs["base"] / "results.json", "--candidate", runs["same"],
                 "--resamples", 500)
    assert res.exit_code == 0 and "verdict written to altbench-regress.json" in res.output
    assert json.loads((tmp_path / "altbench-regress.json").read_text())["status"] == "pass"


# ------------------------------------------------------------------------- end to end on altbench run
def _paper_scorer_ready() -> bool:
    if importlib.util.find_spec("altbench.metrics.paper") is None:
        return False
    from altbench.errors import MissingResourceError
    from altbench.metrics.nltk_data import ensure_nltk_data

    try:
        ensure_nltk_data()
    except MissingResourceError:
        return False
    return True


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    if not _paper_scorer_ready():
        pytest.skip("paper scorer or its NLTK data not available")
    from altbench.run.runner import RunConfig, run

    root = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.setenv("ALTBENCH_CACHE", str(root / "cache"))
    try:
        echo = run(RunConfig(model="context-echo", split="demo", out=root / "echo", resamples=200)).run_dir
        retrieval = run(RunConfig(model="retrieval", split="demo", out=root / "retrieval", resamples=200)).run_dir
        subset = run(RunConfig(model="retrieval", split="demo", out=root / "subset", limit=20, resamples=200)).run_dir
    finally:
        mp.undo()
    return {"echo": echo, "retrieval": retrieval, "subset": subset, "root": root}


def test_end_to_end_on_the_demo_split(demo_runs):
    root = demo_runs["root"]
    res = invoke("compare", demo_runs["echo"], demo_runs["retrieval"], "--json", "--resamples", 2000,
                 "--trials", 2000)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["split"]["name"] == "demo" and data["n_items"] == 48
    assert {r["metric"] for r in data["comparisons"]} >= {"paper/bleu4", "paper/rougeL", "paper/cider"}
    # retrieval copies a training alt-text, context-echo the post: retrieval is clearly better on ROUGE-L
    rouge = next(r for r in data["comparisons"] if r["metric"] == "paper/rougeL")
    assert rouge["better"] == "retrieval"
    out = root / "verdict.json"
    res = invoke("regress", "--baseline", demo_runs["retrieval"], "--candidate", demo_runs["echo"],
                 "--json-out", out, "--resamples", 2000)
    assert res.exit_code == 1 and json.loads(out.read_text())["status"] == "regression", res.output
    res = invoke("regress", "--baseline", demo_runs["echo"], "--candidate", demo_runs["retrieval"],
                 "--json-out", out, "--resamples", 2000)
    assert res.exit_code == 0, res.output
    res = invoke("regress", "--baseline", demo_runs["retrieval"], "--candidate", demo_runs["retrieval"],
                 "--json-out", out, "--resamples", 500)
    assert res.exit_code == 0, res.output
    # a --limit run holds other items: refused
    res = invoke("regress", "--baseline", demo_runs["retrieval"], "--candidate", demo_runs["subset"],
                 "--json-out", out)
    assert res.exit_code == 4 and "different scored items for paper/rougeL (48 vs 20" in res.stderr
