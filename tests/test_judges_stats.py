"""The judge check's statistics (altbench/judges/stats.py) on hand-computed fixtures, and against NLTK's
AnnotationTask (the reference implementation of Cohen's kappa and Krippendorff's alpha installed here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from altbench.judges import stats


def _nltk_task(*raters):
    from nltk.metrics.agreement import AnnotationTask

    return AnnotationTask([(f"r{k}", str(u), v) for k, labels in enumerate(raters) for u, v in enumerate(labels)
                           if v is not None])


def test_cohen_kappa_hand_computed():
    # 50 units: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5 -> 0.4
    x = ["yes"] * 25 + ["no"] * 25
    y = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert stats.cohen_kappa(x, y) == pytest.approx(0.4)
    assert stats.cohen_kappa(x, y) == pytest.approx(_nltk_task(x, y).kappa())
    # three labels: p_o = 5/8, p_e = (3*3 + 3*2 + 2*3) / 64 = 21/64 -> (40/64 - 21/64) / (43/64) = 19/43
    a = ["a", "a", "a", "t", "t", "t", "b", "b"]
    b = ["a", "a", "t", "t", "b", "a", "b", "b"]
    assert stats.cohen_kappa(a, b) == pytest.approx(19 / 43)
    assert stats.cohen_kappa(a, b) == pytest.approx(_nltk_task(a, b).kappa())
    assert stats.cohen_kappa(a, a) == 1.0
    assert math.isnan(stats.cohen_kappa(["a"] * 4, ["a"] * 4))  # chance agreement is 1: undefined


def test_krippendorff_alpha_nominal_hand_computed_and_published():
    # (a,a), (a,b), (b,b): o_ab = o_ba = 1, n_a = n_b = 3, n = 6 -> 1 - 5 * 2 / 18 = 4/9
    assert stats.krippendorff_alpha_nominal([("a", "a"), ("a", "b"), ("b", "b")]) == pytest.approx(4 / 9)
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4-observer example with missing
    # values: nominal alpha = 0.743
    obs = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
           [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
           [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
           [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    alpha = stats.krippendorff_alpha_nominal(list(zip(*obs)))
    assert round(alpha, 3) == 0.743
    complete = [u for u in zip(*obs) if None not in u]
    raters = list(zip(*complete))
    assert stats.krippendorff_alpha_nominal(complete) == pytest.approx(_nltk_task(*raters).alpha())
    assert math.isnan(stats.krippendorff_alpha_nominal([("a", "a"), ("a", "a")]))


def test_logistic_fit_closed_forms():
    # binary covariate: the slope is the log odds ratio, the intercept the log odds at x = 0
    x = [0] * 10 + [1] * 10
    y = [1] * 3 + [0] * 7 + [1] * 8 + [0] * 2
    b0, b1 = stats.logistic_fit(x, y)
    assert b0 == pytest.approx(math.log(3 / 7), abs=1e-8)
    assert b1 == pytest.approx(math.log((8 / 2) / (3 / 7)), abs=1e-8)
    # no intercept, symmetric x = +-1: the slope is logit of the share of wins at x = +1 (here 3/4)
    xs = [1] * 8 + [-1] * 8
    ys = [1] * 6 + [0] * 2 + [0] * 6 + [1] * 2
    assert stats.logistic_fit(xs, ys, intercept=False)[1] == pytest.approx(math.log(3), abs=1e-8)
    # a prior shrinks the slope toward 0; separated data has no finite MLE, but a MAP one
    assert 0 < stats.logistic_fit(xs, ys, prior_sd=0.5, intercept=False)[1] < math.log(3)
    sep = [1] * 5 + [0] * 5
    assert math.isnan(stats.logistic_fit([1] * 5 + [-1] * 5, sep, intercept=False)[1])
    assert stats.logistic_fit([1] * 5 + [-1] * 5, sep, prior_sd=4.0, intercept=False)[1] > 2
    assert math.isnan(stats.logistic_fit([1, 1, 1], [0, 1, 0])[1])  # constant x


def test_cluster_bootstrap_keeps_clusters_together():
    values = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    clusters = np.array([0, 0, 1, 1, 2, 2])  # cluster 2 mixes: its mean is 0.5 whenever drawn
    lo, hi, undefined = stats.cluster_bootstrap(lambda rows: float(values[rows].mean()), clusters, 500, seed=1)
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0 and undefined == 0
    # a statistic that is the same on every resample has a zero-width interval
    assert stats.cluster_bootstrap(lambda rows: 0.25, clusters, 100)[:2] == (0.25, 0.25)
    # undefined resamples are skipped and counted
    lo, hi, undefined = stats.cluster_bootstrap(lambda rows: math.nan, clusters, 50)
    assert (lo, hi, undefined) == (None, None, 50)


def test_logistic_fit_against_a_generic_optimiser():
    """An independent fit (scipy's BFGS on the written-out log-likelihood; statsmodels is not installed here)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-(0.3 + 1.2 * x)))).astype(float)
    for prior_sd in (None, 0.7):
        def nll(b, prior_sd=prior_sd):
            z = b[0] + b[1] * x
            penalty = 0.0 if prior_sd is None else b[1] ** 2 / (2 * prior_sd**2)
            return float(np.sum(np.logaddexp(0, z) - y * z)) + penalty

        ref = minimize(nll, np.zeros(2), method="BFGS", options={"gtol": 1e-10}).x
        assert stats.logistic_fit(x, y, prior_sd=prior_sd) == pytest.approx(tuple(ref), abs=1e-5)
