"""The ``altbench.results/1`` file and the per-item ``scores.jsonl`` (see docs/results-schema.md)."""

from __future__ import annotations

import math
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from altbench import __version__
from altbench.io import write_json_atomic, write_jsonl_atomic
from altbench.run.scoring import ScoredRun
from altbench.stats.bootstrap import signature_suffix

SCHEMA = "altbench.results/1"
SCORING_LIBRARIES = ("nltk", "rouge", "pycocoevalcap", "numpy")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"altbench": __version__, "python": platform.python_version()}
    for lib in SCORING_LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def git_commit() -> str | None:
    """Commit of the altbench source tree, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def build_results(
    scored: ScoredRun,
    *,
    run_id: str,
    model: dict[str, Any],
    split: dict[str, Any],
    convention: str,
    seed: int,
    resamples: int,
    started: str,
) -> dict[str, Any]:
    ci_sig = signature_suffix(resamples, seed)
    metrics = {}
    for key, m in scored.metrics.items():
        lo, hi = scored.ci95.get(key, (math.nan, math.nan))
        metrics[key] = {
            "value": _num(m.value), "ci95": [_num(lo), _num(hi)], "n": m.n_scored,
            "higher_is_better": m.higher_is_better, "scale": m.scale, "aggregator": m.aggregator,
            "signature": f"{m.signature}|{ci_sig}",
        }
    results = {
        "schema": SCHEMA,
        "run_id": run_id,
        "model": model,
        "split": split,
        "convention": convention,
        "conventions": scored.conventions,
        "metrics": metrics,
        "counts": scored.counts,
        "failures": scored.failures,
        "missing": scored.missing,
        "bootstrap": {"resamples": resamples, "seed": seed, "method": "percentile, paired over items",
                      "level": 0.95},
        "seed": seed,
        "versions": versions(),
        "git_commit": git_commit(),
        "timestamps": {"started": started, "finished": utc_now()},
    }
    if scored.metric_models:  # model-based metrics: who scored, and the items each could not score
        results["metric_failures"] = scored.metric_failures
        results["metric_models"] = scored.metric_models
    return results


def write_run_outputs(out_dir: Path, scored: ScoredRun, results: dict[str, Any]) -> None:
    """The per-item scores and the results file of a scored run, each written atomically."""
    write_jsonl_atomic(out_dir / "scores.jsonl", scored.per_item_rows())
    write_json_atomic(out_dir / "results.json", results)


def _num(x: float) -> float | None:
    """JSON has no NaN: an undefined value is written as null."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)
