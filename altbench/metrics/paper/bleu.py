"""Sentence BLEU exactly as ``nltk.translate.bleu_score.sentence_bleu`` (no smoothing), several weights at once.

Deliberate reimplementation for speed: nltk builds Counters, ``Fraction`` objects and generator pipelines
per call and recounts the n-grams for every weight vector. We count and clip the n-grams of all items at
once (:mod:`paper_ngrams`, integer counts, so order does not matter) and replay nltk's floating-point
arithmetic per item in the same order (nltk 3.10 ``corpus_bleu`` with one segment):

* modified precision p_n = clipped / max(1, number of hypothesis n-grams), clipped against the maximum
  count over the references;
* if p_1 has a zero numerator (no unigram match, or an empty hypothesis) the score is 0;
* otherwise method0 replaces each p_n with a zero numerator by ``sys.float_info.min`` (so a missing 4-gram
  match gives ~1e-308 x BP, not 0), and the score is ``bp * exp(fsum(w_n * log(p_n)))`` where
  ``log(p_n)`` is ``math.log`` of the correctly rounded ``numerator / denominator`` (what ``math.log`` of a
  ``Fraction`` computes);
* BP = 1 if c > r, 0 if c == 0, else exp(1 - r / c), r the closest reference length (ties: shorter).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from operator import mul

import numpy as np

from altbench.metrics.paper.ngrams import item_blocks, iter_ngram_tables

MAX_N = 4


def closest_ref_length(ref_lens: Sequence[int], hyp_len: int) -> int:
    return min(ref_lens, key=lambda ref_len: (abs(ref_len - hyp_len), ref_len))


def brevity_penalty(closest_ref_len: int, hyp_len: int) -> float:
    if hyp_len > closest_ref_len:
        return 1
    if hyp_len == 0:
        return 0
    return math.exp(1 - closest_ref_len / hyp_len)


def bleu_from_stats(
    nums: Sequence[int], dens: Sequence[int], bp: float, weight_sets: Sequence[Sequence[float]]
) -> list[float]:
    """nltk's score for each weight vector, from clipped counts, totals and the brevity penalty."""
    if nums[0] == 0:
        return [0.0] * len(weight_sets)
    logs = [math.log(nu / de) if nu != 0 else _LOG_MIN for nu, de in zip(nums, dens)]
    return [float(bp * math.exp(math.fsum(map(mul, ws, logs)))) for ws in weight_sets]


_LOG_MIN = math.log(sys.float_info.min)


def clipped_counts(
    references: Sequence[Sequence[Sequence[str]]], hypotheses: Sequence[Sequence[str]], max_n: int = MAX_N
) -> np.ndarray:
    """(items, max_n) numerators of nltk's modified precision: hypothesis n-gram counts clipped by the
    maximum count in any reference of the item."""
    docs, doc_block, is_hyp, _, _ = item_blocks(references, hypotheses)
    n_items = len(hypotheses)
    nums = np.zeros((n_items, max_n), dtype=np.int64)
    for k, t in enumerate(iter_ngram_tables(docs, doc_block, max_n)):  # one order at a time (memory)
        if not len(t.doc):
            continue
        hyp = is_hyp[t.doc]
        run_starts = np.flatnonzero(np.r_[True, t.run[1:] != t.run[:-1]])
        # per (n-gram, item): the largest count among the item's references (its hypothesis excluded)
        ref_max = np.maximum.reduceat(np.where(hyp, 0, t.count), run_starts)
        h = np.flatnonzero(hyp)
        clipped = np.minimum(t.count[h], ref_max[t.run[h]])
        nums[:, k] = np.bincount(t.block[h], weights=clipped, minlength=n_items).astype(np.int64)
        del t, hyp, run_starts, ref_max, h, clipped  # before the next order's table is built
    return nums


def sentence_bleu_batch(
    references: Sequence[Sequence[Sequence[str]]],
    hypotheses: Sequence[Sequence[str]],
    weight_sets: Sequence[Sequence[float]],
) -> list[list[float]]:
    """``[[sentence_bleu(refs, hyp, weights=w) for w in weight_sets] for refs, hyp in ...]``."""
    nums = clipped_counts(references, hypotheses).tolist()
    out = []
    for refs, hyp, num in zip(references, hypotheses, nums):
        hyp_len = len(hyp)
        dens = [max(1, hyp_len - k) for k in range(MAX_N)]  # hyp_len - n + 1 n-grams of order n = k + 1
        bp = brevity_penalty(closest_ref_length([len(r) for r in refs], hyp_len), hyp_len)
        out.append(bleu_from_stats(num, dens, bp, weight_sets))
    return out
