"""Reference implementation of the `paper` scoring convention: a plain per-item loop over the libraries.

This is the slow, obviously-correct transcription of the MCM-DPO reference scorer: the reference scorer
get_score.py at the pinned commit (github.com/LVUGAI/MCM-DPO, d38dada52783be29a61bd5cdf22ecbadc0281a61,
with the ``cider.py`` it bundles), read line by line. :mod:`altbench.metrics.paper` is the fast path and is
tested against this module to 1e-9; change both together.

Per item, with ``resp = strip_response(prediction)`` and ``ref`` each reference string:

* response: ``re.sub(r'^Assistant:', '', response).strip()`` -- one leading literal ``Assistant:`` (``^``
  without MULTILINE only matches at the start of the string), then surrounding white space; references
  are not stripped;
* tokens: ``nltk.word_tokenize`` (case kept);
* ``bleu4`` / ``bleu1`` / ``bleu4_cum``: ``nltk.translate.bleu_score.sentence_bleu([ref_tokens], tokens,
  weights=...)`` with weights [0,0,0,1] / [1,0,0,0] / [0.25]*4, no smoothing (nltk's method0 warnings
  are silenced);
* ``meteor``: ``nltk.translate.meteor_score.meteor_score([ref_tokens], tokens)`` with its defaults;
* ``rougeL``: ``rouge.Rouge().get_scores(resp, ref, avg=True)['rouge-l']['f']`` (rouge 1.0.1) on the raw
  strings; an empty response scores 0, and any exception in the package adds nothing to the ROUGE sum
  while the item still counts in the mean, i.e. scores 0 (the recursion limit: see below, MAX_RECON_DEPTH);
* ``cider``: the bundled ``cider.py`` ``CiderScorer`` -- the same code as pycocoevalcap 1.2's CIDEr-D
  scorer (n=4, sigma=6, clipped, Gaussian length penalty, x10; only ``six.iteritems`` for ``.items()``
  differs) -- fed ``(resp, [ref])`` for every item, so on ``str.split()`` tokens, no lower-casing, with
  document frequencies from the references of the whole scored file;
* ``edit_distance``: ``editdistance.eval(ref_tokens, tokens)``, the Levenshtein distance between the
  word-token lists (the package compares the tokens' ``hash()``; lower is better).

Reported values (:func:`paper_value`): ``round(mean, 5) * 100`` for every metric except
``'edit_distance': round(mean, 3)`` (no scaling). The mean is the reference's: for CIDEr
``np.mean`` of the per-item scores (``CiderScorer.compute_score``); for the others a running ``+=`` sum
over the items in order divided by the item count (not numpy's pairwise sum: they can differ in the last
bit). With several references per item (the paper has exactly one) BLEU/METEOR/CIDEr use them as their
libraries do, ROUGE-L takes the best and edit distance the smallest.
"""

from __future__ import annotations

import functools
import operator
import sys
import threading
import warnings
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

ASSISTANT_PREFIX = "Assistant:"
METRICS = ("bleu4", "bleu1", "bleu4_cum", "meteor", "rougeL", "cider", "edit_distance")
BLEU_WEIGHTS = {"bleu4": (0, 0, 0, 1), "bleu1": (1, 0, 0, 0), "bleu4_cum": (0.25, 0.25, 0.25, 0.25)}
ROUND_DIGITS = 5  # every metric but the edit distance: round(mean, 5) * 100
SCALE = 100
EDIT_DISTANCE_ROUND_DIGITS = 3  # 'edit_distance': round(chosen_sl_ed_sum / sample_count, 3)
EDIT_DISTANCE_SCALE = 1

# --- ROUGE-L and the recursion limit ---------------------------------------------------------------------
# rouge 1.0.1 rebuilds each LCS with a recursive `_recon`, one nested call per step of the trace, so a long
# sentence pair (words without a '.') nests deeply. get_score.py's first statement after its imports is
# `sys.setrecursionlimit(10 ** 5)`, and it scores each file in a ProcessPoolExecutor worker (Linux: fork).
# The worker is forked inside the main thread's first `executor.submit`, so its recursion depth is the
# parent's at the fork plus the worker's own frames. While `rouge_func` runs that depth is 15 (CPython
# 3.10 and 3.11 alike):
#   <module> -> ProcessPoolExecutor.submit -> _start_executor_manager_thread -> _launch_processes
#   -> _spawn_process -> BaseProcess.start -> ForkProcess._Popen -> [Popen(...): a C-level class call,
#   counted] -> Popen.__init__ -> Popen._launch -> (fork) BaseProcess._bootstrap -> BaseProcess.run
#   -> _process_worker -> one_file -> rouge_func
# then 6 frames inside rouge before the first `_recon`:
#   Rouge.get_scores -> Rouge._get_avg_scores -> <lambda> -> rouge_l_summary_level -> _union_lcs
#   -> _recon_lcs
# and, under the Python 3.10 of the reference's README (`conda create -n mcmdpo python=3.10`), 1 more at
# the innermost `_recon`, whose `i == 0` goes through PyObject_RichCompare (counted; 3.11 specialises it,
# 3.12+ counts C calls separately). Nested `_recon` calls that succeed: 10**5 - 15 - 6 - 1 = 99,978.
# Measured with a script of that call path (fork worker, avg=True, a 1-word hypothesis): at a limit of
# 3,000, 2,978 nested calls succeed on 3.10 and 2,979 on 3.11 (no leaf count); at 10**5, 99,979 on 3.11.
# So the 2,100-word pairs that failed under the default limit of 1,000 get their real ROUGE-L.
# Caveat: on 3.10 deep Python recursion also uses the C stack; with the usual 8 MiB main-thread stack the
# reference's worker segfaults near 20,000 nested calls (measured about 20,100; the exact point varies
# from run to run), which breaks the process pool and aborts the whole scoring run -- there is no number
# to reproduce beyond that point, and the model keeps scoring such pairs.
#
# The transcription runs the real package under an equivalent limit: set around the call to this thread's
# depth plus ROUGE_BUDGET (the reference's 10**5 - 15, less the leaf comparison where this interpreter
# does not count it itself), in a fresh thread with a large stack for pairs that could nest deeply (its
# own recursion count, whatever the caller's C frames; room for 3.10's C recursion); shorter pairs, which
# cannot get near the limit, are scored in place. On CPython 3.11 only, a trace ending off the diagonal at
# a coordinate above 256 costs one more counted comparison (3.11 counts the dict lookups' tuple compares):
# there the transcription fails one call earlier, at exactly 99,978, than the model.
REFERENCE_RECURSION_LIMIT = 10**5
REFERENCE_CALLER_DEPTH = 15  # recursion depth while get_score.rouge_func runs (above)
ROUGE_FRAMES_TO_RECON = 6  # get_scores .. _recon_lcs
LEAF_COMPARISON = 1  # the innermost `_recon`'s `i == 0`, counted by the reference's Python 3.10
MAX_RECON_DEPTH = REFERENCE_RECURSION_LIMIT - REFERENCE_CALLER_DEPTH - ROUGE_FRAMES_TO_RECON - LEAF_COMPARISON
ROUGE_BUDGET = (
    REFERENCE_RECURSION_LIMIT
    - REFERENCE_CALLER_DEPTH
    - (LEAF_COMPARISON if sys.version_info >= (3, 11) else 0)
)
ROUGE_DIRECT_MAX_DEPTH = 5000  # pairs nesting at most this deep run in place (C stack: ~0.4 KiB/call on 3.10)
ROUGE_THREAD_STACK_BYTES = 256 << 20
_THREAD_STACK_LOCK = threading.Lock()


def strip_response(response: str) -> str:
    """Drop one leading literal ``Assistant:`` (case-sensitive), then surrounding white space."""
    response = response.removeprefix(ASSISTANT_PREFIX)
    return response.strip()


def reporting(metric: str) -> tuple[int, int]:
    """(rounding digits, scale) of a metric's reported value."""
    if metric == "edit_distance":
        return EDIT_DISTANCE_ROUND_DIGITS, EDIT_DISTANCE_SCALE
    return ROUND_DIGITS, SCALE


def reference_mean(metric: str, per_item: Sequence[float]) -> float:
    """The mean as get_score.py computes it: ``np.mean`` for CIDEr, a running ``+=`` sum / count otherwise."""
    if metric == "cider":
        return float(np.mean(np.asarray(per_item, dtype=np.float64)))
    return functools.reduce(operator.add, per_item, 0) / len(per_item)  # not sum(): 3.12+ compensates


def paper_value(metric: str, per_item: Sequence[float]) -> float:
    """The reported value: ``round(mean, 5) * 100``, or ``round(mean, 3)`` for the edit distance."""
    digits, scale = reporting(metric)
    return round(reference_mean(metric, per_item), digits) * scale


def _caller_depth() -> int:
    """Python frames on this thread's stack, from the caller's down (= its recursion depth in a fresh thread)."""
    depth, frame = 0, sys._getframe(1)
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


def _rouge_f(hyp: str, ref: str) -> float:
    """get_score.rouge_func for a non-empty hyp, under the reference's recursion budget; exception -> 0."""
    from rouge import Rouge

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_caller_depth() + ROUGE_BUDGET)
    try:
        return float(Rouge().get_scores(hyp, ref, avg=True)["rouge-l"]["f"])
    except Exception:  # noqa: BLE001 - the reference scored any failure of the package as 0
        return 0.0
    finally:
        sys.setrecursionlimit(old)


def _in_fresh_thread(fn):
    """fn() in a new thread with a large stack (its own recursion count; room for 3.10's C recursion)."""
    result: list = []
    with _THREAD_STACK_LOCK:  # threading.stack_size is process-wide: set it only while starting ours
        old = threading.stack_size(ROUGE_THREAD_STACK_BYTES)
        try:
            worker = threading.Thread(target=lambda: result.append(fn()), daemon=True)
            try:
                worker.start()
            except RuntimeError:  # no room for such a stack: 3.11+ needs none for Python recursion
                threading.stack_size(old)
                worker = threading.Thread(target=lambda: result.append(fn()), daemon=True)
                worker.start()
        finally:
            threading.stack_size(old)
    worker.join()
    return result[0]


def rouge_l_f(hyp: str, ref: str) -> float:
    """The reference's ROUGE-L: F of rouge 1.0.1 on raw strings; empty hyp or any exception -> 0.

    rouge runs under get_score.py's recursion limit as seen from its call path (see MAX_RECON_DEPTH):
    a RecursionError, hence 0, only past 99,978 nested ``_recon`` calls."""
    if len(hyp) == 0:
        return 0.0
    # _recon nests at most (words of a reference sentence + words of a hypothesis sentence) deep
    bound = len(hyp.split()) + len(ref.split()) + hyp.count(".") + ref.count(".") + 2
    if bound <= ROUGE_DIRECT_MAX_DEPTH:
        return _rouge_f(hyp, ref)
    return _in_fresh_thread(lambda: _rouge_f(hyp, ref))


def levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    """Plain Levenshtein distance (unit costs): the reference's ``editdistance.eval`` on token lists (which
    compares the tokens' hashes, so equal but for 64-bit hash collisions). Also ``nltk.edit_distance`` on
    lists, which in nltk 3.10 refuses inputs longer than 2,000 items; the reference had no such limit."""
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
    values = {m: paper_value(m, per_item[m]) if per_item[m] else 0.0 for m in METRICS}
    return values, per_item
