"""``altbench regress``: a non-inferiority gate of a candidate run against a baseline run.

Per metric, with ``improvement = candidate - baseline`` for higher-is-better metrics and
``baseline - candidate`` for lower-is-better ones (so positive always means better), and its two-sided
``100 (1 - alpha)`` % paired bootstrap interval ``[lo, hi]``:

* pass         when ``lo >= -margin``: the candidate is at most ``margin`` worse, with confidence;
* regression   when ``hi < -margin``: the candidate is worse by more than ``margin``, with confidence;
* inconclusive otherwise (the interval straddles ``-margin``).

Margins are in the metric's reported scale (paper: points out of 100; coco: raw values, CIDEr-D 0..10).
The run's verdict is regression if any metric regresses, else inconclusive if any is inconclusive, else
pass; ``on_inconclusive="pass"`` turns an inconclusive verdict into a passing one.

A run with k gated metrics gets k chances of a false regression (docs/statistics.md, section 3).
``familywise`` adjusts the regression side over them: ``bonferroni`` calls a metric a regression when the
upper end of its ``100 (1 - alpha / k)`` % interval is below ``-margin``; ``holm`` Holm-adjusts the
metrics' regression p-values (:func:`regression_pvalues`, which invert the percentile interval, so that
``p < alpha`` exactly when the ``100 (1 - alpha)`` % interval's upper end is below ``-margin``). The pass
side needs no adjustment: a run passes only when every metric does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from altbench.errors import AltbenchError
from altbench.results import MetricResult
from altbench.results.numbers import fmt, fmt_p
from altbench.stats import defaults
from altbench.stats.comparable import (
    LoadedRun,
    NotComparableError,
    all_metric_keys,
    check_comparable,
    label_runs,
    load_run,
    resolve_metric,
)
from altbench.stats.engine import Policy, analyse_pair
from altbench.stats.paired import holm
from altbench.tasks import Starmap

SCHEMA = "altbench.regress/1"
EXIT = {"pass": 0, "regression": 1, "inconclusive": 3, "not_comparable": 4}

# The conventions' main metrics, with default margins in points of a 0..100 scale (CIDEr: of 0..1000),
# converted to each metric's reported scale: margin = points / 100 * scale.
MAIN_METRICS: dict[str, tuple[str, ...]] = {
    "paper": ("rougeL", "cider", "meteor", "bleu4"),
    "coco": ("cider", "bleu4", "meteor", "rougeL"),
}
DEFAULT_MARGIN_POINTS = {"rougeL": 1.0, "cider": 2.0, "meteor": 1.0, "bleu4": 0.5}
# Diagnostics are means of per-item values in their own units (shares 0..1, characters, words).
DEFAULT_DIAG_MARGINS = {"over_125_chars": 0.05, "redundant_opening": 0.05, "context_copy": 0.05,
                        "empty": 0.02, "length_chars": 20.0, "length_words": 4.0}


@dataclass(frozen=True)
class MetricSpec:
    key: str
    margin: float


@dataclass(frozen=True)
class MetricVerdict:
    """One metric's decision. Values in the metric's reported scale: the runs' stored values, the difference
    and its intervals rounded as they are (altbench.results.numbers); the decision was made unrounded."""

    metric: str
    status: str
    baseline: float
    candidate: float
    delta: float  # candidate - baseline
    ci: tuple[float, float]  # of delta
    improvement: float  # delta oriented so that positive is better
    improvement_ci: tuple[float, float]
    margin: float
    higher_is_better: bool
    p_bootstrap: float
    p_permutation: float
    scale: float = 1.0
    p_holm: float = float("nan")  # the analysis engine's decision p-value (as compare and the leaderboard)
    significant: bool = False  # the engine's verdict: the two runs differ significantly on this metric
    p_regression: float = float("nan")  # one-sided: the improvement is below -margin (inverts the interval)
    p_regression_adjusted: float = float("nan")  # over the gated metrics, by the verdict's familywise method
    decimals: int | None = None  # of the reported scale, when the convention rounds (paper: 3)

    def line(self, level: float, familywise: str = defaults.FAMILYWISE) -> str:
        """One human-readable line for a CI log."""
        direction = "higher is better" if self.higher_is_better else "lower is better"
        adjusted = (f"; p regression {fmt_p(self.p_regression_adjusted, 'n/a')} {familywise}-adjusted"
                    if familywise != "none" else "")

        def f(x: float, sign: bool = False) -> str:  # as the run table shows the metric's values
            return fmt(x, self.scale, self.decimals, sign=sign, missing="n/a")

        return (f"{self.status.upper():<12} {self.metric:<20} baseline {f(self.baseline)} -> candidate "
                f"{f(self.candidate)}  diff {f(self.delta, True)}  {level:.0%} CI "
                f"[{f(self.ci[0], True)}, {f(self.ci[1], True)}]  margin {self.margin:g} "
                f"({direction}; {'significant' if self.significant else 'no significant'} difference, "
                f"p Holm {fmt_p(self.p_holm, 'n/a')}{adjusted})")


def decide(lo: float, hi: float, margin: float) -> str:
    """pass / regression / inconclusive from the interval of the (oriented) improvement."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    if lo >= -margin:
        return "pass"
    if hi < -margin:
        return "regression"
    return "inconclusive"


def regression_pvalues(improvements: np.ndarray, margins: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """One-sided p-values of "the improvement is below -margin", one per column of the (replicates, k)
    bootstrap replicates of the oriented improvement (positive = better).

    They invert the percentile interval exactly: with numpy's (linear) quantile ``Q`` of the replicates and
    ``q*`` the level where ``Q`` crosses ``-margin``, ``p = 2 (1 - q*)``, so ``p < a`` exactly when the upper
    end ``Q(1 - a/2)`` of the two-sided ``100 (1 - a)`` % interval is below ``-margin``: for one metric, the
    decision of :func:`decide`. ``p`` is about twice the share of replicates ``>= -margin``; 1 when none is
    below ``-margin``, 0 when all are; NaN without a finite replicate.
    """
    reps = np.asarray(improvements, dtype=float)
    reps = reps.reshape(len(reps), -1)
    bounds = -np.broadcast_to(np.asarray(margins, dtype=float), reps.shape[1])
    out = np.full(reps.shape[1], np.nan)
    for j in range(reps.shape[1]):
        x = np.sort(reps[np.isfinite(reps[:, j]), j])
        n, bound = len(x), bounds[j]
        if n == 0:
            continue
        below = int(np.searchsorted(x, bound, side="left"))  # replicates < -margin
        if below == 0:
            out[j] = 1.0
        elif below == n:
            out[j] = 0.0
        else:  # Q(q) = x[h] interpolated at h = (n - 1) q crosses -margin between x[below - 1] and x[below]
            h = below - 1 + (bound - x[below - 1]) / (x[below] - x[below - 1])
            out[j] = min(1.0, 2.0 * (1.0 - h / (n - 1)))
    return out


def familywise_regressions(p: np.ndarray, alpha: float, method: str = defaults.FAMILYWISE) -> np.ndarray:
    """Which metrics are regressions, from their :func:`regression_pvalues` (last axis: the gated metrics).

    none: ``p < alpha`` (each metric on its own ``100 (1 - alpha)`` % interval); bonferroni: ``k p < alpha``
    (the ``100 (1 - alpha / k)`` % interval); holm: Holm-adjusted ``p < alpha``. NaN is never a regression.
    """
    return np.nan_to_num(adjust_regression_pvalues(p, method), nan=1.0) < alpha


def adjust_regression_pvalues(p: np.ndarray, method: str) -> np.ndarray:
    """The p-values of :func:`regression_pvalues` adjusted over the last axis (the gated metrics)."""
    p = np.asarray(p, dtype=float)
    if method == "none":
        return p.copy()
    k = np.isfinite(p).sum(axis=-1, keepdims=True)
    if method == "bonferroni":
        return np.minimum(1.0, p * k)
    if method == "holm":
        flat = p.reshape(-1, p.shape[-1])
        return np.stack([holm(row) for row in flat]).reshape(p.shape)
    raise AltbenchError(f"familywise must be one of {', '.join(defaults.FAMILYWISE_METHODS)}, got {method!r}")


@dataclass(frozen=True)
class Verdict:
    status: str  # pass | regression | inconclusive | not_comparable
    exit_code: int
    metrics: tuple[MetricVerdict, ...]
    alpha: float
    on_inconclusive: str
    resamples: int
    seed: int
    trials: int = defaults.TRIALS
    familywise: str = defaults.FAMILYWISE
    baseline: LoadedRun | None = None
    candidate: LoadedRun | None = None
    reason: str | None = None

    @property
    def level(self) -> float:
        return 1.0 - self.alpha

    def summary(self) -> str:
        counts = {s: sum(m.status == s for m in self.metrics) for s in ("pass", "regression", "inconclusive")}
        if self.status == "not_comparable":
            return f"regress: NOT COMPARABLE: {self.reason}"
        tail = f"{len(self.metrics)} metrics: " + ", ".join(f"{v} {k}" for k, v in counts.items())
        note = ""
        if counts["inconclusive"] and not counts["regression"]:
            note = f"; inconclusive counts as {'passing' if self.on_inconclusive == 'pass' else 'failing'}"
        family = f", {self.familywise} over the {len(self.metrics)} metrics" if self.familywise != "none" else ""
        return f"regress: {self.status.upper()} ({tail}; alpha {self.alpha}{family}{note})"

    def to_dict(self) -> dict[str, Any]:
        def run_info(r: LoadedRun | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"path": str(r.path), "label": r.label, "run_id": r.run.run_id, "model": r.run.model_name}

        return {
            "schema": SCHEMA, "status": self.status, "exit_code": self.exit_code, "reason": self.reason,
            "baseline": run_info(self.baseline), "candidate": run_info(self.candidate),
            "alpha": self.alpha, "level": self.level, "on_inconclusive": self.on_inconclusive,
            "resamples": self.resamples, "trials": self.trials, "seed": self.seed,
            "familywise": self.familywise,
            "method": "two-sided paired percentile bootstrap interval of candidate - baseline; pass if its "
                      "lower bound (oriented: positive = better) >= -margin, regression if its upper bound "
                      "< -margin" + {
                          "none": "",
                          "bonferroni": " at level 1 - alpha / k over the k gated metrics (Bonferroni)",
                          "holm": "; regressions by Holm-adjusted p_regression < alpha over the gated metrics "
                                  "(p_regression < a exactly when the 1 - a interval's upper bound < -margin)",
                      }[self.familywise],
            "significance": Policy.DESCRIPTION,
            "metrics": [_verdict_dict(m) for m in self.metrics],
        }


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _verdict_dict(m: MetricVerdict) -> dict[str, Any]:
    return {"metric": m.metric, "status": m.status, "baseline": _num(m.baseline), "candidate": _num(m.candidate),
            "delta": _num(m.delta), "ci": [_num(m.ci[0]), _num(m.ci[1])], "improvement": _num(m.improvement),
            "improvement_ci": [_num(m.improvement_ci[0]), _num(m.improvement_ci[1])], "margin": m.margin,
            "higher_is_better": m.higher_is_better, "p_bootstrap": _num(m.p_bootstrap),
            "p_permutation": _num(m.p_permutation), "p_holm": _num(m.p_holm), "significant": m.significant,
            "p_regression": _num(m.p_regression), "p_regression_adjusted": _num(m.p_regression_adjusted)}


# ------------------------------------------------------------------------------------------ metrics
def default_margin(key: str, meta: MetricResult, margin: float | None = None) -> float:
    """``margin`` if given, else the documented default for ``key`` in its reported scale."""
    if margin is not None:
        return margin
    group, _, name = key.partition("/")
    if group == "diag" and name in DEFAULT_DIAG_MARGINS:
        return DEFAULT_DIAG_MARGINS[name]
    if name in DEFAULT_MARGIN_POINTS:
        return DEFAULT_MARGIN_POINTS[name] * meta.scale / 100.0
    raise AltbenchError(f"no default margin for {key}; give one with the metric, as {key}:MARGIN")


def parse_specs(specs: Sequence[str], runs: Sequence[LoadedRun], margin: float | None = None,
                include_diagnostics: bool = False) -> list[MetricSpec]:
    """``NAME[:MARGIN]`` options -> metric keys with margins; without any, the convention's main metrics."""
    base = runs[0]
    keys = all_metric_keys(runs)
    common = [k for k in keys if all(k in r.metrics for r in runs)]
    out: list[MetricSpec] = []
    if specs:
        for spec in specs:
            name, sep, raw = spec.rpartition(":") if ":" in spec else (spec, "", "")
            value = None
            if sep:
                try:
                    value = float(raw)
                except ValueError:
                    raise AltbenchError(f"metric {spec!r}: margin {raw!r} is not a number") from None
                if not math.isfinite(value) or value < 0:
                    raise AltbenchError(f"metric {spec!r}: the margin must be a number >= 0")
            key = resolve_metric(name, keys, common)
            meta = base.metrics.get(key) or next(r.metrics[key] for r in runs if key in r.metrics)
            out.append(MetricSpec(key, default_margin(key, meta, value if sep else margin)))
    else:
        conventions = base.run.headline.conventions
        for conv in conventions:
            for name in MAIN_METRICS.get(conv, ()):
                key = f"{conv}/{name}"
                if key in base.metrics:
                    out.append(MetricSpec(key, default_margin(key, base.metrics[key], margin)))
        if include_diagnostics:
            out += [MetricSpec(k, default_margin(k, base.metrics[k], None)) for k in base.metrics
                    if k.startswith("diag/")]
        if not out:
            raise AltbenchError(f"{base.results_path}: none of the main metrics of convention "
                                f"{', '.join(conventions)} is in the baseline; name the metrics to gate on")
    if len({s.key for s in out}) != len(out):
        dup = next(k for k in (s.key for s in out) if sum(s.key == k for s in out) > 1)
        raise AltbenchError(f"metric {dup} is named twice")
    return out


# ------------------------------------------------------------------------------------------- verdict
def regress(baseline: Path | str, candidate: Path | str, specs: Sequence[str] = (), *, margin: float | None = None,
            alpha: float = defaults.ALPHA, on_inconclusive: str = "fail", resamples: int = defaults.RESAMPLES,
            trials: int = defaults.TRIALS, seed: int = defaults.SEED, include_diagnostics: bool = False,
            familywise: str = defaults.FAMILYWISE, starmap: Starmap | None = None) -> Verdict:
    """Load both runs and decide. Not comparable runs give a verdict with status ``not_comparable``.

    specs: ``NAME[:MARGIN]`` metrics to gate on (default: the convention's main metrics); margin: for those
    named without one; familywise: ``none``, ``holm`` or ``bonferroni`` (module docstring); starmap: where the
    resampling chunks are computed (:mod:`altbench.tasks`; default here).
    """
    if not 0 < alpha < 1:
        raise AltbenchError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if on_inconclusive not in ("pass", "fail"):
        raise AltbenchError(f"on_inconclusive must be 'pass' or 'fail', got {on_inconclusive!r}")
    if margin is not None and (not math.isfinite(margin) or margin < 0):
        raise AltbenchError(f"margin must be a number >= 0, got {margin}")
    if familywise not in defaults.FAMILYWISE_METHODS:
        raise AltbenchError(f"familywise must be one of {', '.join(defaults.FAMILYWISE_METHODS)}, "
                            f"got {familywise!r}")
    policy = Policy(resamples, trials, seed, 1.0 - alpha, alpha)  # checks resamples and trials
    runs = label_runs([load_run(baseline), load_run(candidate)])
    base_run, cand_run = runs
    common = {"alpha": alpha, "on_inconclusive": on_inconclusive, "resamples": resamples, "trials": trials,
              "seed": seed, "familywise": familywise, "baseline": base_run, "candidate": cand_run}
    try:
        chosen = parse_specs(specs, runs, margin, include_diagnostics)
        check_comparable(runs, [s.key for s in chosen])
    except NotComparableError as exc:
        return Verdict("not_comparable", EXIT["not_comparable"], (), reason=exc.reason, **common)
    analysis = analyse_pair(base_run, cand_run, policy, keep_replicates=True, starmap=starmap)
    tests = [analysis.tests[spec.key] for spec in chosen]
    signs = [1.0 if t.higher_is_better else -1.0 for t in tests]
    improvements = np.column_stack([sign * t.test.replicates for sign, t in zip(signs, tests)])
    p_regression = regression_pvalues(improvements, [spec.margin for spec in chosen])
    p_adjusted = adjust_regression_pvalues(p_regression, familywise)
    verdicts = []
    for j, (spec, t, sign) in enumerate(zip(chosen, tests, signs)):
        test = t.test
        lo, hi = sorted((sign * test.ci_low, sign * test.ci_high))
        status = decide(lo, hi, spec.margin)
        if familywise != "none" and status == "regression" and not p_adjusted[j] < alpha:
            status = "inconclusive"  # a regression at the metric's own level, not over the gated family
        r = t.reported  # the difference and its intervals, rounded as the metric's values
        verdicts.append(MetricVerdict(
            spec.key, status, t.value_a, t.value_b, r(test.delta), (r(test.ci_low), r(test.ci_high)),
            r(sign * test.delta), (r(lo), r(hi)), spec.margin, t.higher_is_better, test.p_bootstrap,
            test.p_permutation, t.scale, t.p_holm, t.significant, float(p_regression[j]), float(p_adjusted[j]),
            t.decimals))
    statuses = {v.status for v in verdicts}
    status = "regression" if "regression" in statuses else "inconclusive" if "inconclusive" in statuses else "pass"
    code = EXIT[status]
    if status == "inconclusive" and on_inconclusive == "pass":
        code = 0
    return Verdict(status, code, tuple(verdicts), **common)
