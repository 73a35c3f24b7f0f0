"""The Bradley-Terry model with ties of Davidson (1970), fitted by maximum likelihood, and its bootstrap.

Each model ``i`` has a log-strength ``theta_i``; with ``pi_i = exp(theta_i)`` and a tie parameter ``nu >= 0``::

    P(i beats j) = pi_i / D,   P(j beats i) = pi_j / D,   P(tie) = nu * sqrt(pi_i * pi_j) / D,
    D = pi_i + pi_j + nu * sqrt(pi_i * pi_j)

(Davidson, R. R., "On extending the Bradley-Terry model to accommodate ties in paired comparison
experiments", JASA 65, 1970). With ``nu = 0`` it is the plain Bradley-Terry model, and ties count exactly as
half a win for each side in the strengths' likelihood equations. Ratings are on an Elo-like scale:
``rating_i = 1000 + 400 / ln(10) * (theta_i - mean(theta over the anchor set))``, so without ties a 400-point
gap is 10:1 odds, as in Elo and Chatbot Arena; the anchor set is the ``--anchors`` runs, or every model.

A model that wins (or loses) every battle has no finite maximum-likelihood strength. A weak Gaussian prior on
the differences of battling models' log-strengths (standard deviation ``PRIOR_SD`` = 4, about 700 rating
points) keeps every fit finite while moving the estimates of non-separated data by far less than their
intervals; ``log nu`` is bounded to ``[-12, 4]``.

Intervals: the battles are resampled by *item* (every pair's battle on a drawn item comes along, keeping the
dependence between pairs that share an item), the model refitted on each resample, and the 2.5 and 97.5
percentiles of each rating taken (percentile bootstrap). The resamples are drawn here, in order, from one
seeded generator (:func:`resample_weights`); the refits are pure tasks of :data:`REFITS_PER_TASK` resamples
each (:func:`refit_chunk`), which a starmap (:mod:`altbench.tasks`) may run anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from altbench.stats import defaults
from altbench.tasks import IN_PROCESS, Starmap

SCALE = 400.0 / math.log(10.0)
BASE = 1000.0
PRIOR_SD = 4.0
LOG_NU_BOUNDS = (-12.0, 4.0)
REFITS_PER_TASK = 25  # resamples refitted per task (fixed; no rating depends on it)


@dataclass(frozen=True)
class Fit:
    theta: np.ndarray  # log-strengths, mean zero over the anchor set
    nu: float
    ratings: np.ndarray
    converged: bool


def counts(outcomes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(pairs, 3) weighted counts of a-wins, ties, b-wins from outcomes[item, pair] (-1: no outcome)."""
    w = np.ones(outcomes.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    return np.stack([(w[:, None] * (outcomes == k)).sum(axis=0) for k in (0, 1, 2)], axis=1)


def _objective(params: np.ndarray, pairs: np.ndarray, c: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    theta, log_nu = params[:n], params[n]
    i, j = pairs[:, 0], pairs[:, 1]
    ti, tj = theta[i], theta[j]
    half = (ti + tj) / 2
    # log D computed stably around the larger of the three terms
    terms = np.stack([ti, tj, log_nu + half])
    top = terms.max(axis=0)
    log_d = top + np.log(np.exp(terms - top).sum(axis=0))
    wins_a, ties, wins_b = c[:, 0], c[:, 1], c[:, 2]
    total = wins_a + ties + wins_b
    ll = wins_a * (ti - log_d) + wins_b * (tj - log_d) + ties * (log_nu + half - log_d)
    pi_i, pi_j, tie_t = np.exp(ti - log_d), np.exp(tj - log_d), np.exp(log_nu + half - log_d)
    diff = ti - tj
    prior = diff / PRIOR_SD**2
    # bincount sums the per-pair terms into each model's gradient (much faster than np.add.at)
    g_i = wins_a + ties / 2 - total * (pi_i + tie_t / 2) - prior
    g_j = wins_b + ties / 2 - total * (pi_j + tie_t / 2) + prior
    grad = np.empty_like(params)
    grad[:n] = np.bincount(i, g_i, n) + np.bincount(j, g_j, n)
    grad[n] = float((ties - total * tie_t).sum())
    penalty = float((diff**2).sum()) / (2 * PRIOR_SD**2)
    return -(float(ll.sum()) - penalty), -grad


def fit(n: int, pairs: Sequence[tuple[int, int]], c: np.ndarray, anchors: Sequence[int] = (),
        start: np.ndarray | None = None) -> Fit:
    """Maximum a-posteriori Davidson fit of ``n`` models from per-pair counts ``c`` (pairs, 3).

    Truncated Newton (scipy's TNC) with the analytic gradient: it gives the same optimum as L-BFGS-B here and
    was several times faster on a loaded 2-core machine, which matters for the refits of the bootstrap (one per resample).
    """
    from scipy.optimize import minimize

    pairs_arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    x0 = np.zeros(n + 1) if start is None else np.asarray(start, dtype=np.float64)
    bounds = [(None, None)] * n + [LOG_NU_BOUNDS]
    res = minimize(_objective, x0, args=(pairs_arr, np.asarray(c, dtype=np.float64), n), jac=True,
                   method="TNC", bounds=bounds, options={"maxfun": 5000, "ftol": 1e-13, "gtol": 1e-9})
    theta = res.x[:n].copy()
    ref = list(anchors) if anchors else list(range(n))
    theta -= theta[ref].mean()
    return Fit(theta, math.exp(res.x[n]), BASE + SCALE * theta, bool(res.success))


def resample_weights(n_items: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_items) counts: how often each item is drawn in each resample, in order from one seeded
    generator (the plain and the length-controlled fits draw the same items)."""
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, n_items), dtype=np.int64)
    for r in range(resamples):
        out[r] = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items)
    return out


def refit_chunk(n: int, pairs: Sequence[tuple[int, int]], outcomes: np.ndarray, anchors: Sequence[int],
                start: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A task: (len(weights), n) ratings of the model refitted on each row of resample weights."""
    return np.array([fit(n, pairs, counts(outcomes, w), anchors, start).ratings for w in weights]).reshape(-1, n)


def bootstrap(n: int, pairs: Sequence[tuple[int, int]], outcomes: np.ndarray, point: Fit,
              anchors: Sequence[int] = (), resamples: int = defaults.ARENA_RESAMPLES, seed: int = defaults.SEED,
              level: float = defaults.LEVEL, starmap: Starmap | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) rating bounds per model from a percentile bootstrap over items; ``starmap``: where the refits
    run (:mod:`altbench.tasks`; default here)."""
    n_items = outcomes.shape[0]
    if resamples <= 0 or n_items == 0:
        nan = np.full(n, np.nan)
        return nan, nan
    start = np.concatenate([point.theta, [math.log(max(point.nu, math.exp(LOG_NU_BOUNDS[0])))]])
    weights = resample_weights(n_items, resamples, seed)
    tasks = [(n, pairs, outcomes, anchors, start, weights[a : a + REFITS_PER_TASK])
             for a in range(0, resamples, REFITS_PER_TASK)]
    draws = np.concatenate(list((starmap or IN_PROCESS)(refit_chunk, tasks)))
    alpha = (1 - level) / 2
    return np.quantile(draws, alpha, axis=0), np.quantile(draws, 1 - alpha, axis=0)


def win_probability(theta_i: float, theta_j: float, nu: float) -> tuple[float, float, float]:
    """(P(i wins), P(tie), P(j wins)) under the fitted model."""
    pi_i, pi_j = math.exp(theta_i), math.exp(theta_j)
    tie = nu * math.sqrt(pi_i * pi_j)
    d = pi_i + pi_j + tie
    return pi_i / d, tie / d, pi_j / d
