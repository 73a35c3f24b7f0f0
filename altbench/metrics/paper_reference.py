"""Reference implementation of the `paper` scoring convention: a plain per-item loop over the libraries.

This is the slow, obviously-correct transcription of the MCM-DPO reference scorer (see
docs/paper-protocol.md, "Scoring of the reference code"). :mod:`altbench.metrics.paper` is the fast path
and is tested against this module to 1e-9; change both together.

Per item, with ``resp = strip_response(prediction)`` and ``ref`` each reference string:

* tokens: ``nltk.word_tokenize`` (case kept);
* ``bleu4`` / ``bleu1`` / ``bleu4_cum``: ``nltk.translate.bleu_score.sentence_bleu`` with weights
  (0,0,0,1) / (1,0,0,0) / (.25,.25,.25,.25), no smoothing (nltk's method0 warnings are silenced);
* ``meteor``: ``nltk.translate.meteor_score.meteor_score`` with its defaults;
* ``rougeL``: ``rouge.Rouge().get_scores(resp, ref)[0]['rouge-l']['f']`` on the raw strings; an empty
  response, or any exception in the package, scores 0 (see :func:`rouge_l_f`);
* ``cider``: CIDEr-D (pycocoevalcap's CiderScorer: n=4, sigma=6, clipped, Gaussian length penalty, x10) on
  ``str.split()`` tokens, no lower-casing, document frequencies from the references of the whole file;
* ``edit_distance``: Levenshtein distance between the word-token lists (lower is better).

Each metric is reported as ``round(mean over items, 5) * 100``. With several references per item (the
paper has exactly one) BLEU/METEOR/CIDEr use them as their libraries do, ROUGE-L takes the best and edit
distance the smallest.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

ASSISTANT_PREFIX = "Assistant:"
METRICS = ("bleu4", "bleu1", "bleu4_cum", "meteor", "rougeL", "cider", "edit_distance")
BLEU_WEIGHTS = {"bleu4": (0, 0, 0, 1), "bleu1": (1, 0, 0, 0), "bleu4_cum": (0.25, 0.25, 0.25, 0.25)}
ROUND_DIGITS = 5
SCALE = 100

# The reference scorer called `Rouge().get_scores` from a shallow script under Python's default recursion
# limit (1000), and rouge 1.0.1 rebuilds each LCS with a recursive `_recon`: a long sentence pair
# (hundreds of words without a '.') raises RecursionError, which the scorer turned into a 0. To make that
# deterministic whatever the caller's stack (pytest, C frames, ...), a pair that could get near the limit
# is scored in a fresh thread (its own recursion count) with the limit set ROUGE_STACK_HEADROOM frames
# above the thread's depth (990 = 1000 minus the ~10 frames of a script's call path); shorter pairs, which
# cannot get near it, are scored in place with ample headroom.
ROUGE_STACK_HEADROOM = 990
ROUGE_DIRECT_MAX_WORDS = 800


def strip_response(response: str) -> str:
    """Drop one leading literal ``Assistant:`` (case-sensitive), then surrounding white space."""
    response = response.removeprefix(ASSISTANT_PREFIX)
    return response.strip()


def paper_round(mean: float) -> float:
    return round(mean, ROUND_DIGITS) * SCALE


def _stack_depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


def _rouge_f(hyp: str, ref: str, headroom: int) -> float:
    from rouge import Rouge

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + headroom)
    try:
        return float(Rouge().get_scores(hyp, ref)[0]["rouge-l"]["f"])
    except Exception:  # noqa: BLE001 - the reference scored any failure of the package as 0
        return 0.0
    finally:
        sys.setrecursionlimit(old)


def rouge_l_f(hyp: str, ref: str) -> float:
    """The reference's ROUGE-L: F of rouge 1.0.1 on raw strings; empty hyp or any exception -> 0."""
    if len(hyp) == 0:
        return 0.0
    # _recon nests at most (words of a reference sentence + words of a hypothesis sentence + 1) deep
    bound = len(hyp.split()) + len(ref.split()) + hyp.count(".") + ref.count(".") + 2
    if bound < ROUGE_DIRECT_MAX_WORDS:
        return _rouge_f(hyp, ref, 10 * ROUGE_STACK_HEADROOM)
    result: list[float] = []
    worker = threading.Thread(target=lambda: result.append(_rouge_f(hyp, ref, ROUGE_STACK_HEADROOM)))
    worker.start()
    worker.join()
    return result[0]


def levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    """Plain Levenshtein distance (unit costs). Equals ``nltk.edit_distance`` on lists, which in
    nltk 3.10 refuses inputs longer than 2,000 items; the reference had no such limit."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


# --- CIDEr-D: pycocoevalcap/cider/cider_scorer.py, transcribed, on str.split() tokens -------------------


def _precook(s: str, n: int = 4) -> dict:
    words = s.split()
    counts: dict = defaultdict(int)
    for k in range(1, n + 1):
        for i in range(len(words) - k + 1):
            counts[tuple(words[i : i + k])] += 1
    return counts


def cider_d(
    references: Sequence[Sequence[str]],
    predictions: Sequence[str],
    df_references: Sequence[Sequence[str]],
    n: int = 4,
    sigma: float = 6.0,
) -> list[float]:
    """Per-item CIDEr-D exactly as CiderScorer.compute_cider, but with df from ``df_references``."""
    document_frequency: dict = defaultdict(float)
    for refs in df_references:
        for ngram in {ng for ref in refs for ng in _precook(ref, n)}:
            document_frequency[ngram] += 1
    ref_len = np.log(float(len(df_references)))

    def counts2vec(cnts):
        vec = [defaultdict(float) for _ in range(n)]
        length = 0
        norm = [0.0 for _ in range(n)]
        for ngram, term_freq in cnts.items():
            df = np.log(max(1.0, document_frequency.get(ngram, 0.0)))
            k = len(ngram) - 1
            vec[k][ngram] = float(term_freq) * (ref_len - df)
            norm[k] += pow(vec[k][ngram], 2)
            if k == 1:
                length += term_freq
        return vec, [np.sqrt(x) for x in norm], length

    def sim(vec_hyp, vec_ref, norm_hyp, norm_ref, length_hyp, length_ref):
        delta = float(length_hyp - length_ref)
        val = np.array([0.0 for _ in range(n)])
        for k in range(n):
            for ngram in vec_hyp[k]:
                val[k] += min(vec_hyp[k][ngram], vec_ref[k][ngram]) * vec_ref[k][ngram]
            if (norm_hyp[k] != 0) and (norm_ref[k] != 0):
                val[k] /= norm_hyp[k] * norm_ref[k]
            val[k] *= np.e ** (-(delta**2) / (2 * sigma**2))
        return val

    scores = []
    for hyp, refs in zip(predictions, references):
        vec, norm, length = counts2vec(_precook(hyp, n))
        score = np.array([0.0 for _ in range(n)])
        for ref in refs:
            vec_ref, norm_ref, length_ref = counts2vec(_precook(ref, n))
            score += sim(vec, vec_ref, norm, norm_ref, length, length_ref)
        score_avg = np.mean(score)
        score_avg /= len(refs)
        score_avg *= 10.0
        scores.append(float(score_avg))
    return scores


def score_reference(
    references: Sequence[Sequence[str]],
    predictions: Sequence[str],
    df_references: Sequence[Sequence[str]] | None = None,
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Score like the reference code. Returns (reported values, per-item raw scores) keyed by metric."""
    import nltk
    from nltk.translate.bleu_score import sentence_bleu
    from nltk.translate.meteor_score import meteor_score

    from altbench.metrics.nltk_data import ensure_nltk_data

    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references for {len(predictions)} predictions")
    ensure_nltk_data()
    per_item: dict[str, list[float]] = {m: [] for m in METRICS}
    responses = [strip_response(p) for p in predictions]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns on every zero n-gram precision
        for refs, resp in zip(references, responses):
            ref_toks = [nltk.word_tokenize(r) for r in refs]
            hyp_toks = nltk.word_tokenize(resp)
            for name, weights in BLEU_WEIGHTS.items():
                per_item[name].append(float(sentence_bleu(ref_toks, hyp_toks, weights=weights)))
            per_item["meteor"].append(float(meteor_score(ref_toks, hyp_toks)))
            per_item["rougeL"].append(max(rouge_l_f(resp, r) for r in refs))
            per_item["edit_distance"].append(float(min(levenshtein(t, hyp_toks) for t in ref_toks)))
    per_item["cider"] = cider_d(references, responses, references if df_references is None else df_references)
    values = {m: paper_round(float(np.mean(per_item[m]))) if per_item[m] else 0.0 for m in METRICS}
    return values, per_item
