"""ROUGE-L exactly as pycocoevalcap's ``Rouge()`` computes it, with a bit-parallel LCS.

pycocoevalcap fills a full dynamic-programming table per pair in Python (O(m * n) list operations: slow for
long captions, about 1.3 s for 20,000 short items). The LCS *length* is an integer, so any exact algorithm
gives the same number; here it is the bit-vector algorithm of Allison-Dix / Hyyro (one big-int step a token).
The rest is ``Rouge.calc_score`` verbatim: tokens from ``split(" ")`` (an empty caption is one empty token, so
an empty prediction against an empty reference scores 1.0), precision and recall maximised separately over
references, F with beta = 1.2.
"""

from __future__ import annotations

from collections.abc import Sequence

BETA = 1.2


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if len(a) < len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, tok in enumerate(b):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(b)) - 1
    v = full
    for tok in a:
        m = masks.get(tok)
        if m:
            u = v & m
            v = ((v + u) | (v - u)) & full
    return len(b) - v.bit_count()


def item_score(candidate: str, references: Sequence[str]) -> float:
    token_c = candidate.split(" ")
    prec, rec = [], []
    for reference in references:
        token_r = reference.split(" ")
        lcs = lcs_length(token_r, token_c)
        prec.append(lcs / float(len(token_c)))
        rec.append(lcs / float(len(token_r)))
    prec_max, rec_max = max(prec), max(rec)
    if prec_max != 0 and rec_max != 0:
        return ((1 + BETA ** 2) * prec_max * rec_max) / float(rec_max + BETA ** 2 * prec_max)
    return 0.0
