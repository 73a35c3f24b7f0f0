"""The statistics of a judge check, as pure functions: Cohen's kappa, Krippendorff's alpha (nominal), a
logistic regression slope, and a percentile bootstrap over clusters (items).

- **Cohen's kappa** (Cohen 1960): ``(p_o - p_e) / (1 - p_e)``, ``p_o`` the share of units both raters label
  alike, ``p_e = sum_k p1(k) p2(k)`` from each rater's own label shares. Undefined (NaN) when ``p_e = 1`` (both
  raters always give the same single label).
- **Krippendorff's alpha, nominal** (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"): from the
  coincidence matrix ``o_ck = sum_u (pairs of values c, k in unit u) / (m_u - 1)`` over units with at least two
  values (missing values allowed), ``alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k``, ``n_c``
  the coincidences of value ``c`` and ``n`` their total. NaN when every value is the same (no disagreement is
  possible).
- **Logistic regression** of a 0/1 outcome on one covariate with an intercept, by Newton-Raphson on the
  log-likelihood, optionally with a Gaussian prior (``prior_sd``) on the slope: a judge that always picks the
  longer text separates the data completely, where the plain maximum-likelihood slope is infinite.
- **Cluster bootstrap**: clusters (items) drawn with replacement, every row of a drawn cluster comes along (a
  judge's answers on one item are not independent), the statistic recomputed, the percentiles taken;
  resamples on which it is undefined are skipped and counted.

Parity: tests/test_judges_stats.py checks kappa and alpha against NLTK's ``AnnotationTask`` (the reference
implementation installed here) and hand-computed fixtures, the slope against a closed form (a binary covariate's
log odds ratio).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence

import numpy as np

from altbench.stats import defaults


def cohen_kappa(x: Sequence[Hashable], y: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters' labels on the same units (equal lengths, no missing values)."""
    if len(x) != len(y):
        raise ValueError("cohen_kappa: x and y must label the same units")
    n = len(x)
    if n == 0:
        return math.nan
    p_o = sum(a == b for a, b in zip(x, y)) / n
    cx, cy = Counter(x), Counter(y)
    p_e = sum(cx[k] * cy[k] for k in cx) / n**2
    if p_e >= 1.0:
        return math.nan
    return (p_o - p_e) / (1 - p_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal data; ``units[u]`` holds each rater's value for unit ``u`` (None: missing)."""
    coincidence: Counter[tuple[Hashable, Hashable]] = Counter()
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue  # a unit with one value has nothing to agree with
        counts = Counter(values)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nc - 1) if c == k else nc * nk
                coincidence[(c, k)] += pairs / (m - 1)
    n_c: Counter[Hashable] = Counter()
    for (c, _), v in coincidence.items():
        n_c[c] += v
    n = sum(n_c.values())
    if n <= 1:
        return math.nan
    disagree = sum(v for (c, k), v in coincidence.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if expected == 0:
        return math.nan
    return 1.0 - (n - 1) * disagree / expected


def logistic_fit(x: Sequence[float], y: Sequence[float], prior_sd: float | None = None, intercept: bool = True,
                 iterations: int = 100) -> tuple[float, float]:
    """(intercept, slope) of ``P(y = 1) = 1 / (1 + exp(-(b0 + b1 x)))``, maximum likelihood (or MAP with a
    Gaussian prior of sd ``prior_sd`` on the slope); ``intercept=False`` fixes ``b0 = 0``. NaN when there is
    no finite optimum: ``x`` constant, or ``y`` constant (with an intercept), or separated data without a prior."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if len(xs) < 2 or np.ptp(xs) == 0 or (intercept and np.ptp(ys) == 0):
        return math.nan, math.nan
    design = np.column_stack([np.ones_like(xs) if intercept else np.zeros_like(xs), xs])
    # without an intercept its column is zero: a unit penalty keeps the Hessian invertible and b0 at 0
    penalty = np.diag([0.0 if intercept else 1.0, 0.0 if prior_sd is None else 1.0 / prior_sd**2])
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        grad = design.T @ (ys - p) - penalty @ beta
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return math.nan, math.nan
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            return math.nan, math.nan
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        return math.nan, math.nan  # no finite optimum (separated data without a prior)
    return float(beta[0]), float(beta[1])


def cluster_bootstrap(stat: Callable[[np.ndarray], float], clusters: np.ndarray,
                      resamples: int = defaults.JUDGECHECK_RESAMPLES,
                      seed: int = defaults.SEED, level: float = defaults.LEVEL
                      ) -> tuple[float | None, float | None, int]:
    """(low, high, undefined resamples) of ``stat(rows)``, rows of whole clusters drawn with replacement."""
    clusters = np.asarray(clusters)
    ids, inverse = np.unique(clusters, return_inverse=True)
    if resamples <= 0 or len(ids) < 2:
        return None, None, 0
    members = [np.flatnonzero(inverse == k) for k in range(len(ids))]
    rng = np.random.default_rng(seed)
    values, undefined = [], 0
    for _ in range(resamples):
        rows = np.concatenate([members[k] for k in rng.integers(0, len(ids), len(ids))])
        v = stat(rows)
        if math.isfinite(v):
            values.append(v)
        else:
            undefined += 1
    if not values:
        return None, None, undefined
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi), undefined
