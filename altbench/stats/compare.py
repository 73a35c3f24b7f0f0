"""``altbench compare``: every pair of runs x every metric, with Holm-Bonferroni over all comparisons shown."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.stats.comparable import (
    LoadedRun,
    aligned_blocks,
    check_comparable,
    label_runs,
    load_run,
    select_metrics,
)
from altbench.stats.paired import PairedResult, compare_pairs, holm

SCHEMA = "altbench.compare/1"


@dataclass(frozen=True)
class Settings:
    """How the comparison was computed (all recorded in the JSON output)."""

    resamples: int = 10_000
    trials: int = 10_000
    seed: int = 0
    level: float = 0.95
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if self.resamples < 1 or self.trials < 1:
            raise AltbenchError("--resamples and --trials must be at least 1")
        if not 0 < self.level < 1 or not 0 < self.alpha < 1:
            raise AltbenchError("--level and --alpha must lie strictly between 0 and 1")

    @property
    def signature(self) -> str:
        return (f"paired:items|ci:percentile-bootstrap|n:{self.resamples}|p:bootstrap-shift+approx-randomization"
                f"|trials:{self.trials}|seed:{self.seed}|level:{self.level}|correction:holm")


@dataclass(frozen=True)
class Row:
    """One comparison: metric ``metric`` of run ``b`` minus run ``a``, with Holm-adjusted p-values."""

    a: str
    b: str
    metric: str
    value_a: float
    value_b: float
    higher_is_better: bool
    test: PairedResult
    p_bootstrap_holm: float
    p_permutation_holm: float
    alpha: float
    scale: float = 1.0

    @property
    def significant(self) -> bool:
        """Decided on the Holm-adjusted permutation p-value (the exact-under-the-null test)."""
        return math.isfinite(self.p_permutation_holm) and self.p_permutation_holm < self.alpha

    @property
    def better(self) -> str | None:
        """Label of the significantly better run, else None."""
        if not self.significant or self.test.delta == 0:
            return None
        b_up = self.test.delta > 0
        return self.b if b_up == self.higher_is_better else self.a


@dataclass(frozen=True)
class Comparison:
    runs: tuple[LoadedRun, ...]
    metrics: tuple[str, ...]
    skipped: tuple[str, ...]
    rows: tuple[Row, ...]
    settings: Settings

    def to_dict(self) -> dict[str, Any]:
        first = self.runs[0].results
        return {
            "schema": SCHEMA,
            "runs": [{"label": r.label, "path": str(r.path), "run_id": r.results.get("run_id"),
                      "model": (r.results.get("model") or {}).get("name"), "n_items": len(r.rows)}
                     for r in self.runs],
            "split": {k: (first.get("split") or {}).get(k) for k in ("name", "sha256")},
            "convention": first.get("convention"),
            "n_items": len(self.runs[0].rows),
            "metrics": list(self.metrics),
            "skipped_metrics": list(self.skipped),
            "settings": {**asdict(self.settings), "signature": self.settings.signature,
                         "correction": "holm over every (pair, metric) shown, each p-value family separately",
                         "significance": "holm-adjusted approximate-randomization p < alpha"},
            "comparisons": [_row_dict(r) for r in self.rows],
        }


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _row_dict(r: Row) -> dict[str, Any]:
    t = r.test
    return {
        "a": r.a, "b": r.b, "metric": r.metric, "value_a": _num(r.value_a), "value_b": _num(r.value_b),
        "delta": _num(t.delta), "ci": [_num(t.ci_low), _num(t.ci_high)], "level": t.level, "se": _num(t.se),
        "p_bootstrap": _num(t.p_bootstrap), "p_permutation": _num(t.p_permutation),
        "p_bootstrap_holm": _num(r.p_bootstrap_holm), "p_permutation_holm": _num(r.p_permutation_holm),
        "effect_size": _num(t.effect_size), "effect_size_kind": t.effect_size_kind,
        "higher_is_better": r.higher_is_better, "significant": r.significant, "better": r.better,
    }


def compare_runs(paths: Sequence[Path | str], metrics: Sequence[str] = (), include_diagnostics: bool = False,
                 settings: Settings | None = None) -> Comparison:
    """Load, check and compare runs; pairs are (i, j) for i < j in the given order, delta = run j - run i."""
    settings = settings or Settings()
    if len(paths) < 2:
        raise AltbenchError("compare needs at least two runs")
    runs = label_runs([load_run(p) for p in paths])
    keys, skipped = select_metrics(runs, metrics, include_diagnostics)
    if not keys:
        raise AltbenchError("no metric to compare (the runs share none; use --metric or --include-diagnostics)")
    check_comparable(runs, keys)
    blocks = aligned_blocks(runs, keys)
    pairs = list(itertools.combinations(range(len(runs)), 2))
    tests = compare_pairs(blocks, pairs, resamples=settings.resamples, trials=settings.trials,
                          seed=settings.seed, level=settings.level)
    flat = [(pair, m, t) for pair, per_metric in zip(pairs, tests) for m, t in enumerate(per_metric)]
    p_boot = holm([t.p_bootstrap for _, _, t in flat])
    p_perm = holm([t.p_permutation for _, _, t in flat])
    rows = []
    for k, ((i, j), m, t) in enumerate(flat):
        meta = runs[0].metrics[keys[m]]
        rows.append(Row(runs[i].label, runs[j].label, keys[m], blocks[i][m].value(), blocks[j][m].value(),
                        bool(meta.get("higher_is_better", True)), t, float(p_boot[k]), float(p_perm[k]),
                        settings.alpha, float(meta.get("scale", 1.0))))
    return Comparison(tuple(runs), tuple(keys), tuple(skipped), tuple(rows), settings)
