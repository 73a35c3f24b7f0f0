"""``altbench regress``: a non-inferiority gate of a candidate run against a baseline run.

Per metric, with ``improvement = candidate - baseline`` for higher-is-better metrics and
``baseline - candidate`` for lower-is-better ones (so positive always means better), and its two-sided
``100 (1 - alpha)`` % paired bootstrap interval ``[lo, hi]``:

* pass         when ``lo >= -margin``: the candidate is at most ``margin`` worse, with confidence;
* regression   when ``hi < -margin``: the candidate is worse by more than ``margin``, with confidence;
* inconclusive otherwise (the interval straddles ``-margin``).

Margins are in the metric's reported scale (paper: points out of 100; coco: raw values, CIDEr-D 0..10).
The run's verdict is regression if any metric regresses, else inconclusive if any is inconclusive, else
pass; ``--on-inconclusive pass`` turns an inconclusive verdict into a passing one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.results import MetricResult
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
    """One metric's decision. Values in the metric's reported scale."""

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

    def line(self, level: float) -> str:
        """One human-readable line for a CI log."""
        direction = "higher is better" if self.higher_is_better else "lower is better"
        s = self.scale
        return (f"{self.status.upper():<12} {self.metric:<20} baseline {_f(self.baseline, s)} -> candidate "
                f"{_f(self.candidate, s)}  diff {_f(self.delta, s, True)}  {level:.0%} CI "
                f"[{_f(self.ci[0], s, True)}, {_f(self.ci[1], s, True)}]  margin {self.margin:g} "
                f"({direction}; {'significant' if self.significant else 'no significant'} difference, "
                f"p Holm {_p(self.p_holm)})")


def _f(x: float, scale: float, sign: bool = False) -> str:
    """As `altbench run` prints values: 2 decimals for scaled (points) or large values, else 4."""
    if x is None or not math.isfinite(x):
        return "n/a"
    digits = 2 if scale != 1.0 or abs(x) >= 10 else 4
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.4f}" if x >= 0.0001 else f"{x:.1e}"


def decide(lo: float, hi: float, margin: float) -> str:
    """pass / regression / inconclusive from the interval of the (oriented) improvement."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    if lo >= -margin:
        return "pass"
    if hi < -margin:
        return "regression"
    return "inconclusive"


@dataclass(frozen=True)
class Verdict:
    status: str  # pass | regression | inconclusive | not_comparable
    exit_code: int
    metrics: tuple[MetricVerdict, ...]
    alpha: float
    on_inconclusive: str
    resamples: int
    seed: int
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
        return f"regress: {self.status.upper()} ({tail}; alpha {self.alpha}{note})"

    def to_dict(self) -> dict[str, Any]:
        def run_info(r: LoadedRun | None) -> dict[str, Any] | None:
            if r is None:
                return None
            return {"path": str(r.path), "label": r.label, "run_id": r.run.run_id, "model": r.run.model_name}

        return {
            "schema": SCHEMA, "status": self.status, "exit_code": self.exit_code, "reason": self.reason,
            "baseline": run_info(self.baseline), "candidate": run_info(self.candidate),
            "alpha": self.alpha, "level": self.level, "on_inconclusive": self.on_inconclusive,
            "resamples": self.resamples, "seed": self.seed,
            "method": "two-sided paired percentile bootstrap interval of candidate - baseline; pass if its "
                      "lower bound (oriented: positive = better) >= -margin, regression if its upper bound "
                      "< -margin",
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
            "p_permutation": _num(m.p_permutation), "p_holm": _num(m.p_holm), "significant": m.significant}


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
    raise AltbenchError(f"no default margin for {key}; give one as --metric {key}:MARGIN")


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
                    raise AltbenchError(f"--metric {spec!r}: margin {raw!r} is not a number") from None
                if not math.isfinite(value) or value < 0:
                    raise AltbenchError(f"--metric {spec!r}: the margin must be a number >= 0")
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
                                f"{', '.join(conventions)} is in the baseline; name them with --metric")
    if len({s.key for s in out}) != len(out):
        raise AltbenchError("a metric is named twice in --metric")
    return out


# ------------------------------------------------------------------------------------------- verdict
def regress(baseline: Path | str, candidate: Path | str, specs: Sequence[str] = (), *, margin: float | None = None,
            alpha: float = 0.05, on_inconclusive: str = "fail", resamples: int = 10_000, seed: int = 0,
            include_diagnostics: bool = False) -> Verdict:
    """Load both runs and decide. Not comparable runs give a verdict with status ``not_comparable``."""
    if not 0 < alpha < 1:
        raise AltbenchError(f"--alpha must lie strictly between 0 and 1, got {alpha}")
    if on_inconclusive not in ("pass", "fail"):
        raise AltbenchError(f"--on-inconclusive must be pass or fail, got {on_inconclusive!r}")
    if margin is not None and (not math.isfinite(margin) or margin < 0):
        raise AltbenchError(f"--margin must be a number >= 0, got {margin}")
    runs = label_runs([load_run(baseline), load_run(candidate)])
    base_run, cand_run = runs
    common = {"alpha": alpha, "on_inconclusive": on_inconclusive, "resamples": resamples, "seed": seed,
              "baseline": base_run, "candidate": cand_run}
    try:
        chosen = parse_specs(specs, runs, margin, include_diagnostics)
        check_comparable(runs, [s.key for s in chosen])
    except NotComparableError as exc:
        return Verdict("not_comparable", EXIT["not_comparable"], (), reason=exc.reason, **common)
    analysis = analyse_pair(base_run, cand_run, Policy(resamples, resamples, seed, 1.0 - alpha, alpha))
    verdicts = []
    for spec in chosen:
        t = analysis.tests[spec.key]
        test = t.test
        sign = 1.0 if t.higher_is_better else -1.0
        lo, hi = sorted((sign * test.ci_low, sign * test.ci_high))
        verdicts.append(MetricVerdict(
            spec.key, decide(lo, hi, spec.margin), t.value_a, t.value_b, test.delta, (test.ci_low, test.ci_high),
            sign * test.delta, (lo, hi), spec.margin, t.higher_is_better, test.p_bootstrap, test.p_permutation,
            t.scale, t.p_holm, t.significant))
    statuses = {v.status for v in verdicts}
    status = "regression" if "regression" in statuses else "inconclusive" if "inconclusive" in statuses else "pass"
    code = EXIT[status]
    if status == "inconclusive" and on_inconclusive == "pass":
        code = 0
    return Verdict(status, code, tuple(verdicts), **common)
