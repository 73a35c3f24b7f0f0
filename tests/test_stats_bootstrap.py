"""The resampling engine: weights, chunking, determinism, corpus-level re-aggregation, run-level intervals."""

import numpy as np
import pytest

from altbench.metrics.base import MetricScores
from altbench.stats import bootstrap as bs
from altbench.stats.bootstrap import (
    FixedWeights,
    Multinomial,
    StatBlock,
    Swaps,
    bootstrap_ci,
    percentile_interval,
    replicates,
    stack,
    weighted_sums,
)


def test_multinomial_rows_are_draw_counts():
    w = Multinomial(500, seed=3).weights(37, 0, 0, 500)
    assert w.shape == (500, 37)
    assert np.all(w.sum(axis=1) == 37) and np.all(w >= 0) and np.all(w == np.round(w))
    # every item is drawn with probability 1/n: mean count 1, variance (1 - 1/n) for a multinomial
    assert abs(w.mean() - 1.0) < 1e-12
    assert abs(w.var() - (1 - 1 / 37)) < 0.05


def test_swaps_are_fair_coins():
    w = Swaps(400, seed=1).weights(101, 0, 0, 400)
    assert w.shape == (400, 101) and set(np.unique(w)) <= {0.0, 1.0}
    assert abs(w.mean() - 0.5) < 0.01


def test_same_seed_same_numbers_whatever_computes_the_chunks(monkeypatch):
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 2000)  # many chunks for a small problem
    stats = np.random.default_rng(0).random((50, 3))
    one = weighted_sums(stats, Multinomial(1000, seed=7))
    calls = []

    def backwards(fn, tasks):  # any starmap: here the chunks computed last to first, one at a time
        tasks = list(tasks)
        calls.append(len(tasks))
        return iter([fn(*args) for args in tasks[::-1]][::-1])

    assert np.array_equal(one, weighted_sums(stats, Multinomial(1000, seed=7), backwards))
    assert calls == [bs.chunk_count(50, 1000)] and calls[0] > 1
    # a chunk is a pure task: computed alone (its own generator), it is its rows of the whole
    rows = bs.rows_per_chunk(50, 1000)
    assert np.array_equal(bs.chunk_sums(stats, Multinomial(1000, seed=7), 3, 5), one[3 * rows : 5 * rows])
    assert not np.array_equal(one, weighted_sums(stats, Multinomial(1000, seed=8)))
    # bootstrap and permutation streams of one seed are independent draws
    assert not np.array_equal(Multinomial(10, 7).weights(50, 0, 0, 10) > 1, Swaps(10, 7).weights(50, 0, 0, 10) > 0)


def test_chunks_cover_every_replicate_once(monkeypatch):
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 70)  # 7 rows per chunk for n=10: a ragged last chunk
    w = np.random.default_rng(1).integers(0, 3, size=(23, 10)).astype(float)
    stats = np.random.default_rng(2).random((10, 2))
    assert np.allclose(weighted_sums(stats, FixedWeights(w)), w @ stats)
    done = []
    assert np.allclose(weighted_sums(stats, FixedWeights(w), meanwhile=lambda: done.append(1)), w @ stats)
    assert done == [1]


def test_fixed_weights_from_indices():
    idx = np.array([[0, 0, 2], [1, 2, 2]])
    assert FixedWeights.from_indices(idx, 3).matrix.tolist() == [[2, 0, 1], [0, 1, 2]]


def test_identical_blocks_are_stored_once():
    a = StatBlock(np.arange(6.0).reshape(3, 2), "ratio")
    b = StatBlock(np.arange(6.0).reshape(3, 2), "ratio")
    c = StatBlock(np.ones((3, 1)))
    matrix, slices = stack([a, b, c])
    assert matrix.shape == (3, 3) and slices[0] == slices[1] != slices[2]


def test_corpus_metric_is_reaggregated_from_resampled_stats_not_averaged():
    # one item with a long sentence dominates a ratio of sums, not a mean of ratios
    stats = np.array([[1.0, 10.0], [1.0, 1.0], [0.0, 1.0]])
    block = StatBlock(stats, "ratio")
    idx = np.array([[0, 1, 2], [0, 0, 1], [2, 2, 2]])
    out = replicates([block], FixedWeights.from_indices(idx, 3))[:, 0]
    expected = [stats[row, 0].sum() / stats[row, 1].sum() for row in idx]
    assert np.allclose(out, expected)
    assert block.value() == pytest.approx(2 / 12)


def test_bootstrap_ci_matches_brute_force_resampling():
    rng = np.random.default_rng(5)
    n = 40
    scores = rng.random(n)
    ratio = np.column_stack([rng.integers(0, 5, n), rng.integers(5, 10, n)]).astype(float)
    metrics = {
        "m/mean": MetricScores("mean", float(scores.mean() * 100), tuple(scores), "mean|x", scale=100.0),
        "m/ratio": MetricScores("ratio", 0.0, tuple(ratio[:, 0]), "ratio|x", stats=ratio, aggregator="ratio"),
    }
    ci = bootstrap_ci(metrics, resamples=2000, seed=11)
    w = np.concatenate([Multinomial(2000, 11).weights(n, 0, 0, 2000)])
    brute_mean = w @ scores / n * 100
    brute_ratio = (w @ ratio[:, 0]) / (w @ ratio[:, 1])
    assert ci["m/mean"] == pytest.approx(tuple(np.quantile(brute_mean, [0.025, 0.975])))
    assert ci["m/ratio"] == pytest.approx(tuple(np.quantile(brute_ratio, [0.025, 0.975])))
    assert bootstrap_ci(metrics, resamples=2000, seed=11) == ci  # seeded: identical


def test_percentile_interval_ignores_undefined_replicates():
    values = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan], [3.0, np.nan]])
    lo, hi = percentile_interval(values, 0.5)
    assert lo[0] == pytest.approx(1.5) and hi[0] == pytest.approx(2.5) and np.isnan(lo[1]) and np.isnan(hi[1])


def test_empty_and_degenerate_inputs():
    assert bootstrap_ci({}) == {}
    m = MetricScores("x", float("nan"), (), "x")
    assert all(np.isnan(v) for v in bootstrap_ci({"x": m}, resamples=100)["x"])
    one = MetricScores("x", 0.5, (0.5,), "x")
    assert bootstrap_ci({"x": one}, resamples=100)["x"] == (0.5, 0.5)


def test_signature_states_the_method():
    sig = bs.signature_suffix(10_000, 3)
    assert sig.startswith("ci:percentile-bootstrap|paired:items|resample:stats|") and "n:10000|seed:3" in sig
