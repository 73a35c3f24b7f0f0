"""``altbench compare``: every pair of runs x every metric, decided by the analysis engine's policy.

The p-values and decisions are those of :mod:`altbench.stats.engine` (the same as ``regress`` and the
leaderboard's ranks): per pair, Holm over the pair's quality metrics, whichever of them are displayed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.stats.comparable import LoadedRun, check_comparable, label_runs, load_run, select_metrics
from altbench.stats.engine import PairTest, Policy, analyse_pairs
from altbench.tasks import Starmap

SCHEMA = "altbench.compare/1"


Settings = Policy  # compare's settings are the significance policy (resamples, trials, seed, level, alpha)


@dataclass(frozen=True)
class Comparison:
    runs: tuple[LoadedRun, ...]
    metrics: tuple[str, ...]
    skipped: tuple[str, ...]
    rows: tuple[PairTest, ...]
    settings: Policy
    reliance: tuple = ()  # altbench.probes.compare.RelianceTest, when both runs of a pair were probed

    @property
    def n_items(self) -> int:
        return max((r.n for r in self.rows), default=0)

    def to_dict(self) -> dict[str, Any]:
        first = self.runs[0].run
        return {
            "schema": SCHEMA,
            "runs": [{"label": r.label, "path": str(r.path), "run_id": r.run.run_id, "model": r.run.model_name,
                      "scorings": sorted({s.key for k in self.metrics if (s := r.scoring(k)) is not None})}
                     for r in self.runs],
            "split": {"name": first.split_name, "sha256": first.split_sha256},
            "conventions": sorted({k.split("/", 1)[0] for k in self.metrics} - {"diag", "model"}),
            "n_items": self.n_items,
            "metrics": list(self.metrics),
            "skipped_metrics": list(self.skipped),
            "settings": {**asdict(self.settings), "signature": self.settings.signature,
                         "correction": "holm per pair of runs, over the quality metrics both report (diagnostics "
                                       "a family of their own), whichever metrics are shown",
                         "significance": "holm-adjusted approximate-randomization p < alpha"},
            "comparisons": [_row_dict(r) for r in self.rows],
            **({"reliance": [r.to_dict() for r in self.reliance]} if self.reliance else {}),
        }


def _num(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _row_dict(r: PairTest) -> dict[str, Any]:
    """One row; values are the runs' stored ones, the difference and its interval rounded as they are."""
    t = r.test
    return {
        "a": r.a, "b": r.b, "metric": r.metric, "n": r.n, "value_a": _num(r.value_a), "value_b": _num(r.value_b),
        "delta": _num(r.reported(t.delta)), "ci": [_num(r.reported(t.ci_low)), _num(r.reported(t.ci_high))],
        "level": t.level, "se": _num(t.se),
        "p_bootstrap": _num(t.p_bootstrap), "p_permutation": _num(t.p_permutation),
        "p_bootstrap_holm": _num(r.p_bootstrap_holm), "p_permutation_holm": _num(r.p_holm),
        "effect_size": _num(t.effect_size), "effect_size_kind": t.effect_size_kind,
        "higher_is_better": r.higher_is_better, "significant": r.significant, "better": r.better,
    }


def compare_runs(paths: Sequence[Path | str], metrics: Sequence[str] = (), include_diagnostics: bool = False,
                 settings: Policy | None = None, convention: str | None = None, starmap: Starmap | None = None
                 ) -> Comparison:
    """Load, check and compare runs; pairs are (i, j) for i < j in the given order, delta = run j - run i.
    ``starmap``: where the resampling chunks are computed (:mod:`altbench.tasks`; default here).

    Each metric comes from the fullest scoring of each run that reports it. ``convention`` shows only that
    convention's metrics (and ``diag/*`` with ``include_diagnostics``); the verdicts stay those of each pair's
    whole family (:mod:`altbench.stats.engine`), whichever rows are shown.
    """
    settings = settings or Policy()
    if len(paths) < 2:
        raise AltbenchError("compare needs at least two runs")
    runs = label_runs([load_run(p) for p in paths])
    keys, skipped = select_metrics(runs, metrics, include_diagnostics, convention)
    if not keys:
        raise AltbenchError("no metric to compare: the runs share none (name metrics, or include the diagnostics)")
    check_comparable(runs, keys)
    from altbench.probes.compare import compare_reliance

    rows, reliance = [], []
    pairs = list(itertools.combinations(range(len(runs)), 2))
    # the heavy sums once per run, not per pair
    for (i, j), analysis in zip(pairs, analyse_pairs(runs, pairs, settings, starmap=starmap)):
        rows += [analysis.tests[k] for k in keys]
        reliance += compare_reliance(runs[i], runs[j], settings, starmap)
    return Comparison(tuple(runs), tuple(keys), tuple(skipped), tuple(rows), settings, tuple(reliance))
