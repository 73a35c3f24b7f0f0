"""Do the statistics do what they claim? Simulations with known truth, 1,000 trials each, fixed seeds.

Trials are vectorised: each trial is one column ("metric") of a stats matrix, so one call resamples a
hundred trials at once. Groups of 100 trials use different seeds, so that the shared resampling weights
within a group do not make all trials err together. Measured rates (seeds below) are in docs/statistics.md.
"""

import numpy as np
import pytest

from altbench.stats.bootstrap import Multinomial, StatBlock, percentile_interval, replicates
from altbench.stats.gate import decide
from altbench.stats.paired import compare_pairs, holm

TRIALS = 1000
GROUP = 100
ALPHA = 0.05


def _groups():
    return [range(g, g + GROUP) for g in range(0, TRIALS, GROUP)]


def _coverage(blocks_of, truth, resamples=2000, seed=0):
    hits = []
    for g, trials in enumerate(_groups()):
        reps = replicates([blocks_of(t) for t in trials], Multinomial(resamples, seed + g))
        lo, hi = percentile_interval(reps, 0.95)
        hits.append((lo <= truth) & (truth <= hi))
    return float(np.mean(np.concatenate(hits)))


def _paired(a, b, seed, resamples=1000, trials=1000):
    """compare_pairs over every trial column of a and b (items x trials); flat list of results."""
    out = []
    for g, cols in enumerate(_groups()):
        blocks_a = [StatBlock(a[:, [t]]) for t in cols]
        blocks_b = [StatBlock(b[:, [t]]) for t in cols]
        (res,) = compare_pairs([blocks_a, blocks_b], [(0, 1)], resamples=resamples, trials=trials, seed=seed + g)
        out += res
    return out


def _systems(seed, n=300, shift=0.0):
    """Two systems on the same items: a shared item difficulty plus independent noise, scores in 0..1."""
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(2, 5, (n, TRIALS))
    a = np.clip(difficulty + rng.normal(0, 0.1, (n, TRIALS)), 0, 1)
    b = np.clip(difficulty + rng.normal(0, 0.1, (n, TRIALS)) + shift, 0, 1)
    return a, b


def test_ci_covers_the_true_mean_95_percent_of_the_time():
    a, b = 2.0, 5.0
    x = np.random.default_rng(100).beta(a, b, (300, TRIALS))  # skewed per-item scores, true mean 2/7
    rate = _coverage(lambda t: StatBlock(x[:, [t]]), a / (a + b), seed=100)
    assert 0.93 <= rate <= 0.97, rate


def test_ci_covers_a_corpus_level_ratio_95_percent_of_the_time():
    # BLEU-like: matched n-grams over hypothesis n-grams summed over the corpus, true precision 0.3
    rng = np.random.default_rng(200)
    lengths = rng.integers(5, 21, (300, TRIALS))
    matches = rng.binomial(lengths, 0.3)
    stats = np.stack([matches, lengths], axis=-1).astype(float)
    rate = _coverage(lambda t: StatBlock(stats[:, t, :], "ratio"), 0.3, seed=200)
    assert 0.93 <= rate <= 0.97, rate


@pytest.fixture(scope="module")
def null_results():
    return _paired(*_systems(300), seed=300)


def test_null_rejection_rates_are_alpha(null_results):
    p_boot = np.array([r.p_bootstrap for r in null_results])
    p_perm = np.array([r.p_permutation for r in null_results])
    ci_excludes_zero = np.array([r.ci_low > 0 or r.ci_high < 0 for r in null_results])
    for name, rate in (("bootstrap", np.mean(p_boot < ALPHA)), ("permutation", np.mean(p_perm < ALPHA)),
                       ("ci", ci_excludes_zero.mean())):
        assert abs(rate - ALPHA) <= 0.015, (name, rate)


def test_holm_keeps_the_familywise_error_rate(null_results):
    # 250 families of 4 null comparisons: any Holm-adjusted rejection is a familywise error
    p = np.array([r.p_permutation for r in null_results]).reshape(-1, 4)
    fwer = np.mean([np.any(holm(family) < ALPHA) for family in p])
    unadjusted = np.mean(np.any(p < ALPHA, axis=1))
    assert fwer <= ALPHA + 0.015 and unadjusted > 0.12, (fwer, unadjusted)


def test_a_shift_of_three_points_is_detected():
    results = _paired(*_systems(400, shift=0.03), seed=400)
    power_boot = np.mean([r.p_bootstrap < ALPHA and r.delta > 0 for r in results])
    power_perm = np.mean([r.p_permutation < ALPHA and r.delta > 0 for r in results])
    assert power_boot >= 0.9 and power_perm >= 0.9, (power_boot, power_perm)


def test_regress_gate_rates(null_results):
    # equal systems (95% CI half-width about 1.6 points here), margin 3 points: almost always pass
    verdicts = [decide(r.ci_low, r.ci_high, 0.03) for r in null_results]
    assert verdicts.count("regression") == 0 and verdicts.count("pass") / TRIALS >= 0.9
    # margin 0: a false "regression" needs the upper bound below 0, a one-sided error of at most alpha / 2
    strict = [decide(r.ci_low, r.ci_high, 0.0) for r in null_results]
    assert strict.count("regression") / TRIALS <= ALPHA / 2 + 0.015
    # a real drop of 5 points against a margin of 1: caught as a regression nearly always
    dropped = _paired(*_systems(500, shift=-0.05), seed=500)
    caught = [decide(r.ci_low, r.ci_high, 0.01) for r in dropped]
    assert caught.count("regression") / TRIALS >= 0.8 and caught.count("pass") == 0


# ------------------------------------------------------------- regress: the run-level false-regression rate
def _gate_at_the_margin(k=4, runs=1000, n=200, margin=0.01, resamples=1000, seed=600):
    """Oriented-improvement bootstrap replicates of ``runs`` simulated runs, each gated on ``k`` independent
    metrics whose true improvement is exactly -margin (the least favourable case for a false regression)."""
    from altbench.stats.gate import regression_pvalues

    rng = np.random.default_rng(seed)
    per_group = GROUP
    p_values, upper = [], []
    for g in range(runs // per_group):
        cols = per_group * k
        difficulty = rng.normal(0.5, 0.15, (n, cols))
        a = difficulty + rng.normal(0, 0.1, (n, cols))
        b = difficulty + rng.normal(0, 0.1, (n, cols)) - margin  # true improvement: -margin
        reps = replicates([StatBlock(x[:, [c]]) for x in (a, b) for c in range(cols)],
                          Multinomial(resamples, seed + g))
        improvement = reps[:, cols:] - reps[:, :cols]
        upper.append(percentile_interval(improvement, 1 - ALPHA)[1].reshape(per_group, k))
        p_values.append(regression_pvalues(improvement, margin).reshape(per_group, k))
    return np.concatenate(p_values), np.concatenate(upper)


def test_familywise_regress_keeps_the_run_level_false_regression_rate():
    from altbench.stats.gate import familywise_regressions

    margin = 0.01
    p, upper = _gate_at_the_margin(margin=margin)
    per_metric = upper < -margin  # the default gate's regressions: the 95% interval's upper end below -margin
    assert np.array_equal(familywise_regressions(p, ALPHA, "none"), per_metric)  # the p-values invert it exactly
    rate = {"metric": per_metric.mean()}
    for method in ("none", "holm", "bonferroni"):
        rate[method] = familywise_regressions(p, ALPHA, method).any(axis=1).mean()
    # one-sided error alpha/2 per metric; any of 4 at the margin: about 1 - (1 - alpha/2)^4 = 9.6% of runs
    assert abs(rate["metric"] - ALPHA / 2) <= 0.01, rate
    assert rate["none"] > ALPHA, rate
    assert rate["holm"] <= ALPHA + 0.015 and rate["bonferroni"] <= ALPHA + 0.015, rate
    assert rate["bonferroni"] <= rate["holm"] <= rate["none"], rate
