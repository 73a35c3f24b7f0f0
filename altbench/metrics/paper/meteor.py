"""METEOR exactly as ``nltk.translate.meteor_score.meteor_score`` (nltk 3.10, default arguments), cached.

Deliberate reimplementation for speed: nltk's METEOR is pure Python and spends its time in the Porter
stemmer and in ``wordnet.synsets`` (morphy + index look-ups), redone for every word of every item. This
module transcribes nltk's three alignment stages (exact, Porter stem, WordNet synonym) and scoring
formula unchanged, but memoises the two pure functions of a word:

* ``_stem(w)`` = ``PorterStemmer().stem(w)`` (nltk's default stemmer, mode NLTK_EXTENSIONS);
* ``_synonyms(w)`` = the set nltk builds in ``_enum_wordnetsyn_match``: the names without ``_`` of all
  lemmas of ``wordnet.synsets(w)``, plus ``w``; answered by :func:`altbench.metrics.paper.wordnet.synonyms`
  from a table built once from the same WordNet (no per-process WordNet load).

In the synonym stage nltk scans that set for the candidate whose last remaining reference position is the
highest; candidates are distinct words, so they have distinct positions and the scan order cannot matter:
we intersect with the still-available reference words instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from itertools import pairwise

from altbench.metrics.paper.wordnet import synonyms

ALPHA, BETA, GAMMA = 0.9, 3.0, 0.5


@lru_cache(maxsize=1)
def _stemmer():
    from altbench.metrics import nltk_light

    return nltk_light.module("nltk.stem.porter").PorterStemmer()


@cache
def _stem(word: str) -> str:
    return _stemmer().stem(word)


@cache
def _synonyms(word: str) -> frozenset[str]:
    return synonyms(word)  # = nltk's set from wordnet.synsets(word), from a prebuilt table (.wordnet)


def _align(hyp_words: list[str], ref_words: list[str]) -> list[tuple[int, int]]:
    """nltk's _enum_align_words: (hyp index, ref index) matches, sorted by hyp index."""
    matches: list[tuple[int, int]] = []
    hyp_idx, hyp_w = list(range(len(hyp_words))), hyp_words
    ref_idx, ref_w = list(range(len(ref_words))), ref_words
    # exact stage, then the stem stage on what is left: nltk's _match_enums, hypothesis right to left,
    # each word taking the last free reference position of the same (stemmed) word
    for stage in (0, 1):
        if not hyp_w or not ref_w:
            return sorted(matches)  # later stages cannot match anything
        if stage == 1:
            hyp_w = [_stem(w) for w in hyp_w]
            ref_w = [_stem(w) for w in ref_w]
        positions: dict[str, list[int]] = {}
        for j, w in enumerate(ref_w):
            positions.setdefault(w, []).append(j)
        ref_free = [True] * len(ref_w)
        hyp_left = []
        for i in range(len(hyp_w) - 1, -1, -1):
            p = positions.get(hyp_w[i])
            if p:
                j = p.pop()
                ref_free[j] = False
                matches.append((hyp_idx[i], ref_idx[j]))
            else:
                hyp_left.append(i)
        hyp_left.reverse()
        hyp_idx, hyp_w = [hyp_idx[i] for i in hyp_left], [hyp_w[i] for i in hyp_left]
        ref_left = [j for j, free in enumerate(ref_free) if free]
        ref_idx, ref_w = [ref_idx[j] for j in ref_left], [ref_w[j] for j in ref_left]
    # WordNet synonym stage on the stemmed leftovers, as nltk does
    if hyp_w and ref_w:
        positions = {}
        for j, w in enumerate(ref_w):
            positions.setdefault(w, []).append(j)
        available = set(positions)
        for i in range(len(hyp_w) - 1, -1, -1):
            best_j, best_word = -1, None
            for syn in _synonyms(hyp_w[i]) & available:
                last = positions[syn][-1]
                if last > best_j:
                    best_j, best_word = last, syn
            if best_word is not None:
                positions[best_word].pop()
                if not positions[best_word]:
                    available.discard(best_word)
                matches.append((hyp_idx[i], ref_idx[best_j]))
    matches.sort()  # by hypothesis index (unique)
    return matches


def _count_chunks(matches: list[tuple[int, int]]) -> int:
    chunks = 1
    for (h0, r0), (h1, r1) in pairwise(matches):
        if not (h1 == h0 + 1 and r1 == r0 + 1):
            chunks += 1
    return chunks


def single_meteor(ref_tokens: Sequence[str], hyp_tokens: Sequence[str]) -> float:
    hyp_words = [w.lower() for w in hyp_tokens]
    ref_words = [w.lower() for w in ref_tokens]
    translation_length, reference_length = len(hyp_words), len(ref_words)
    matches = _align(hyp_words, ref_words)
    matches_count = len(matches)
    try:
        precision = float(matches_count) / translation_length
        recall = float(matches_count) / reference_length
        fmean = (precision * recall) / (ALPHA * precision + (1 - ALPHA) * recall)
        chunk_count = float(_count_chunks(matches))
        frag_frac = chunk_count / matches_count
    except ZeroDivisionError:
        return 0.0
    penalty = GAMMA * frag_frac**BETA
    return (1 - penalty) * fmean


def meteor(ref_tokens: Sequence[Sequence[str]], hyp_tokens: Sequence[str]) -> float:
    """``meteor_score(ref_tokens, hyp_tokens)``: the best single-reference score."""
    return max(single_meteor(r, hyp_tokens) for r in ref_tokens)
