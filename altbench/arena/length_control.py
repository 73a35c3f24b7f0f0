"""Length-controlled arena ratings: the Davidson fit with the battle's length difference as a covariate.

In the spirit of AlpacaEval's length-controlled win rates (Dubois et al., 2024): a judge that prefers longer
text rewards verbose captions, while alt-text should be concise. Each battle between ``a`` and ``b`` gets a
covariate ``x = tanh((chars_a - chars_b) / s)``, ``s`` the standard deviation of the character-length
differences over the arena's judged battles (AlpacaEval's normalisation: bounded, so a few very long texts
cannot dominate), and the log-strengths in that battle are shifted by the length term::

    s_a = theta_a + beta * x / 2,  s_b = theta_b - beta * x / 2
    P(a wins) = e^s_a / D,  P(b wins) = e^s_b / D,  P(tie) = nu * e^((s_a + s_b) / 2) / D

so ``P(a wins) / P(b wins) = exp(theta_a - theta_b + beta * x)``: ``beta`` is the judge's preference for the
longer text (0: none; > 0: longer wins more often than the models' strengths explain), and the
**length-controlled rating** is the rating at zero length difference, ``1000 + 400 / ln(10) * theta`` (same
scale and anchor set as the plain fit). With ``beta = 0`` the model is exactly the plain Davidson fit
(:mod:`altbench.arena.bradley_terry`), whose weak Gaussian prior it shares (on ``beta`` too, same sd), fitted
per battle by the same truncated-Newton method; intervals come from the same item bootstrap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from altbench.arena import bradley_terry as bt
from altbench.data.items import Item
from altbench.stats import defaults
from altbench.tasks import IN_PROCESS, Starmap


@dataclass(frozen=True)
class Battles:
    """One row per judged battle: models ``a``/``b``, outcome (0 a wins, 1 tie, 2 b wins), covariate, item;
    ``pairs``: every pair of the arena (the prior acts once per pair, as in the plain fit)."""

    pairs: np.ndarray
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    x: np.ndarray
    item: np.ndarray
    scale: float  # s: the sd of the character-length differences


@dataclass(frozen=True)
class LengthFit:
    theta: np.ndarray
    nu: float
    beta: float
    ratings: np.ndarray
    converged: bool


def text_length(text: str | None) -> tuple[int, int] | None:
    """(characters, words) of a text as shown (stripped), None for a missing prediction."""
    if text is None:
        return None
    s = text.strip()
    return len(s), len(s.split())


def length_table(predictions: Sequence[Mapping[str, str | None]], items: Sequence[Item]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(chars, words) arrays ``[text set, item]`` of the texts as shown (0 where there is none)."""
    chars = np.zeros((len(predictions), len(items)))
    words = np.zeros_like(chars)
    for k, preds in enumerate(predictions):
        for i, item in enumerate(items):
            size = text_length(preds.get(item.id))
            if size is not None:
                chars[k, i], words[k, i] = size
    return chars, words


def mean_lengths(predictions: Mapping[str, str | None], items: Sequence[Item]) -> dict[str, float | int | None]:
    """Mean characters and words of one text set's texts on ``items`` (those it has a text for)."""
    sizes = [size for item in items if (size := text_length(predictions.get(item.id))) is not None]
    if not sizes:
        return {"chars": None, "words": None, "items": 0}
    return {"chars": float(np.mean([c for c, _ in sizes])), "words": float(np.mean([w for _, w in sizes])),
            "items": len(sizes)}


def battle_rows(outcomes: np.ndarray, pairs: Sequence[tuple[int, int]], chars: np.ndarray) -> Battles:
    """Rows of the judged battles (``outcomes[item, pair] >= 0``); ``chars[run, item]`` the texts' lengths."""
    items, cols = np.nonzero(outcomes >= 0)
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    a, b = p[cols, 0], p[cols, 1]
    diff = chars[a, items] - chars[b, items]
    sd = float(np.std(diff)) if len(diff) else 0.0
    scale = sd if sd > 0 else 1.0
    return Battles(p, a, b, outcomes[items, cols].astype(np.int64), np.tanh(diff / scale), items, scale)


def _objective(params: np.ndarray, rows: Battles, w: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    theta, log_nu, beta = params[:n], params[n], params[n + 1]
    ta, tb = theta[rows.a], theta[rows.b]
    sa, sb = ta + beta * rows.x / 2, tb - beta * rows.x / 2
    tie = log_nu + (ta + tb) / 2
    terms = np.stack([sa, sb, tie])
    top = terms.max(axis=0)
    log_d = top + np.log(np.exp(terms - top).sum(axis=0))
    ya, yt, yb = (rows.outcome == 0) * w, (rows.outcome == 1) * w, (rows.outcome == 2) * w
    total = ya + yt + yb
    ll = ya * (sa - log_d) + yb * (sb - log_d) + yt * (tie - log_d)
    pa, pb, pt = np.exp(sa - log_d), np.exp(sb - log_d), np.exp(tie - log_d)
    d_sa = ya + yt / 2 - total * (pa + pt / 2)  # d ll / d s_a (the tie term moves with (s_a + s_b) / 2)
    d_sb = yb + yt / 2 - total * (pb + pt / 2)
    diff = theta[rows.pairs[:, 0]] - theta[rows.pairs[:, 1]]
    prior = diff / bt.PRIOR_SD**2
    grad = np.empty_like(params)
    grad[:n] = (np.bincount(rows.a, d_sa, n) + np.bincount(rows.b, d_sb, n)
                - np.bincount(rows.pairs[:, 0], prior, n) + np.bincount(rows.pairs[:, 1], prior, n))
    grad[n] = float((yt - total * pt).sum())
    grad[n + 1] = float((rows.x / 2 * (d_sa - d_sb)).sum()) - beta / bt.PRIOR_SD**2
    penalty = float((diff**2).sum()) / (2 * bt.PRIOR_SD**2) + beta**2 / (2 * bt.PRIOR_SD**2)
    return -(float(ll.sum()) - penalty), -grad


def fit(n: int, rows: Battles, weights: np.ndarray | None = None, anchors: Sequence[int] = (),
        start: np.ndarray | None = None) -> LengthFit:
    """MAP fit of the length-controlled model; ``weights[item]`` (bootstrap counts) weigh each item's battles.

    With every covariate 0 the objective is the plain fit's plus ``beta``'s prior term, so both give the same
    ratings (tested).
    """
    from scipy.optimize import minimize

    w = np.ones(int(rows.item.max()) + 1 if len(rows.item) else 0) if weights is None else \
        np.asarray(weights, dtype=np.float64)
    row_w = w[rows.item] if len(rows.item) else np.zeros(0)
    x0 = np.zeros(n + 2) if start is None else np.asarray(start, dtype=np.float64)
    bounds = [(None, None)] * n + [bt.LOG_NU_BOUNDS, (None, None)]
    res = minimize(_objective, x0, args=(rows, row_w, n), jac=True, method="TNC", bounds=bounds,
                   options={"maxfun": 5000, "ftol": 1e-13, "gtol": 1e-9})
    theta = res.x[:n].copy()
    ref = list(anchors) if anchors else list(range(n))
    theta -= theta[ref].mean()
    return LengthFit(theta, math.exp(res.x[n]), float(res.x[n + 1]), bt.BASE + bt.SCALE * theta, bool(res.success))


def refit_chunk(n: int, rows: Battles, anchors: Sequence[int], start: np.ndarray, weights: np.ndarray
                ) -> np.ndarray:
    """A task: (len(weights), n + 1) ratings and ``beta`` (last column) refitted on each row of resample weights."""
    out = np.empty((len(weights), n + 1))
    for r, w in enumerate(weights):
        f = fit(n, rows, w, anchors, start)
        out[r, :n], out[r, n] = f.ratings, f.beta
    return out


def bootstrap(n: int, rows: Battles, n_items: int, point: LengthFit, anchors: Sequence[int] = (),
              resamples: int = defaults.ARENA_RESAMPLES, seed: int = defaults.SEED, level: float = defaults.LEVEL,
              starmap: Starmap | None = None) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """(low, high) rating bounds per model and the (low, high) bounds of ``beta``: percentile bootstrap over
    items with the plain fit's resamples (same seed: the same items are drawn). ``starmap``: where the refits
    run (:mod:`altbench.tasks`; default here)."""
    if resamples <= 0 or n_items == 0 or not len(rows.item):
        nan = np.full(n, np.nan)
        return nan, nan, (math.nan, math.nan)
    start = np.concatenate([point.theta, [math.log(max(point.nu, math.exp(bt.LOG_NU_BOUNDS[0]))), point.beta]])
    weights = bt.resample_weights(n_items, resamples, seed)
    tasks = [(n, rows, anchors, start, weights[a : a + bt.REFITS_PER_TASK])
             for a in range(0, resamples, bt.REFITS_PER_TASK)]
    refits = np.concatenate(list((starmap or IN_PROCESS)(refit_chunk, tasks)))
    draws, betas = refits[:, :n], refits[:, n]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(betas, [alpha, 1 - alpha])
    return np.quantile(draws, alpha, axis=0), np.quantile(draws, 1 - alpha, axis=0), (float(lo), float(hi))
