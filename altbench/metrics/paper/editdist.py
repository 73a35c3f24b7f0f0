"""Levenshtein distance between token lists, bit-parallel (Myers 1999 / Hyyrö 2001).

Deliberate reimplementation for speed: the O(len(a) * len(b)) dynamic programme of
``paper_reference.levenshtein`` (= ``nltk.edit_distance`` with unit costs, no transpositions) becomes one
pass over ``b`` with Python ints as bit vectors over ``a``'s positions. Integer result, no rounding.
"""

from __future__ import annotations

from collections.abc import Sequence


def levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    m = len(a)
    if m == 0:
        return len(b)
    peq: dict[str, int] = {}
    for i, tok in enumerate(a):
        peq[tok] = peq.get(tok, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    vp, vn, score = full, 0, m
    for tok in b:
        eq = peq.get(tok, 0)
        xv = eq | vn
        xh = (((eq & vp) + vp) ^ vp) | eq
        hp = vn | (~(xh | vp) & full)
        hn = vp & xh
        if hp & top:
            score += 1
        elif hn & top:
            score -= 1
        hp = ((hp << 1) | 1) & full
        hn = (hn << 1) & full
        vp = hn | (~(xv | hp) & full)
        vn = hp & xv
    return score
