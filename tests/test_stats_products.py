"""The shared-products engine (altbench.stats.products) against the per-pair computation it replaced.

* Bit-identity: on real runs (`altbench run` on the demo split, paper and coco conventions: corpus-level coco
  BLEU-1..4 and METEOR from their summed statistics, the diagnostics) and on synthetic runs (a corpus-level
  ratio, metrics undefined on some items, an undefined metric), every pair's delta, interval, standard error,
  p-values (raw and Holm-adjusted) and effect size are equal, ``==``, to the per-pair path's.
* Validity with shared swap masks: every pair of many systems drawn from one distribution is tested with the
  same masks; the rate of p < alpha over the pairs stays within alpha +- 1% (bench/bench_shared_null.py runs
  a larger version).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from altbench.stats.bootstrap import StatBlock
from altbench.stats.comparable import label_runs, load_run
from altbench.stats.engine import Policy, analyse_pair, analyse_pairs
from altbench.stats.paired import compare_pairs
from altbench.stats.synthetic import Column, write_run

FIELDS = ("delta", "ci_low", "ci_high", "se", "p_bootstrap", "p_permutation", "effect_size", "effect_size_kind")


def _same(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


def _assert_identical(runs, policy, n_tests=None):
    pairs = list(itertools.combinations(range(len(runs)), 2))
    shared = analyse_pairs(runs, pairs, policy)
    per_pair = analyse_pairs(runs, pairs, policy, method="per-pair")
    compared = 0
    for s, r in zip(shared, per_pair):
        assert s.tests.keys() == r.tests.keys() and s.untestable == r.untestable
        for key in s.tests:
            a, b = s.tests[key], r.tests[key]
            for f in FIELDS:
                assert _same(getattr(a.test, f), getattr(b.test, f)), (s.a, s.b, key, f, getattr(a.test, f),
                                                                        getattr(b.test, f))
            assert _same(a.p_holm, b.p_holm) and _same(a.p_bootstrap_holm, b.p_bootstrap_holm)
            assert a.significant == b.significant and a.better == b.better
            compared += 1
    if n_tests is not None:
        assert compared == n_tests
    # a pair alone gives what it gives among the others (nothing depends on the other runs)
    alone = analyse_pair(runs[0], runs[-1], policy)
    among = shared[pairs.index((0, len(runs) - 1))]
    assert all(_same(getattr(alone.tests[k].test, f), getattr(among.tests[k].test, f)) for k in alone.tests
               for f in FIELDS)
    return compared


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """context-echo, retrieval and altbench-tiny on the demo split, paper and coco conventions in one scoring."""
    pytest.importorskip("transformers", reason="altbench-tiny needs the hf extra")
    from altbench.run.runner import RunConfig, run

    root = tmp_path_factory.mktemp("products")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return [run(RunConfig(model=m, split="demo", out=root / m, resamples=200, convention="both")).run_dir
                for m in ("context-echo", "retrieval", "altbench-tiny")]


def test_shared_products_equal_the_per_pair_path_on_real_runs(real_runs):
    runs = label_runs([load_run(p) for p in real_runs])
    keys = set(runs[0].metrics)
    assert {"coco/bleu4", "coco/meteor", "paper/cider", "diag/length_chars"} <= keys  # corpus-level + diagnostics
    assert runs[0].metrics["coco/meteor"].aggregator == "coco_meteor"
    n = _assert_identical(runs, Policy(resamples=2000, trials=2000, seed=3), n_tests=3 * len(keys))
    assert n == 60


def test_shared_products_equal_the_per_pair_path_on_synthetic_runs(tmp_path):
    rng = np.random.default_rng(11)
    n = 300
    difficulty = rng.beta(2, 5, n)
    folders = []
    for k in range(5):
        matches = rng.integers(0, 8, n).astype(float)
        undefined = np.where(rng.random(n) < 0.1, np.nan, np.clip(difficulty + rng.normal(0, 0.1, n), 0, 1))
        cols = {
            "paper/rougeL": Column(np.clip(difficulty + 0.01 * k + rng.normal(0, 0.1, n), 0, 1), scale=100.0),
            "paper/cider": Column(np.clip(difficulty * 3 + rng.normal(0, 0.3, n), 0, None), scale=100.0),
            "coco/precision": Column(np.column_stack([matches, matches + rng.integers(1, 6, n)]), aggregator="ratio"),
            "model/judge": Column(undefined),  # undefined on some items: the mean over the defined ones
            "diag/length_chars": Column(rng.poisson(80 + k, n).astype(float), higher_is_better=False),
            "diag/empty": Column(np.zeros(n), higher_is_better=False),  # identical in every run
        }
        folders.append(write_run(tmp_path / f"m{k}", cols, model=f"m{k}", seed=k))
    runs = label_runs([load_run(f) for f in folders])
    _assert_identical(runs, Policy(resamples=1500, trials=1500, seed=5), n_tests=10 * 6)


def test_compare_pairs_methods_agree_and_one_pair_costs_no_pass_over_the_items():
    rng = np.random.default_rng(2)
    n = 400
    runs = []
    for k in range(6):
        stats = np.column_stack([rng.integers(0, 9, n), rng.integers(9, 20, n)]).astype(float)
        runs.append([StatBlock(rng.random((n, 1)) + 0.02 * k), StatBlock(stats, "ratio", 100.0),
                     StatBlock(np.column_stack([rng.random(n), np.ones(n)]), "mean_defined")])
    pairs = list(itertools.combinations(range(6), 2))
    shared = compare_pairs(runs, pairs, resamples=800, trials=800, seed=9)
    per_pair = compare_pairs(runs, pairs, resamples=800, trials=800, seed=9, method="per-pair")
    for s, r in zip(shared, per_pair):
        for x, y in zip(s, r):
            assert all(_same(getattr(x, f), getattr(y, f)) for f in FIELDS)


def _null_p_values(seed: int, systems: int, items: int, trials: int) -> np.ndarray:
    """(pairs, 2) permutation p-values of all pairs of ``systems`` exchangeable systems (an item mean and a
    corpus-level ratio), every pair tested with the same masks."""
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(2, 5, items)
    runs = []
    for _ in range(systems):
        score = np.clip(difficulty + rng.normal(0, 0.15, items), 0, 1)
        tokens = rng.integers(5, 20, items).astype(float)
        matches = rng.binomial(tokens.astype(int), 0.4).astype(float)
        runs.append([StatBlock(score.reshape(-1, 1)), StatBlock(np.column_stack([matches, tokens]), "ratio")])
    pairs = list(itertools.combinations(range(systems), 2))
    results = compare_pairs(runs, pairs, resamples=1, trials=trials, seed=seed)
    return np.array([[r.p_permutation for r in per] for per in results])


def test_shared_masks_keep_the_null_rejection_rate_at_alpha():
    alpha = 0.05
    # independent data and masks per seed; within a seed all 45 pairs share the masks
    p = np.concatenate([_null_p_values(100 + seed, systems=10, items=100, trials=500) for seed in range(200)])
    assert p.shape == (200 * 45, 2)
    rate = float((p < alpha).mean())  # 4.76% of 18,000 tests; other seeds 4.7-5.4%; bench/bench_shared_null.py
    assert abs(rate - alpha) <= 0.01, rate


def test_products_do_not_depend_on_the_blas_thread_count_or_the_other_runs():
    """A threaded OpenBLAS splits a product by its shape, which moves the last bits of each column; the sums are
    made on one BLAS thread, so a run's column is the same alone, beside one run or beside a hundred."""
    from altbench.stats.blas import _openblas
    from altbench.stats.bootstrap import Multinomial, Swaps, weighted_sums

    found = _openblas()
    if found is None:
        pytest.skip("numpy's BLAS is not an OpenBLAS found in this process")
    get, put = found
    before = get()
    rng = np.random.default_rng(4)
    columns = rng.random((5000, 205))
    try:
        put(2)
        for scheme in (Multinomial(900, 1), Swaps(900, 1)):
            narrow = weighted_sums(columns[:, :2], scheme)
            wide = weighted_sums(columns, scheme)
            assert np.array_equal(narrow, wide[:, :2])
        assert get() == 2  # restored after each product
    finally:
        put(before)
