"""Loading runs for comparison, pairing items by id, and refusing runs that cannot be compared."""

import json

import numpy as np
import pytest

from altbench.errors import AltbenchError, DataError
from altbench.stats.comparable import (
    NotComparableError,
    base_signature,
    check_comparable,
    label_runs,
    load_run,
    select_metrics,
)
from altbench.stats.compare import Settings, compare_runs
from altbench.stats.synthetic import Column, write_run

N = 60


def _columns(seed, shift=0.0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 15, N)
    return {
        "paper/rougeL": Column(np.clip(rng.random(N) + shift, 0, 1), scale=100.0),
        "paper/bleu4": Column(rng.random(N) * 0.5, scale=100.0),
        "paper/prec": Column(np.column_stack([rng.binomial(lengths, 0.4), lengths]), "mean_defined"),  # a ratio
        "diag/length_chars": Column(rng.integers(10, 200, N).astype(float), higher_is_better=False),
    }


@pytest.fixture
def two_runs(tmp_path):
    a = write_run(tmp_path / "a", _columns(1), model="sys-a")
    b = write_run(tmp_path / "b", _columns(2, 0.05), model="sys-b")
    return a, b


def _edit(folder, fn):
    """Apply ``fn`` to the run's only scoring as a v1-shaped dict (split and metrics of that scoring)."""
    path = folder / "results.json"
    data = json.loads(path.read_text())
    (key, scoring), = data["scorings"].items()
    view = {**scoring, "split": data["split"]}
    fn(view)
    data["split"] = view.pop("split")
    data["scorings"][key] = view
    path.write_text(json.dumps(data))


def _scores(folder):
    (path,) = (folder / "scorings").glob("*.scores.jsonl")
    return path


def test_run_folder_and_results_file_load_the_same(two_runs):
    a, _ = two_runs
    by_dir, by_file = load_run(a), load_run(a / "results.json")
    assert by_dir.ids("paper/rougeL") == by_file.ids("paper/rougeL") == [str(i) for i in range(N)]
    assert by_dir.label == "sys-a" and by_dir.run.headline.conventions == ["paper"]


def test_version_1_results_file_with_its_own_scores_file(two_runs, tmp_path):
    """A v1 file (results.json + X.scores.jsonl) reads as one scoring with the same numbers."""
    a, _ = two_runs
    v2 = load_run(a)
    (tmp_path / "base.json").write_text(json.dumps({**v2.run.flat(), "schema": "altbench.results/1"}))
    (tmp_path / "base.scores.jsonl").write_text(_scores(a).read_text())
    run = load_run(tmp_path / "base.json")
    assert run.run.schema == "altbench.results/1" and run.scoring("paper/rougeL").scores_path.name == "base.scores.jsonl"
    assert run.metrics == v2.metrics and run.run.headline.key == v2.run.headline.key
    assert run.block("paper/prec", run.ids("paper/prec")).value() == v2.block("paper/prec", v2.ids("paper/prec")).value()


@pytest.mark.parametrize("breakage, message", [
    (lambda d: _scores(d).unlink(), "per-item scores not found"),
    (lambda d: (d / "results.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "results.json").write_text('{"schema": "other/1"}'), "expected an altbench.results/2"),
    (lambda d: _scores(d).write_text('{"id": "1", "scores": {}}\n{"id": "1", "scores": {}}\n'), "appears twice"),
    (lambda d: _scores(d).write_text('{"id": "1"}\n'), "per-item score row"),
])
def test_unreadable_runs_are_input_errors(two_runs, breakage, message):
    a, _ = two_runs
    breakage(a)
    with pytest.raises(DataError, match=message):
        run = load_run(a)
        run.block("paper/rougeL", run.ids("paper/rougeL"))


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(DataError, match="no such run folder"):
        load_run(tmp_path / "nope")
    with pytest.raises(DataError, match="no results.json"):
        load_run(tmp_path)


def test_scores_that_do_not_rebuild_the_reported_value_are_refused(two_runs):
    a, _ = two_runs
    _edit(a, lambda d: d["metrics"]["paper/rougeL"].update(value=12.0))
    run = load_run(a)
    with pytest.raises(DataError, match="rebuilt from per-item statistics"):
        run.block("paper/rougeL", run.ids("paper/rougeL"))


@pytest.mark.parametrize("change, reason", [
    (lambda d: d["split"].update(sha256="f" * 64), "different split content"),
    (lambda d: d["metrics"]["paper/rougeL"].update(
        signature=d["metrics"]["paper/rougeL"]["signature"].replace("synthetic", "tok:other")),
     "paper/rougeL was computed with other settings"),
])
def test_incomparable_runs_are_refused_with_one_line(two_runs, change, reason):
    a, b = two_runs
    _edit(b, change)
    runs = label_runs([load_run(a), load_run(b)])
    with pytest.raises(NotComparableError, match=reason) as info:
        check_comparable(runs, ["paper/rougeL"])
    assert info.value.exit_code == 4 and "\n" not in str(info.value)


def test_other_items_are_refused(two_runs, tmp_path):
    a, _ = two_runs
    fewer = write_run(tmp_path / "c", {k: Column(np.asarray(c.stats)[:-1], c.aggregator, c.scale, c.higher_is_better)
                                       for k, c in _columns(3).items()}, model="sys-c")
    with pytest.raises(NotComparableError, match=r"different scored items for paper/rougeL \(60 vs 59; 1 only in"):
        check_comparable(label_runs([load_run(a), load_run(fewer)]), ["paper/rougeL"])


def test_interval_settings_do_not_make_runs_incomparable(two_runs, tmp_path):
    a, _ = two_runs
    other = write_run(tmp_path / "d", _columns(4), model="sys-d", resamples=300, seed=5)
    check_comparable(label_runs([load_run(a), load_run(other)]), ["paper/rougeL", "paper/prec"])
    assert base_signature("x|conv:paper|ci:percentile-bootstrap|n:10") == "x|conv:paper"


def test_items_are_paired_by_id_not_by_line(two_runs):
    a, b = two_runs
    lines = _scores(b).read_text().splitlines()
    reference = compare_runs([a, b], settings=Settings(resamples=500, trials=500))
    _scores(b).write_text("\n".join(reversed(lines)) + "\n")
    shuffled = compare_runs([a, b], settings=Settings(resamples=500, trials=500))
    assert [r.test for r in shuffled.rows] == [r.test for r in reference.rows]
    run_a, run_b = load_run(a), load_run(b)
    block = run_b.block("paper/rougeL", run_a.ids("paper/rougeL"))
    assert block.stats[0, 0] == json.loads(lines[0])["scores"]["paper/rougeL"]


def test_undefined_item_scores_are_left_out_of_the_mean(tmp_path):
    x = np.random.default_rng(0).random(N)
    x[[3, 7]] = np.nan
    run = load_run(write_run(tmp_path / "n", {"paper/rougeL": x}))
    block = run.block("paper/rougeL", run.ids("paper/rougeL"))
    assert block.value() == pytest.approx(np.nanmean(x)) and not block.linear


def test_metric_selection(two_runs):
    runs = label_runs([load_run(p) for p in two_runs])
    keys, skipped = select_metrics(runs)
    assert keys == ["paper/rougeL", "paper/bleu4", "paper/prec"] and skipped == []
    assert "diag/length_chars" in select_metrics(runs, include_diagnostics=True)[0]
    assert select_metrics(runs, ["rougeL", "paper/bleu4", "rougeL"])[0] == ["paper/rougeL", "paper/bleu4"]
    with pytest.raises(AltbenchError, match="unknown metric 'cidr'"):
        select_metrics(runs, ["cidr"])


def test_unknown_aggregator_is_an_input_error(two_runs):
    a, b = two_runs
    for folder in (a, b):
        _edit(folder, lambda d: d["metrics"]["paper/prec"].update(aggregator="no-such-aggregator"))
    with pytest.raises(DataError, match="unknown aggregator 'no-such-aggregator'"):
        compare_runs([a, b], ["paper/prec"], settings=Settings(resamples=200, trials=200))


def test_compare_holm_is_per_pair_over_its_quality_metrics(two_runs, tmp_path):
    a, b = two_runs
    c = write_run(tmp_path / "c", _columns(5), model="sys-c")
    result = compare_runs([a, b, c], settings=Settings(resamples=500, trials=500, seed=1))
    assert len(result.rows) == 3 * 3  # pairs x metrics
    for pair in {(r.a, r.b) for r in result.rows}:
        rows = [r for r in result.rows if (r.a, r.b) == pair]
        p = sorted(r.test.p_permutation for r in rows)
        assert min(r.p_holm for r in rows) == pytest.approx(min(1.0, 3 * p[0]))  # family: the pair's 3 metrics
    only_rouge = compare_runs([a, b, c], ["rougeL"], settings=Settings(resamples=500, trials=500, seed=1))
    assert [r.p_holm for r in only_rouge.rows] == [r.p_holm for r in result.rows if r.metric == "paper/rougeL"]
    data = result.to_dict()
    assert data["schema"] == "altbench.compare/1" and len(data["comparisons"]) == 9
    json.dumps(data, allow_nan=False)
