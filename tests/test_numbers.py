"""One rule for the numbers people read (docs/results-schema.md, "How numbers are rounded"): a value lies inside
its own interval, the same value reads the same in the run table, compare, regress, the pages, JSON and the
API, and a zero never reads as -0.00."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import altbench
from altbench.cli import cli
from altbench.stats.synthetic import Column, write_run

REPO = Path(__file__).resolve().parents[1]


def invoke(*args):
    res = CliRunner().invoke(cli, [str(a) for a in args], terminal_width=200)
    return res


def test_a_reported_value_lies_inside_its_own_interval():
    # ROUGE-L F of 10 matched words out of 10 and 12: 20/22 = 0.909090..., reported as round(mean, 5) * 100
    res = altbench.score(["a b c d e f g h i j"], [["a b c d e f g h i j k l"]], resamples=100)
    assert res.value("paper/rougeL") == 90.909  # not 90.90899999999999 (the float artefact of * 100)
    assert res.metrics["paper/rougeL"].ci95 == (90.909, 90.909)


def _in_interval(m) -> bool:
    lo, hi = m.ci95
    if m.value is None:
        return lo is None and hi is None
    return lo is not None and lo <= m.value <= hi


WORDS = st.sampled_from(["a", "red", "circle", "on", "blue", "square", "the", "of", "dog", ".", ",", "big"])
TEXT = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TEXT, TEXT.filter(str.strip)), min_size=1, max_size=6), st.integers(0, 3))
def test_every_value_lies_inside_its_interval(pairs, seed):
    predictions, references = zip(*pairs)
    res = altbench.score(list(predictions), [[r] for r in references], resamples=50, seed=seed)
    for key, m in res.metrics.items():
        assert _in_interval(m), (key, m.value, m.ci95, pairs)


def test_every_value_lies_inside_its_interval_in_both_conventions():
    preds = ["a red circle on blue", "", "a dog", "the cat sat on the mat", "blue square", "a a a a"]
    refs = [["a red circle on a blue background"], ["a green triangle"], ["a brown dog on grass"],
            ["a cat on a mat"], ["a blue square"], ["a picture"]]
    res = altbench.score(preds, refs, convention="both", resamples=200)
    assert any(k.startswith("coco/") for k in res.metrics)
    for key, m in res.metrics.items():
        assert _in_interval(m), (key, m.value, m.ci95)


def test_stored_runs_of_the_earlier_format_read_by_the_same_rule():
    """baselines/regress/demo-retrieval was written before the rule: its paper/rougeL is 66.07600000000001."""
    run = altbench.load_run(REPO / "baselines" / "regress" / "demo-retrieval")
    metrics = run.headline.metrics
    raw = json.loads((REPO / "baselines/regress/demo-retrieval/results.json").read_text())
    stored = raw["metrics"]["paper/rougeL"]["value"]  # a version 1 file: one scoring
    assert stored != 66.076 and metrics["paper/rougeL"].value == 66.076
    for key, m in metrics.items():
        assert _in_interval(m), key
        if key.startswith("paper/"):
            assert all(x == round(x, 3) for x in (m.value, *m.ci95)), key


# ---------------------------------------------------------------------- the same number in every place
def _cells(text: str, key: str) -> list[str]:
    """The cells of the table row of metric ``key`` in rich's box-drawn output."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("\u2502")]
        if len(cells) > 2 and cells[1] == key:
            return cells[1:-1]
    raise AssertionError(f"no row {key} in:\n{text}")


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("numbers")
    out = {}
    for model in ("retrieval", "context-echo"):
        res = CliRunner().invoke(cli, ["run", "--model", model, "--split", "demo", "--out", str(root / model)])
        assert res.exit_code == 0, res.output
        out[model] = (root / model, res.output)
    return out


def test_run_table_compare_regress_and_pages_show_the_same_numbers(demo_runs, tmp_path):
    """Seen on the demo split: bleu1 72.09 in the run table but 72.10 in compare; edit distance 2.6880 vs
    2.6875 (compare re-derived the values and rounded them its own way)."""
    (retrieval, table), (echo, _) = demo_runs["retrieval"], demo_runs["context-echo"]
    res = invoke("compare", retrieval, echo, "--resamples", 200, "--trials", 200)
    assert res.exit_code == 0, res.output
    compared = res.output
    verdict = tmp_path / "verdict.json"
    res = invoke("regress", "--baseline", retrieval, "--candidate", echo, "-m", "bleu1", "-m", "edit_distance",
                 "-m", "rougeL", "--margin", "1", "--resamples", 200, "--json-out", verdict)
    assert res.exit_code == 1, res.output
    regress_lines = {line.split()[1]: line for line in res.output.splitlines() if "baseline" in line}
    site = tmp_path / "site"
    assert invoke("leaderboard", retrieval, echo, "--out", site, "--no-images").exit_code == 0
    page = (site / "demo" / "model-retrieval.html").read_text()
    stored = altbench.load_run(retrieval).headline.metrics
    for key in ("paper/bleu1", "paper/edit_distance", "paper/rougeL"):
        shown = _cells(table, key)[1]
        assert _cells(compared, key)[1] == shown, key  # compare's A column
        assert f"baseline {shown} -> candidate" in regress_lines[key], key
        assert re.search(rf">\s*{re.escape(shown)}\s*<", page), (key, shown)
        assert json.loads(verdict.read_text())["metrics"][[m["metric"] for m in json.loads(
            verdict.read_text())["metrics"]].index(key)]["baseline"] == stored[key].value
    assert _cells(table, "paper/bleu1")[1] == "72.10"  # 72.095 stored: its decimal reading, rounded half up
    assert _cells(table, "paper/edit_distance")[1] == "2.688"  # reported to 3 decimals: no invented 4th


def test_a_zero_never_reads_as_minus_zero(tmp_path):
    """Two runs with a BLEU of zero everywhere: the pages' pairwise difference was "-0.0000 (-0.0000 to -0.0000)"
    (the negated difference of two zeros)."""
    n = 30
    rng = np.random.default_rng(0)
    runs = []
    for name in ("a", "b"):
        cols = {"paper/bleu4": Column(np.zeros(n), scale=100.0),
                "paper/rougeL": Column(rng.uniform(0.2, 0.6, n), scale=100.0),
                "coco/bleu4": Column(-np.abs(rng.normal(0, 1e-17, n)))}
        runs.append(write_run(tmp_path / name, cols, model=name))
    site = tmp_path / "site"
    res = invoke("leaderboard", *runs, "--out", site, "--no-images")
    assert res.exit_code == 0, res.output
    for page in (site / "synthetic").glob("*.html"):
        text = page.read_text()
        assert not re.search(r"[-\u2212]0\.0+\b(?!\d)", text), (page.name, re.findall(r".{40}-0\.0+.{40}", text))
    res = invoke("compare", *runs, "--resamples", 200, "--trials", 200)
    assert res.exit_code == 0 and "-0.00" not in res.output, res.output
    res = invoke("regress", "--baseline", runs[0], "--candidate", runs[1], "-m", "paper/bleu4", "-m", "coco/bleu4",
                 "--margin", "0.5", "--resamples", 200, "--json-out", tmp_path / "v.json")
    assert "-0.00" not in res.output, res.output
