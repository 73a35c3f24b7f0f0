"""The jar's own METEOR per-segment and corpus scores with a short ``EVAL`` instead of one over every item.

pycocoevalcap sends every item's statistics back in one ``EVAL`` line; the jar parses them with
``java.util.Scanner`` (slow: 2-5 s of JVM time for 20,000 items) and prints ``computeMetrics`` of each and of
their sum. ``computeMetrics`` is plain IEEE arithmetic (reproduced bit for bit by
:func:`~altbench.metrics.coco.meteor_stats.fmean_and_frag`, Java >= 17 being strictly IEEE) except one call,
``Math.pow(frag, beta)``, which HotSpot computes with its own intrinsic (it differs from C's ``pow`` in the
last bit for about 1.5 % of items). A segment's score is ``fMean * U`` with
``U = 1 - gamma * pow(frag, beta)`` and there are few distinct ``frag`` values (a ratio of small integers:
about 170 for 20,000 items). So:

1. the corpus score is asked from the jar for one row, the summed statistics (the same doubles as the jar's
   own ``EVAL`` aggregate, hence the same number);
2. for every distinct ``frag`` > 0, up to :data:`PROBES` of its segments (largest distinct fMeans) go in the
   same ``EVAL``; the jar's ``U`` is the one candidate among C ``pow`` +- :data:`ULPS` ulps that reproduces
   all their scores. Java's and C's ``pow`` are each within 1 ulp of the true value, so the jar's ``U`` is
   among the candidates; if exactly one candidate fits, it is the jar's;
3. ``frag`` values left ambiguous get all their segments evaluated by the jar in a second ``EVAL``.

Every per-segment score is therefore the jar's to the last bit (the parity tests check it against
pycocoevalcap item by item).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from altbench.metrics.coco.meteor_stats import BETA, GAMMA, final_score, fmean_and_frag

log = logging.getLogger(__name__)

PROBES = 3
ULPS = 3


def java_double(x: float) -> str:
    """An integral double as Java prints it in a statistics line (``12.0``)."""
    return f"{x:.1f}"


def summed_row(stats: np.ndarray) -> str:
    """The jar's EVAL aggregate as one statistics line: printed columns summed, chunks as aggregated."""
    total = np.asarray(stats, dtype=np.float64).sum(axis=0)
    printed = list(total[:23])
    printed[20] = total[23]
    return " ".join(java_double(v) for v in printed)


def _candidates(frag: float) -> list[float]:
    p = np.float64(frag) ** BETA
    out = {float(1.0 - GAMMA * p)}
    lo = hi = p
    for _ in range(ULPS):
        lo, hi = np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf)
        out.update((float(1.0 - GAMMA * lo), float(1.0 - GAMMA * hi)))
    return sorted(out)


def jar_scores(
    stats: np.ndarray, printed: Sequence[str], evaluate: Callable[[list[str]], list[float]]
) -> tuple[np.ndarray, float]:
    """(per-row scores, corpus score) equal to the jar's EVAL over ``printed``.

    ``stats``: (n, 24) rows (:func:`~altbench.metrics.coco.meteor_stats.aggregable`), ``printed``: the jar's
    statistics lines of those rows, ``evaluate``: sends ``EVAL ||| row ||| ...`` and returns the per-row
    scores it prints.
    """
    stats = np.asarray(stats, dtype=np.float64)
    fmean, frag = fmean_and_frag(stats, chunks_column=20)
    one_minus = np.ones(len(stats))  # frag == 0: pow(0, beta) == 0 exactly, U == 1
    one_minus[np.isnan(frag)] = np.nan  # the jar: NaN score -> 0
    needs = np.isfinite(frag) & (frag > 0)
    groups: dict[float, np.ndarray] = {}
    if needs.any():
        idx = np.nonzero(needs)[0]
        values, inverse = np.unique(frag[idx], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
        groups = {float(v): idx[order[bounds[g]:bounds[g + 1]]] for g, v in enumerate(values)}
    probes: dict[float, np.ndarray] = {}
    for f, members in list(groups.items()):
        informative = members[np.isfinite(fmean[members]) & (fmean[members] > 0)]
        if not len(informative):  # every fMean is 0 or NaN: the score is 0 whatever U is
            del groups[f]
            continue
        _, first = np.unique(-fmean[informative], return_index=True)  # largest distinct fMeans first
        probes[f] = informative[first[:PROBES]]
    rows = [summed_row(stats)] + [printed[i] for p in probes.values() for i in p]
    answers = evaluate(rows)
    corpus = answers[0]
    got = iter(answers[1:])
    unresolved = []
    for f, members in groups.items():
        expected = np.array([next(got) for _ in probes[f]])
        fits = [u for u in _candidates(f)
                if len(expected) and np.array_equal(final_score(fmean[probes[f]], u), expected)]
        if len(fits) == 1:
            one_minus[members] = fits[0]
        else:
            unresolved.extend(members.tolist())
    scores = final_score(fmean, one_minus)
    log.debug("METEOR EVAL: %d probe rows for %d frag values, %d rows left to the jar",
              len(rows) - 1, len(groups), len(unresolved))
    if unresolved:
        scores[unresolved] = evaluate([printed[i] for i in unresolved])
    return scores, corpus
