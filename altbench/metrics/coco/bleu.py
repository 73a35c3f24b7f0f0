"""Corpus BLEU-1..4 exactly as pycocoevalcap's ``Bleu(4)`` reports it, from per-item sufficient statistics.

Re-implemented (not called) because pycocoevalcap's ``BleuScorer`` cooks every sentence into Python dicts of
tuple slices and loops over them again per order: about 4 s for 20,000 items. Here the counting uses
``Counter``\\ s shared with CIDEr-D, and the arithmetic below is pycocoevalcap's ``BleuScorer.compute_score``
line for line (option ``closest``; ``tiny`` = 1e-15, ``small`` = 1e-9; same operation order), so per-item and
corpus values are bit-identical to it.

Per-item statistics (float64 columns)::

    0 hyp_len  1 closest_ref_len (ties: the shorter)  2..5 matched_k (clipped k-gram matches, k = 1..4)
    6..9 total_k (max(0, hyp_len - k + 1))

``coco_bleu1`` .. ``coco_bleu4`` (aggregators declared in ``metrics.base.AGGREGATOR_TABLE``) turn summed statistics into corpus BLEU-k.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

N = 4
TINY = 1e-15  # pycocoevalcap: "so that if guess is 0 still return 0"
SMALL = 1e-9
STAT_COLUMNS = ("hyp_len", "closest_ref_len", *(f"matched_{k}" for k in range(1, N + 1)),
                *(f"total_{k}" for k in range(1, N + 1)))


def item_stats(hyp: tuple[list[Counter], int], refs: Sequence[tuple[list[Counter], int]]) -> list[int]:
    """One row of statistics from n-gram counts (see :mod:`altbench.metrics.coco.ngrams`)."""
    hyp_counts, hyp_len = hyp
    ref_len = min((abs(length - hyp_len), length) for _, length in refs)[1]
    matched = []
    for k in range(N):
        if len(refs) == 1:
            ref_max = refs[0][0][k]
        else:
            ref_max = Counter()
            for counts, _ in refs:
                ref_max |= counts[k]  # max count over references
        matched.append(sum((hyp_counts[k] & ref_max).values()))  # clipped counts
    return [hyp_len, ref_len, *matched, *(max(0, hyp_len - k) for k in range(N))]


def item_scores(rows: Sequence[Sequence[int]]) -> list[list[float]]:
    """Per-item BLEU-1..4 (``bleu_list`` of ``BleuScorer.compute_score``): ``[order][item]``."""
    out: list[list[float]] = [[] for _ in range(N)]
    for row in rows:
        testlen, reflen = row[0], row[1]
        bleu = 1.0
        scores = []
        for k in range(N):
            bleu *= (float(row[2 + k]) + TINY) / (float(row[6 + k]) + SMALL)
            scores.append(bleu ** (1.0 / (k + 1)))
        ratio = (testlen + TINY) / (reflen + SMALL)
        if ratio < 1:
            penalty = math.exp(1 - 1 / ratio)
            scores = [s * penalty for s in scores]
        for k in range(N):
            out[k].append(scores[k])
    return out


def corpus_scores(rows: Sequence[Sequence[int]]) -> list[float]:
    """Corpus BLEU-1..4 from integer rows, with pycocoevalcap's scalar arithmetic."""
    testlen = sum(int(r[0]) for r in rows)
    reflen = sum(int(r[1]) for r in rows)
    bleus = []
    bleu = 1.0
    for k in range(N):
        correct = sum(int(r[2 + k]) for r in rows)
        guess = sum(int(r[6 + k]) for r in rows)
        bleu *= float(correct + TINY) / (guess + SMALL)
        bleus.append(bleu ** (1.0 / (k + 1)))
    ratio = (testlen + TINY) / (reflen + SMALL)
    if ratio < 1:
        bleus = [b * math.exp(1 - 1 / ratio) for b in bleus]
    return bleus


def bleu_from_stats(summed: np.ndarray, order: int) -> np.ndarray:
    """Corpus BLEU-``order`` from summed statistics, vectorised over leading axes."""
    s = np.asarray(summed, dtype=np.float64)
    bleu = np.ones(s.shape[:-1])
    for k in range(order):
        bleu = bleu * ((s[..., 2 + k] + TINY) / (s[..., 6 + k] + SMALL))
    bleu = bleu ** (1.0 / order)
    with np.errstate(divide="ignore"):
        ratio = (s[..., 0] + TINY) / (s[..., 1] + SMALL)
        penalty = np.exp(1 - 1 / ratio)
    return np.where(ratio < 1, bleu * penalty, bleu)


def bleu1_from_stats(summed: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Aggregator ``coco_bleu1``."""
    return bleu_from_stats(summed, 1)


def bleu2_from_stats(summed: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Aggregator ``coco_bleu2``."""
    return bleu_from_stats(summed, 2)


def bleu3_from_stats(summed: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Aggregator ``coco_bleu3``."""
    return bleu_from_stats(summed, 3)


def bleu4_from_stats(summed: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Aggregator ``coco_bleu4``."""
    return bleu_from_stats(summed, 4)
