"""Vectorised n-gram counting for many token lists at once (used by the fast BLEU and CIDEr-D).

Documents are laid out in *blocks*: an item's references followed by its hypothesis (and, for CIDEr-D,
extra blocks of document-frequency references). Words get integer ids (one Python dict pass). For each
order k, the n-gram starting at a position is the (k-1)-gram id there paired with the next word id (a key
below #positions x #words, so any length stays in int64); one stable sort of that key (ties stay in
position, hence document, order) numbers the distinct n-grams and groups equal n-grams of a document
("groups": one per (n-gram, document), with its count). Sorted that way, the groups of one n-gram in one
block are adjacent, references before the hypothesis, so joining a hypothesis with its own references
needs no look-up.

``OrderTable.row_group`` lists the groups in *insertion order*: by document, then first occurrence -- the
order in which a Counter/defaultdict counting left to right holds them, which fixes the order of
floating-point sums downstream.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np


@dataclass(frozen=True)
class OrderTable:
    """Groups of one n-gram order, sorted by (n-gram, document): ``gram``, ``doc``, ``count``, ``block``.

    ``run`` numbers the runs of groups with the same (n-gram, block); ``row_group`` is the insertion order
    (see module docstring).
    """

    gram: np.ndarray
    doc: np.ndarray
    count: np.ndarray
    block: np.ndarray
    run: np.ndarray
    row_group: np.ndarray
    n_grams: int


def ngram_tables(docs: Sequence[Sequence[str]], doc_block: np.ndarray, max_n: int = 4) -> list[OrderTable]:
    """Tables for orders 1..max_n. ``doc_block[d]`` is the block of document d (non-decreasing in d)."""
    return list(iter_ngram_tables(docs, doc_block, max_n))


def iter_ngram_tables(docs: Sequence[Sequence[str]], doc_block: np.ndarray, max_n: int = 4):
    """:func:`ngram_tables` one order at a time: a consumer that drops each table before asking for the
    next holds one order's arrays, not all of them (at 200,000 items, about a gigabyte less)."""
    flat = [w for d in docs for w in d]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(flat))}
    ids = np.array(list(map(vocab.__getitem__, flat)), dtype=np.int64)
    lengths = np.array(list(map(len, docs)), dtype=np.int64)
    v = len(vocab)
    del flat, vocab
    return iter_encoded_tables(ids, lengths, v, doc_block, max_n)


def encode_split(texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """(word ids, document lengths, vocabulary size) of ``str.split()`` of each text, ids numbered by first
    occurrence (as :func:`ngram_tables` numbers them), without keeping the split lists: at 200,000 items
    those are millions of short strings (hundreds of megabytes) alive at once."""
    vocab: dict[str, int] = {}
    ids = array("q")
    lengths = array("q")
    it = iter(texts)
    while batch := [t.split() for t in islice(it, 8192)]:  # a few thousand texts' words at a time
        flat = [w for words in batch for w in words]
        for w in dict.fromkeys(flat):  # new words in first-occurrence order
            if w not in vocab:
                vocab[w] = len(vocab)
        ids.extend(map(vocab.__getitem__, flat))
        lengths.extend(map(len, batch))
    return np.frombuffer(ids, dtype=np.int64), np.frombuffer(lengths, dtype=np.int64), len(vocab)


def iter_encoded_tables(ids: np.ndarray, lengths: np.ndarray, n_words: int, doc_block: np.ndarray,
                        max_n: int = 4):
    """:func:`iter_ngram_tables` of documents given as word ids (``lengths[d]`` words each)."""
    doc_block = np.asarray(doc_block, dtype=np.int64)
    n_docs = len(lengths)
    v = max(n_words, 1)
    doc_all = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    remaining = lengths[doc_all] - (np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    at = np.arange(len(ids), dtype=np.int64)  # positions where an n-gram of the current order starts
    gram = ids  # id of the (k-1)-gram starting at each position of `at`
    n_prev = v
    for k in range(1, max_n + 1):
        # the arrays are dropped as soon as they are used up (`del`): at 200,000 items each is ~50 MB
        keep = remaining[at] >= k
        at, gram = at[keep], gram[keep]
        del keep
        combined = gram if k == 1 else gram * v + ids[at + k - 1]  # same word sequence <=> same value
        order = np.argsort(combined, kind="stable")  # ties keep position order, i.e. document order
        sc = combined[order]
        del combined
        sd = doc_all[at][order]
        new_gram = np.r_[True, sc[1:] != sc[:-1]] if len(sc) else np.zeros(0, dtype=bool)
        del sc
        gram_sorted = np.cumsum(new_gram) - 1
        gram = np.empty(len(at), dtype=np.int64)
        gram[order] = gram_sorted
        n_prev = int(new_gram.sum())
        new_doc = np.r_[True, sd[1:] != sd[:-1]] if len(sd) else new_gram
        bounds = np.flatnonzero(new_gram | new_doc)  # one group per (n-gram, document)
        del new_doc
        g_doc, g_gram = sd[bounds], gram_sorted[bounds]
        del sd, gram_sorted
        first = np.minimum.reduceat(order, bounds) if len(bounds) else bounds
        counts = np.diff(np.r_[bounds, len(order)])
        del order, bounds
        slot = np.full(len(at), -1, dtype=np.int64)
        slot[first] = np.arange(len(first))
        del first
        row_group = slot[slot >= 0]  # groups by first occurrence: document, then position
        del slot
        g_block = doc_block[g_doc]
        new_run = (
            np.r_[True, (g_gram[1:] != g_gram[:-1]) | (g_block[1:] != g_block[:-1])]
            if len(g_doc)
            else new_gram
        )
        del new_gram
        table = OrderTable(
            gram=g_gram,
            doc=g_doc,
            count=counts,
            block=g_block,
            run=np.cumsum(new_run) - 1,
            row_group=row_group,
            n_grams=n_prev,
        )
        # only `at` and `gram` carry over to the next order; the rest would stay alive across the yield
        del row_group, g_doc, g_gram, g_block, new_run, counts
        yield table
        del table


def item_blocks(references: Sequence[Sequence[object]], hypotheses: Sequence[object]):
    """Documents [refs of item 0, hyp 0, refs of item 1, hyp 1, ...] with their block (= item) and role.

    Returns (docs, doc_block, is_hyp, hyp_doc, ref_doc_start): hyp_doc[i] is item i's hypothesis document;
    item i's references are documents ref_doc_start[i] .. hyp_doc[i] - 1.
    """
    docs: list = []
    doc_block: list[int] = []
    for i, (refs, hyp) in enumerate(zip(references, hypotheses)):
        docs.extend(refs)
        docs.append(hyp)
        doc_block.extend([i] * (len(refs) + 1))
    n_refs = np.array([len(r) for r in references], dtype=np.int64)
    hyp_doc = np.cumsum(n_refs + 1) - 1
    is_hyp = np.zeros(len(docs), dtype=bool)
    is_hyp[hyp_doc] = True
    return docs, np.array(doc_block, dtype=np.int64), is_hyp, hyp_doc, hyp_doc - n_refs


def unique_sorted(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by sorting (numpy 2's hash-based unique degrades on these structured int keys)."""
    s = np.sort(a)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s
