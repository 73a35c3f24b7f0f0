"""n-gram counts of tokenized captions, shared by the BLEU and CIDEr-D re-implementations.

pycocoevalcap's ``bleu_scorer.precook`` and ``cider_scorer.precook`` both split on *any* white space
(``str.split()``: also the U+00A0 the PTB tokenizer leaves inside tokens such as ``3 1/2``, while its ROUGE-L
splits on ``" "`` only) and count 1..4-grams into one dict in first-occurrence order, all unigrams first.
:func:`ngram_counts` returns one ``Counter`` per order; each keeps that first-occurrence order, which
CIDEr-D's floating-point sums depend on. Unigram keys are strings, longer n-grams tuples. Counts are made per
item when it is scored and then dropped (not memoised): at 200,000 items, keeping them cost ~3 GB.
"""

from __future__ import annotations

from collections import Counter


def ngram_counts(caption: str) -> tuple[list[Counter], int]:
    """(counts of 1-, 2-, 3- and 4-grams; number of words)."""
    w = caption.split()
    w1, w2, w3 = w[1:], w[2:], w[3:]
    return [Counter(w), Counter(zip(w, w1)), Counter(zip(w, w1, w2)), Counter(zip(w, w1, w2, w3))], len(w)
