"""Paired tests: definitions, edge cases, and parity with sacrebleu (BLEU) and scipy where definitions coincide."""

import numpy as np
import pytest

from altbench.stats.bootstrap import FixedWeights, Multinomial, StatBlock, Swaps
from altbench.stats.paired import (
    bootstrap_pvalue,
    bootstrap_replicates,
    compare_pairs,
    holm,
    permutation_deltas,
    permutation_pvalue,
)


def _blocks(*cols):
    return [StatBlock(np.asarray(c, dtype=float).reshape(-1, 1)) for c in cols]


def test_holm_against_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert holm(p).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm([0.2, np.nan])[1]) and holm([0.2, np.nan])[0] == pytest.approx(0.2)
    assert holm([0.6, 0.7]).tolist() == [1.0, 1.0]
    assert holm([]).size == 0


def test_a_system_against_itself():
    x = np.random.default_rng(0).random(30)
    (res,) = compare_pairs([_blocks(x), _blocks(x)], [(0, 1)], resamples=500, trials=500)
    r = res[0]
    assert (r.delta, r.ci_low, r.ci_high, r.se) == (0.0, 0.0, 0.0, 0.0)
    assert r.p_bootstrap == 1.0 and r.p_permutation == 1.0 and r.effect_size == 0.0


def test_direction_and_effect_size():
    rng = np.random.default_rng(1)
    a = rng.random(200)
    b = a + 0.05 + rng.normal(0, 0.05, 200)
    (res,) = compare_pairs([_blocks(a), _blocks(b)], [(0, 1)], resamples=2000, trials=2000, seed=2)
    r = res[0]
    assert r.delta == pytest.approx((b - a).mean())
    assert r.ci_low > 0 and r.p_bootstrap < 0.001 and r.p_permutation < 0.001
    d = b - a
    assert r.effect_size == pytest.approx(d.mean() / d.std(ddof=1)) and r.effect_size_kind == "dz"
    (rev,) = compare_pairs([_blocks(b), _blocks(a)], [(0, 1)], resamples=2000, trials=2000, seed=2)
    assert rev[0].delta == pytest.approx(-r.delta) and rev[0].effect_size == pytest.approx(-r.effect_size)


def test_p_value_formula_is_c_plus_one_over_n_plus_one():
    null = np.array([[0.1], [-0.3], [0.25], [0.0]])
    assert permutation_pvalue(null, np.array([0.25]))[0] == pytest.approx((2 + 1) / (4 + 1))  # ties count
    # centred on the observed 0.25: |d* - 0.25| = 0.05, 0.25, 0.25, 0 -> two as extreme
    assert bootstrap_pvalue(np.array([[0.2], [0.5], [0.0], [0.25]]), np.array([0.25]))[0] == pytest.approx(3 / 5)


def test_permutation_equals_exhaustive_enumeration_on_a_tiny_set():
    rng = np.random.default_rng(4)
    n = 8
    a, b = rng.random(n), rng.random(n) + 0.2
    obs = b.mean() - a.mean()
    masks = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)  # every swap pattern
    null = permutation_deltas(_blocks(a), _blocks(b), FixedWeights(masks))[:, 0]
    d = b - a
    assert np.allclose(null, ((1 - 2 * masks) * d).mean(axis=1))  # a swap flips the sign of that item's difference
    exact = np.mean(np.abs(null) >= abs(obs) * (1 - 1e-9))
    approx = permutation_pvalue(permutation_deltas(_blocks(a), _blocks(b), Swaps(20_000, 0)), np.array([obs]))[0]
    assert approx == pytest.approx(exact, abs=0.01)


def test_pairs_of_three_runs_share_resamples():
    rng = np.random.default_rng(3)
    runs = [_blocks(rng.random(50)) for _ in range(3)]
    res = compare_pairs(runs, [(0, 1), (0, 2), (1, 2)], resamples=300, trials=300, seed=5)
    boot = bootstrap_replicates(runs, Multinomial(300, 5))
    # paired through the same resamples: d(0,2) = d(0,1) + d(1,2) replicate by replicate, hence for the deltas
    assert res[1][0].delta == pytest.approx(res[0][0].delta + res[2][0].delta)
    assert np.allclose(boot[:, 2] - boot[:, 0], (boot[:, 1] - boot[:, 0]) + (boot[:, 2] - boot[:, 1]))


def test_undefined_metric_gives_nan_not_a_crash():
    a = StatBlock(np.zeros((20, 2)), "ratio")
    (res,) = compare_pairs([[a], [a]], [(0, 1)], resamples=100, trials=100)
    assert np.isnan(res[0].delta) and np.isnan(res[0].p_bootstrap) and np.isnan(res[0].p_permutation)


def test_corpus_metric_effect_size_uses_the_bootstrap_se():
    rng = np.random.default_rng(9)
    n = 120
    lengths = rng.integers(5, 20, (n, 1)).astype(float)
    a = StatBlock(np.column_stack([rng.binomial(lengths[:, 0].astype(int), 0.3), lengths]), "ratio")
    b = StatBlock(np.column_stack([rng.binomial(lengths[:, 0].astype(int), 0.4), lengths]), "ratio")
    (res,) = compare_pairs([[a], [b]], [(0, 1)], resamples=2000, trials=2000, seed=1)
    r = res[0]
    assert r.effect_size_kind == "dz-bootstrap"
    assert r.effect_size == pytest.approx(r.delta / (r.se * np.sqrt(n)))
    assert r.p_permutation < 0.001 and r.ci_low > 0


# ------------------------------------------------------------------------------------ parity: sacrebleu
# only these tests need sacrebleu (the dev extra): its absence skips them here, in the fixture, not the module


def _sentences(rng, n, vocab, lo=4, hi=15):
    return [" ".join(rng.choice(vocab, size=rng.integers(lo, hi))) for _ in range(n)]


def _sacrebleu_aggregator(metric):
    """sacrebleu's corpus BLEU from summed statistics, as an explicit StatBlock aggregator."""
    def _bleu(summed, n):
        flat = np.asarray(summed).reshape(-1, summed.shape[-1])
        scores = [metric._compute_score_from_stats(row.astype(int).tolist()).score for row in flat]
        return np.array(scores).reshape(np.shape(summed)[:-1])

    return _bleu


@pytest.fixture(scope="module")
def bleu_systems():
    BLEU = pytest.importorskip("sacrebleu.metrics").BLEU

    rng = np.random.default_rng(2024)
    vocab = np.array([f"w{i}" for i in range(40)])
    refs = _sentences(rng, 120, vocab)

    def noisy(keep):
        out = []
        for ref in refs:
            words = [w if rng.random() < keep else str(rng.choice(vocab)) for w in ref.split()]
            out.append(" ".join(words))
        return out

    metric = BLEU()
    hyp_a, hyp_b = noisy(0.62), noisy(0.65)
    stats_a = np.array(metric._extract_corpus_statistics(hyp_a, [refs]), dtype=float)
    stats_b = np.array(metric._extract_corpus_statistics(hyp_b, [refs]), dtype=float)
    return metric, refs, hyp_a, hyp_b, stats_a, stats_b


def test_paired_bootstrap_matches_sacrebleu_on_bleu(bleu_systems):
    from sacrebleu.significance import Result, _paired_bs_test

    metric, refs, _, hyp_b, stats_a, stats_b = bleu_systems
    bleu_fn = _sacrebleu_aggregator(metric)
    n, seed, samples = len(refs), 7, 1000
    base = metric._aggregate_and_compute(stats_a.astype(int).tolist())
    _, out = _paired_bs_test({"BLEU": (stats_a.astype(int).tolist(), Result(base.score))}, "b", hyp_b, [refs],
                             {"BLEU": metric}, n_samples=samples, seed=seed)
    theirs = out["BLEU"]
    # the very resamples sacrebleu draws, as weights
    idx = np.random.default_rng(seed).choice(n, size=(samples, n), replace=True)
    a = StatBlock(stats_a, fn=bleu_fn)
    b = StatBlock(stats_b, fn=bleu_fn)
    boot = bootstrap_replicates([[a], [b]], FixedWeights.from_indices(idx, n))[:, :, 0]
    assert boot[:, 1].mean() == pytest.approx(theirs.mean, rel=1e-9)  # same resampled corpus BLEU scores
    assert b.value() == pytest.approx(theirs.score) and a.value() == pytest.approx(base.score)
    # sacrebleu's (Moses') statistic on our replicates gives its p-value exactly
    sample_diffs = np.abs(boot[:, 1] - boot[:, 0])
    c = np.sum(sample_diffs - sample_diffs.mean() > abs(b.value() - a.value()))
    assert (c + 1) / (samples + 1) == pytest.approx(theirs.p_value)
    # and our two-sided shift test agrees on the conclusion for this clear difference
    p_ours = bootstrap_pvalue(boot[:, 1:] - boot[:, :1], np.array([b.value() - a.value()]))[0]
    assert (p_ours < 0.05) == (theirs.p_value < 0.05)


def test_approximate_randomization_matches_sacrebleu_on_bleu(bleu_systems):
    from sacrebleu.significance import Result, _paired_ar_test

    metric, refs, _, hyp_b, stats_a, stats_b = bleu_systems
    bleu_fn = _sacrebleu_aggregator(metric)
    n, seed, trials = len(refs), 3, 2000
    base = metric._aggregate_and_compute(stats_a.astype(int).tolist())
    _, out = _paired_ar_test({"BLEU": (stats_a.astype(int).tolist(), Result(base.score))}, "b", hyp_b, [refs],
                             {"BLEU": metric}, n_samples=trials, seed=seed)
    pos_sel = np.random.default_rng(seed).integers(2, size=(trials, n), dtype=bool)
    swaps = FixedWeights((~pos_sel).astype(float))  # sacrebleu's pseudo-system A takes B's item when not pos_sel
    a = StatBlock(stats_a, fn=bleu_fn)
    b = StatBlock(stats_b, fn=bleu_fn)
    null = permutation_deltas([a], [b], swaps)
    obs = b.value() - a.value()
    strict = (np.sum(np.abs(null[:, 0]) > abs(obs)) + 1) / (trials + 1)  # sacrebleu counts strictly greater
    assert strict == pytest.approx(out["BLEU"].p_value)
    ours = permutation_pvalue(null, np.array([obs]))[0]
    assert abs(ours - out["BLEU"].p_value) <= 5 / (trials + 1)  # differ only by exact ties


# ---------------------------------------------------------------------------------------- parity: scipy
def test_paired_bootstrap_interval_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(8)
    a = rng.beta(2, 5, 150)
    b = np.clip(a + rng.normal(0.02, 0.1, 150), 0, 1)
    (res,) = compare_pairs([_blocks(a), _blocks(b)], [(0, 1)], resamples=20_000, trials=100, seed=4)
    ref = stats.bootstrap((a, b), lambda x, y, axis=-1: y.mean(axis=axis) - x.mean(axis=axis), paired=True,
                          vectorized=True, n_resamples=20_000, method="percentile", rng=np.random.default_rng(4))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert res[0].ci_low == pytest.approx(ref.confidence_interval.low, abs=0.03 * width)
    assert res[0].ci_high == pytest.approx(ref.confidence_interval.high, abs=0.03 * width)
    assert res[0].se == pytest.approx(ref.standard_error, rel=0.03)


def test_permutation_p_value_agrees_with_scipy_exact_test():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(6)
    n = 14  # 2**14 sign patterns: scipy enumerates them all
    a = rng.random(n)
    b = a + rng.normal(0.08, 0.15, n)
    exact = stats.permutation_test((a, b), lambda x, y, axis=-1: y.mean(axis=axis) - x.mean(axis=axis),
                                   permutation_type="samples", vectorized=True, n_resamples=np.inf,
                                   alternative="two-sided")
    (res,) = compare_pairs([_blocks(a), _blocks(b)], [(0, 1)], resamples=100, trials=40_000, seed=0)
    assert res[0].p_permutation == pytest.approx(exact.pvalue, abs=0.006)


def test_the_module_runs_without_sacrebleu(tmp_path):
    """Without sacrebleu (a core install), only its two parity tests skip: the Holm, permutation and scipy
    tests of this module still run."""
    import subprocess
    import sys

    (tmp_path / "no_sacrebleu.py").write_text("import sys\nsys.modules['sacrebleu'] = None\n"
                                              "sys.modules['sacrebleu.metrics'] = None\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no_sacrebleu", "-p", "no:cacheprovider",
                           __file__, "-k", "not without_sacrebleu", "-rs"],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:]
    counts = __import__("re").search(r"(\d+) passed, (\d+) skipped", proc.stdout)
    assert counts and int(counts[1]) >= 10 and int(counts[2]) == 2, proc.stdout[-2000:]
