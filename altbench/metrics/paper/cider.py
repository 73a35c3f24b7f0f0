"""CIDEr-D of pycocoevalcap 1.2's ``CiderScorer``, on ``str.split()`` tokens, with fixed document frequencies.

Deliberate reimplementation for speed: ``CiderScorer`` rebuilds every reference's tf-idf vectors with
numpy scalar arithmetic for each item. Here the n-grams of all hypotheses and references (and of the df
documents when they differ from the references) are counted at once (:mod:`paper_ngrams`) and the
scorer's float operations are replayed in its order with numpy:

* weight of an n-gram = ``log(#documents) - log(max(1, df))`` (numpy scalar logs, as the scorer);
* vector entry = tf x weight; norm = sqrt of the squares summed in insertion order (``np.bincount`` adds
  sequentially; squares are taken with libm ``pow`` like numpy's scalar power, which is not always
  ``v * v``, and not numpy's SIMD array power);
* per order: sum, in the hypothesis' insertion order, of ``min(h, r) * r`` over shared n-grams, divided by
  the norms' product when both are non-zero, times ``e ** (-(delta ** 2) / (2 sigma ** 2))`` (Python
  ``pow``, as the scorer); summed over references, numpy ``mean`` over the 4 orders, / #refs, x 10.

Quirks kept: ``ref_len = log(number of documents)``, so scoring a single document gives 0; an n-gram
missing from the df corpus gets df = 1 (log 1 = 0); the "length" in the penalty is the number of
*bigrams* (``len(words) - 1``, or 0); no lower-casing or punctuation handling.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import numpy as np

from altbench.metrics.paper.ngrams import encode_split, iter_encoded_tables, unique_sorted

N, SIGMA = 4, 6.0


def _squares(v: np.ndarray) -> np.ndarray:
    return np.fromiter(map(pow, v.tolist(), repeat(2)), dtype=np.float64, count=len(v))


def cider_d(
    references: Sequence[Sequence[str]],
    predictions: Sequence[str],
    df_references: Sequence[Sequence[str]],
    n: int = N,
    sigma: float = SIGMA,
) -> np.ndarray:
    """Per-item CIDEr-D (0..10 scale) of predictions[i] against references[i]."""
    n_items = len(predictions)
    # item_blocks' layout (refs of item 0, its hypothesis, refs of item 1, ...), from the counts alone
    n_refs = np.array([len(refs) for refs in references], dtype=np.int64)
    hyp_doc = np.cumsum(n_refs + 1) - 1
    ref_start = hyp_doc - n_refs
    doc_block = np.repeat(np.arange(n_items, dtype=np.int64), n_refs + 1)
    is_hyp = np.zeros(len(doc_block), dtype=bool)
    is_hyp[hyp_doc] = True
    separate_df = [tuple(r) for r in df_references] != [tuple(r) for r in references]
    if separate_df:  # extra blocks: one per df document (its references)
        extra = np.repeat(np.arange(len(df_references)) + n_items, [len(refs) for refs in df_references])
        doc_block = np.r_[doc_block, extra.astype(np.int64)]
        is_hyp = np.r_[is_hyp, np.zeros(len(extra), dtype=bool)]

    def texts():
        for refs, pred in zip(references, predictions):
            yield from refs
            yield pred
        if separate_df:
            for refs in df_references:
                yield from refs

    ids, lengths, n_words = encode_split(texts())  # word ids, not lists of split strings (memory)
    n_docs = len(lengths)
    tables = iter_encoded_tables(ids, lengths, n_words, doc_block, n)  # one order at a time (memory)
    del ids

    ref_docs = np.flatnonzero(~is_hyp[: int(hyp_doc[-1]) + 1]) if n_items else np.zeros(0, np.int64)
    ref_item = doc_block[ref_docs]  # (item, reference) pairs are the item's reference documents
    bigrams = np.maximum(lengths - 1, 0)
    penalties: dict[int, float] = {}
    pair_penalty = np.zeros(n_docs)
    for d, delta in zip(ref_docs.tolist(), (bigrams[hyp_doc[ref_item]] - bigrams[ref_docs]).tolist()):
        pen = penalties.get(delta)
        if pen is None:
            x = float(delta)
            pen = penalties[delta] = np.e ** (-(x**2) / (2 * sigma**2))
        pair_penalty[d] = pen
    ref_len = np.log(float(len(df_references)))
    max_refs = int(np.max(hyp_doc - ref_start, initial=0))

    sims = np.zeros((n_items, n))
    for k, t in enumerate(tables):
        if not len(t.doc):
            continue
        hyp = is_hyp[t.doc]
        run_starts = np.flatnonzero(np.r_[True, t.run[1:] != t.run[:-1]])
        # document frequency: number of df documents (blocks) with the n-gram in any of their references
        in_df = (t.block >= n_items) if separate_df else ~hyp
        run_in_df = np.maximum.reduceat(in_df.astype(np.int64), run_starts) > 0
        df = np.bincount(t.gram[run_starts[run_in_df]], minlength=t.n_grams)
        counts = unique_sorted(df)
        weight_of_count = np.array([float(ref_len - np.log(max(1.0, float(c)))) for c in counts.tolist()])
        weight = weight_of_count[np.searchsorted(counts, df)]

        vec = t.count.astype(np.float64) * weight[t.gram]
        # squares with libm pow: per n-gram for tf == 1 (vec is then the weight itself), else per group
        sq = _squares(weight)[t.gram]
        multi = np.flatnonzero(t.count != 1)
        sq[multi] = _squares(vec[multi])
        rows = t.row_group  # insertion order: sums below run in the scorer's order
        norm = np.sqrt(np.bincount(t.doc[rows], weights=sq[rows], minlength=n_docs))

        # the hypothesis' groups in insertion order; an item's reference groups of the same n-gram sit
        # just before it in sorted order (same run)
        h = rows[hyp[rows]]
        parts = []
        for j in range(1, max_refs + 1):
            cand = h - j
            ok = cand >= 0
            ok[ok] = t.run[cand[ok]] == t.run[h[ok]]
            parts.append((np.flatnonzero(ok), t.doc[cand[ok]], vec[h[ok]], vec[cand[ok]]))
        pos = np.concatenate([p[0] for p in parts])
        pair, hv, rv = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
        if max_refs > 1:  # per pair, in the hypothesis' insertion order
            order = np.argsort(pos, kind="stable")
            pair, hv, rv = pair[order], hv[order], rv[order]
        dot = np.bincount(pair, weights=np.minimum(hv, rv) * rv, minlength=n_docs).astype(np.float64)
        dot = dot[ref_docs]
        nh, nr = norm[hyp_doc[ref_item]], norm[ref_docs]
        both = (nh != 0) & (nr != 0)
        dot[both] /= nh[both] * nr[both]
        dot *= pair_penalty[ref_docs]
        sims[:, k] = np.bincount(ref_item, weights=dot, minlength=n_items)
        # drop this order's arrays before the next order's table is built
        del t, hyp, run_starts, in_df, run_in_df, df, weight, vec, sq, multi, rows, norm, h, parts
        del pos, pair, hv, rv, dot, nh, nr, both
    nrefs = (hyp_doc - ref_start).astype(np.float64)
    return np.mean(sims, axis=1) / nrefs * 10.0
