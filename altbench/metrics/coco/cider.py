"""CIDEr-D exactly as pycocoevalcap's ``Cider()`` computes it, with document frequencies from a chosen split.

Re-implemented (not called) because pycocoevalcap's ``CiderScorer`` does numpy *scalar* arithmetic per
n-gram and rebuilds every reference vector per item: about 7 s for 20,000 items, the slowest part of its
pipeline after METEOR. The arithmetic here follows ``CiderScorer.compute_cider`` operation for operation, so
values are bit-identical to it:

* idf weight of an n-gram: ``log(N) - log(max(1, df))`` with numpy's ``log`` (it differs from ``math.log`` in
  the last bit now and then), N = number of reference *sets* (items) the df is taken from;
* tf-idf ``tf * weight``; squared norm summed in first-occurrence order with ``x ** 2`` (libm ``pow``,
  which is what numpy's scalar power uses; ``x * x`` differs in rare last bits);
* clipped similarity ``min(h, r) * r`` summed over the hypothesis n-grams in first-occurrence order,
  divided by the product of norms when both are non-zero, times ``e ** (-(delta ** 2) / (2 * sigma ** 2))``
  where delta is the difference in *bigram* counts (pycocoevalcap's "length" counts 2-grams);
* per item: ``np.mean`` of the four order scores, / number of references, * 10; corpus: ``np.mean``.

pycocoevalcap takes df over the references it is given; :func:`document_frequency` takes any reference sets
(the whole split), which equals pycocoevalcap when they are the scored items' references.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

N = 4
SIGMA = 6.0


def document_frequency(reference_sets: Iterable[Sequence[str]]) -> tuple[Counter, int]:
    """(n-gram -> number of reference sets holding it, number of sets), from tokenized reference sets.

    Streams: only the n-gram *sets* of one reference set exist at a time (see :func:`ngram_sets`)."""
    df: Counter = Counter()
    n_sets = 0
    for refs in reference_sets:
        n_sets += 1
        seen: set = set()
        for caption in refs:
            seen.update(ngram_sets(caption))
        df.update(seen)
    return df, n_sets


def ngram_sets(caption: str) -> set:
    """The distinct 1..4-grams of a caption, keyed as in :func:`~altbench.metrics.coco.ngrams.ngram_counts`
    (unigrams as strings, longer n-grams as tuples)."""
    w = caption.split()
    w1, w2, w3 = w[1:], w[2:], w[3:]
    return {*w, *zip(w, w1), *zip(w, w1, w2), *zip(w, w1, w2, w3)}


class CiderD:
    """CIDEr-D scorer over pre-counted n-grams with a fixed document frequency.

    The idf weight depends on an n-gram's df only, so it is kept per df value (a few hundred distinct
    values), not per n-gram: no second table as large as ``df``."""

    def __init__(self, df: Counter, n_sets: int, sigma: float = SIGMA):
        self._df = df
        ref_len = np.log(float(n_sets))
        self._by_count = {count: float(ref_len - np.log(max(1.0, float(count))))
                          for count in {0, *df.values()}}
        self._sigma = sigma

    def _vec(self, counts: list[Counter]) -> tuple[list[dict], list[float], int]:
        df_get, by_count = self._df.get, self._by_count
        vecs, norms = [], []
        for order in counts:
            vec = {}
            sq = 0.0
            for gram, tf in order.items():
                v = tf * by_count[df_get(gram, 0)]  # int * float converts the int exactly: float(tf) * w
                vec[gram] = v
                sq += v ** 2  # libm pow, as numpy's scalar power in pycocoevalcap (v * v differs rarely)
            vecs.append(vec)
            norms.append(math.sqrt(sq))
        return vecs, norms, sum(counts[1].values())

    def item_score(self, hyp: tuple[list[Counter], int], refs: Sequence[tuple[list[Counter], int]]) -> float:
        vec_h, norm_h, len_h = self._vec(hyp[0])
        total = [0.0] * N
        two_sigma_sq = 2 * self._sigma ** 2
        for ref_counts, _ in refs:
            vec_r, norm_r, len_r = self._vec(ref_counts)
            delta = float(len_h - len_r)
            penalty = math.e ** (-(delta ** 2) / two_sigma_sq)
            for k in range(N):
                vr = vec_r[k]
                val = 0.0
                for gram, vh in vec_h[k].items():  # hypothesis order: float sums depend on it
                    r = vr.get(gram)
                    if r:  # a zero term min(h, 0) * 0 adds nothing
                        val += min(vh, r) * r
                if norm_h[k] != 0 and norm_r[k] != 0:
                    val /= norm_h[k] * norm_r[k]
                total[k] += val * penalty
        score = np.mean(np.array(total))
        score /= len(refs)
        score *= 10.0
        return float(score)
