"""Loading runs for comparison, pairing items by id, and refusing runs that cannot be compared."""

import json
import sys

import numpy as np
import pytest

from altbench.errors import AltbenchError, DataError
from altbench.metrics.base import AGGREGATORS, register_aggregator
from altbench.stats import comparable
from altbench.stats.comparable import (
    NotComparableError,
    aligned_blocks,
    base_signature,
    check_comparable,
    label_runs,
    load_run,
    select_metrics,
)
from altbench.stats.compare import Settings, compare_runs
from altbench.stats.synthetic import Column, write_run

N = 60


@register_aggregator("test-comparable-ratio")
def _ratio(summed, n):
    return summed[..., 0] / summed[..., 1]


def _columns(seed, shift=0.0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 15, N)
    return {
        "paper/rougeL": Column(np.clip(rng.random(N) + shift, 0, 1), scale=100.0),
        "paper/bleu4": Column(rng.random(N) * 0.5, scale=100.0),
        "paper/prec": Column(np.column_stack([rng.binomial(lengths, 0.4), lengths]), "test-comparable-ratio"),
        "diag/length_chars": Column(rng.integers(10, 200, N).astype(float), higher_is_better=False),
    }


@pytest.fixture
def two_runs(tmp_path):
    a = write_run(tmp_path / "a", _columns(1), model="sys-a")
    b = write_run(tmp_path / "b", _columns(2, 0.05), model="sys-b")
    return a, b


def _edit(folder, fn):
    path = folder / "results.json"
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_run_folder_and_results_file_load_the_same(two_runs):
    a, _ = two_runs
    by_dir, by_file = load_run(a), load_run(a / "results.json")
    assert by_dir.ids == by_file.ids == [str(i) for i in range(N)]
    assert by_dir.label == "sys-a" and by_dir.convention == "paper"


def test_results_file_with_its_own_scores_file(two_runs, tmp_path):
    a, _ = two_runs
    (tmp_path / "base.json").write_text((a / "results.json").read_text())
    (tmp_path / "base.scores.jsonl").write_text((a / "scores.jsonl").read_text())
    run = load_run(tmp_path / "base.json")
    assert run.scores_path.name == "base.scores.jsonl"


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "scores.jsonl").unlink(), "scores.jsonl not found"),
    (lambda d: (d / "results.json").write_text("{not json"), "cannot read results"),
    (lambda d: (d / "results.json").write_text('{"schema": "other/1"}'), "expected an altbench.results/1"),
    (lambda d: (d / "scores.jsonl").write_text('{"id": "1"}\n{"id": "1"}\n'), "appears twice"),
    (lambda d: (d / "scores.jsonl").write_text("[1, 2]\n"), "not a per-item score row"),
])
def test_unreadable_runs_are_input_errors(two_runs, breakage, message):
    a, _ = two_runs
    breakage(a)
    with pytest.raises(DataError, match=message):
        load_run(a)


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
        run.block("paper/rougeL", run.ids)


@pytest.mark.parametrize("change, reason", [
    (lambda d: d["split"].update(sha256="f" * 64), "different split content"),
    (lambda d: d.update(convention="coco"), "different convention"),
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
    with pytest.raises(NotComparableError, match=r"different scored items \(60 vs 59; 1 only in the first"):
        check_comparable(label_runs([load_run(a), load_run(fewer)]), ["paper/rougeL"])


def test_interval_settings_do_not_make_runs_incomparable(two_runs, tmp_path):
    a, _ = two_runs
    other = write_run(tmp_path / "d", _columns(4), model="sys-d", resamples=300, seed=5)
    check_comparable(label_runs([load_run(a), load_run(other)]), ["paper/rougeL", "paper/prec"])
    assert base_signature("x|conv:paper|ci:percentile-bootstrap|n:10") == "x|conv:paper"


def test_items_are_paired_by_id_not_by_line(two_runs):
    a, b = two_runs
    lines = (b / "scores.jsonl").read_text().splitlines()
    reference = compare_runs([a, b], settings=Settings(resamples=500, trials=500))
    (b / "scores.jsonl").write_text("\n".join(reversed(lines)) + "\n")
    shuffled = compare_runs([a, b], settings=Settings(resamples=500, trials=500))
    assert [r.test for r in shuffled.rows] == [r.test for r in reference.rows]
    blocks = aligned_blocks([load_run(a), load_run(b)], ["paper/rougeL"])
    assert blocks[1][0].stats[0, 0] == json.loads(lines[0])["scores"]["paper/rougeL"]


def test_undefined_item_scores_are_left_out_of_the_mean(tmp_path):
    x = np.random.default_rng(0).random(N)
    x[[3, 7]] = np.nan
    run = load_run(write_run(tmp_path / "n", {"paper/rougeL": x}))
    block = run.block("paper/rougeL", run.ids)
    assert block.value() == pytest.approx(np.nanmean(x)) and not block.linear


def test_metric_selection(two_runs):
    runs = label_runs([load_run(p) for p in two_runs])
    keys, skipped = select_metrics(runs)
    assert keys == ["paper/rougeL", "paper/bleu4", "paper/prec"] and skipped == []
    assert "diag/length_chars" in select_metrics(runs, include_diagnostics=True)[0]
    assert select_metrics(runs, ["rougeL", "paper/bleu4", "rougeL"])[0] == ["paper/rougeL", "paper/bleu4"]
    with pytest.raises(AltbenchError, match="unknown metric 'cidr'"):
        select_metrics(runs, ["cidr"])


def test_unknown_aggregator_is_looked_up_in_the_scorer_modules(two_runs, tmp_path, monkeypatch):
    a, b = two_runs
    for folder in (a, b):
        _edit(folder, lambda d: d["metrics"]["paper/prec"].update(aggregator="test-lazy-ratio"))
    (tmp_path / "lazy_scorer_for_test.py").write_text(
        "from altbench.metrics.base import register_aggregator\n"
        "register_aggregator('test-lazy-ratio')(lambda s, n: s[..., 0] / s[..., 1])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(comparable, "AGGREGATOR_MODULES", ("no_such_module_xyz", "lazy_scorer_for_test"))
    monkeypatch.delitem(AGGREGATORS, "test-lazy-ratio", raising=False)
    monkeypatch.delitem(sys.modules, "lazy_scorer_for_test", raising=False)
    result = compare_runs([a, b], ["paper/prec"], settings=Settings(resamples=200, trials=200))
    assert "test-lazy-ratio" in AGGREGATORS and result.rows[0].metric == "paper/prec"
    monkeypatch.setattr(comparable, "AGGREGATOR_MODULES", ())
    monkeypatch.delitem(AGGREGATORS, "test-lazy-ratio")
    with pytest.raises(DataError, match="unknown aggregator 'test-lazy-ratio'"):
        compare_runs([a, b], ["paper/prec"], settings=Settings(resamples=200, trials=200))


def test_compare_holm_covers_every_pair_and_metric(two_runs, tmp_path):
    a, b = two_runs
    c = write_run(tmp_path / "c", _columns(5), model="sys-c")
    result = compare_runs([a, b, c], settings=Settings(resamples=500, trials=500, seed=1))
    assert len(result.rows) == 3 * 3  # pairs x metrics
    p = sorted(r.test.p_permutation for r in result.rows)
    holm_min = min(r.p_permutation_holm for r in result.rows)
    assert holm_min == pytest.approx(min(1.0, 9 * p[0]))
    data = result.to_dict()
    assert data["schema"] == "altbench.compare/1" and len(data["comparisons"]) == 9
    json.dumps(data, allow_nan=False)
