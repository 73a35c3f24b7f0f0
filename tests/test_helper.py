"""altbench.helper: the second interpreter of a large scoring changes no number.

Per-item paper scores and bootstrap sums computed with a helper process taking shares are bit-identical
to the one-process results, and a failed helper falls back to computing here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from altbench import helper as helper_mod
from altbench.helper import Helper, HelperError, second_core
from altbench.stats.bootstrap import Multinomial, bootstrap_ci, weighted_sums

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_paper.py"


def _make_items(n: int, seed: int):
    spec = importlib.util.spec_from_file_location("_bench_paper_for_tests", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_items(n, seed)


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.delenv("ALTBENCH_NO_HELPER", raising=False)
    monkeypatch.setattr(helper_mod, "usable_cores", lambda: 2)


def test_helper_runs_tasks_in_order_and_reports_failures():
    h = Helper()
    try:
        a = h.submit("math:factorial", 5)
        b = h.submit("math:sqrt", -1.0)  # raises in the helper
        c = h.submit("os.path:join", "x", "y")
        assert c.result() == "x/y" and a.result() == 120
        with pytest.raises(HelperError, match="math domain error"):
            b.result()
    finally:
        h.close()


def test_small_scorings_get_no_helper(two_cores):
    with second_core(helper_mod.MIN_ITEMS - 1) as h:
        assert h is None and helper_mod.current() is None


def test_bootstrap_with_helper_is_bit_identical(two_cores):
    rng = np.random.default_rng(3)
    stats = np.c_[rng.random(4000), rng.integers(0, 5, 4000), rng.random(4000) * 7]
    scheme = Multinomial(9000, seed=5)
    alone = weighted_sums(stats, scheme, threads=1)
    calls = []
    with second_core(4000) as h:
        assert h is not None
        shared = weighted_sums(stats, scheme, threads=1)
        shared_meanwhile = weighted_sums(stats, scheme, threads=1, meanwhile=lambda: calls.append(1))
    assert np.array_equal(alone, shared) and np.array_equal(alone, shared_meanwhile)
    assert calls == [1]


def test_paper_scores_and_ci_with_helper_are_bit_identical(two_cores):
    from altbench.metrics.paper.score import score_paper

    refs, preds = _make_items(4500, seed=11)
    alone = score_paper(refs, preds, workers=1)
    ci_alone = bootstrap_ci(alone, resamples=8000, seed=2)
    with second_core(len(preds)) as h:
        assert h is not None
        shared = score_paper(refs, preds)
        ci_shared = bootstrap_ci(shared, resamples=8000, seed=2)
    for name, m in alone.items():
        assert shared[name].per_item == m.per_item, name
        assert shared[name].value == m.value, name
    assert ci_shared == ci_alone


def test_a_dead_helper_falls_back_to_this_process(two_cores):
    from altbench.metrics.paper.score import score_paper

    refs, preds = _make_items(4200, seed=12)
    alone = score_paper(refs, preds, workers=1)
    stats = np.random.default_rng(1).random((4200, 2))
    with second_core(len(preds)) as h:
        h._proc.kill()
        h._proc.wait()
        shared = score_paper(refs, preds)
        sums = weighted_sums(stats, Multinomial(9000), threads=1)
    assert all(shared[k].per_item == m.per_item for k, m in alone.items())
    assert np.array_equal(sums, weighted_sums(stats, Multinomial(9000), threads=1))


def test_item_blocks_change_no_score(monkeypatch):
    from altbench.metrics.nltk_data import ensure_nltk_data
    from altbench.metrics.paper import items

    ensure_nltk_data()
    refs, preds = _make_items(2000, seed=13)
    whole = items._score_items(refs, preds)
    monkeypatch.setattr(items, "BLOCK", 700)
    assert items._score_items(refs, preds) == whole


def test_an_error_inside_stops_the_helper_at_once(two_cores):
    import time

    with pytest.raises(ValueError), second_core(helper_mod.MIN_ITEMS) as h:
        h.submit("time:sleep", 60)
        proc = h._proc
        t0 = time.monotonic()
        raise ValueError("a data error")
    assert proc.poll() is not None and time.monotonic() - t0 < 20
