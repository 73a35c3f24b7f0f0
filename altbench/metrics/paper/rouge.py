"""ROUGE-L F exactly as the reference computed it with the ``rouge`` package 1.0.1, without the package.

Deliberate reimplementation for speed (rouge 1.0.1 fills a dict-of-tuples LCS table and rebuilds the LCS
recursively). What ``Rouge().get_scores(hyp, ref, avg=True)['rouge-l']['f']`` computes, read from its
source:

* sentences: ``[" ".join(s.split()) for s in text.split(".") if len(s) > 0]`` -- a part made only of
  white space survives as the sentence ``""``; words: ``sentence.split(" ")`` (so ``""`` can be a word);
  case-sensitive; no other normalisation;
* m, n: numbers of *distinct* words in the reference / hypothesis (``Ngrams`` is a set);
* for each reference sentence r and each hypothesis sentence c, the LCS of (r, c) is rebuilt by
  ``_recon`` (match -> diagonal; else up if T[i-1][j] > T[i][j-1], else left) and its *words* are added
  to one set shared across all sentences; LCS_union = size of that set;
* R = LCS_union / m, P = LCS_union / n, F = 2 * (P * R) / (P + R + 1e-8).

The reference calls ``Rouge().get_scores(hyp, ref, avg=True)['rouge-l']['f']``: with one pair the average
is ``(0 + F) / 1``, the same float. It scores 0 when the response is empty and when the package raises:
``ValueError`` when the hypothesis or reference has no sentence (e.g. only dots), and ``RecursionError``
when ``_recon`` nests deeper than get_score.py's ``sys.setrecursionlimit(10 ** 5)`` allows from its call
path: :data:`MAX_RECON_DEPTH` = 99,978 nested calls (derived in :mod:`altbench.metrics.paper.reference`,
whose transcription runs the real package under that limit; tested against it), i.e. a sentence
pair of about 100,000 words -- practically never.

The LCS table rows are computed bit-parallel (Allison-Dix/Hyyrö: bit j of row i is clear where
T[i][j+1] = T[i][j] + 1), so T[i][j] = j - popcount(row_i & (2^j - 1)) and the trace needs two popcounts
per step.
"""

from __future__ import annotations

from altbench.metrics.paper.reference import MAX_RECON_DEPTH  # nested _recon calls that succeed: 99,978


def sentences(text: str) -> list[list[str]]:
    return [" ".join(s.split()).split(" ") for s in text.split(".") if len(s) > 0]


def recon_words(x: list[str], y: list[str]) -> tuple[set[str], int]:
    """(words of rouge's reconstructed LCS of x (reference) and y (hypothesis), nesting depth of _recon).

    The depth is the number of nested ``_recon`` calls: one per step of the trace from (len(x), len(y))
    until a coordinate reaches 0, plus the innermost call that returns ``[]``."""
    n, m = len(x), len(y)
    full = (1 << m) - 1
    peq: dict[str, int] = {}
    for j, w in enumerate(y):
        peq[w] = peq.get(w, 0) | (1 << j)
    rows = [full]
    v = full
    for w in x:
        u = v & peq.get(w, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    words: set[str] = set()
    i, j, moves = n, m, 0
    while i > 0 and j > 0:
        if x[i - 1] == y[j - 1]:
            words.add(x[i - 1])
            i -= 1
            j -= 1
        else:
            mask = (1 << j) - 1
            up = j - (rows[i - 1] & mask).bit_count()  # T[i-1][j]
            left = (j - 1) - (rows[i] & (mask >> 1)).bit_count()  # T[i][j-1]
            if up > left:
                i -= 1
            else:
                j -= 1
        moves += 1
    return words, moves + 1


def rouge_l(hyp: str, ref: str) -> float:
    """The reference's ROUGE-L F for one (response, reference) pair."""
    if len(hyp) == 0:
        return 0.0
    hyp_sents, ref_sents = sentences(hyp), sentences(ref)
    if not hyp_sents or not ref_sents:
        return 0.0  # rouge raises ValueError ("Hypothesis is empty." / "Reference is empty.")
    m = len({w for s in ref_sents for w in s})
    n = len({w for s in hyp_sents for w in s})
    union: set[str] = set()
    for x in ref_sents:
        for y in hyp_sents:
            words, depth = recon_words(x, y)
            if depth > MAX_RECON_DEPTH:
                return 0.0  # RecursionError in rouge's _recon
            union |= words
    llcs = len(union)
    r_lcs = llcs / m
    p_lcs = llcs / n
    return 2.0 * ((p_lcs * r_lcs) / (p_lcs + r_lcs + 1e-8))
