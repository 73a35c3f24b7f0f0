"""Reliance of two runs compared item by item (the reliance section of ``altbench compare``).

For each summary both runs have (context reliance from context-swap, image reliance from image-noise), the
per-item reliance ``1 - similarity`` of the two runs is paired over the items both probes produced, and the
difference (run b minus run a) gets the analysis engine's paired bootstrap interval and approximate
randomization p-value, Holm-adjusted over the pair's reliance summaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from altbench.probes.measure import item_similarity
from altbench.probes.results import PROBES_FILE, RELIANCE_PROBES


@dataclass(frozen=True)
class RelianceTest:
    a: str
    b: str
    kind: str
    probe: str
    n: int
    value_a: float
    value_b: float
    delta: float
    ci95: tuple[float, float]
    p_permutation: float
    p_holm: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "reliance": self.kind, "probe": self.probe, "n": self.n,
                "value_a": self.value_a, "value_b": self.value_b, "delta": self.delta, "ci": list(self.ci95),
                "p_permutation": self.p_permutation, "p_permutation_holm": self.p_holm,
                "significant": self.significant}


def compare_reliance(a: Any, b: Any, policy: Any, starmap: Any = None) -> list[RelianceTest]:
    """Reliance of ``b`` minus ``a`` (two :class:`~altbench.stats.comparable.LoadedRun`), for each summary
    both runs' probes.json report; empty when either run has no probes. ``starmap``: where the resampling
    chunks are computed (:mod:`altbench.tasks`; default here)."""
    from altbench.stats.bootstrap import StatBlock
    from altbench.stats.paired import compare_pairs, holm

    fa, fb = a.run.path, b.run.path
    if not ((fa / PROBES_FILE).is_file() and (fb / PROBES_FILE).is_file()):
        return []
    raw = []
    for kind, probe in RELIANCE_PROBES.items():
        if not ((fa / "probes" / probe).is_dir() and (fb / "probes" / probe).is_dir()):
            continue
        sa, sb = item_similarity(fa, probe), item_similarity(fb, probe)
        ids = [i for i in sa if i in sb]
        if len(ids) < 2:
            continue
        blocks = [[StatBlock(np.array([1.0 - sa[i] for i in ids]).reshape(-1, 1))],
                  [StatBlock(np.array([1.0 - sb[i] for i in ids]).reshape(-1, 1))]]
        ((r,),) = compare_pairs(blocks, [(0, 1)], resamples=policy.resamples, trials=policy.trials,
                                seed=policy.seed, level=policy.level, starmap=starmap)
        raw.append((kind, probe, len(ids), blocks[0][0].value(), blocks[1][0].value(), r))
    adjusted = holm([r.p_permutation for *_, r in raw])
    return [RelianceTest(a.label, b.label, kind, probe, n, va, vb, r.delta, (r.ci_low, r.ci_high), r.p_permutation,
                         float(p), bool(p < policy.alpha))
            for (kind, probe, n, va, vb, r), p in zip(raw, adjusted)]
