"""Per-item scores of the paper convention's item-level metrics (all but CIDEr-D), one pass, optional fork
workers. Each distinct string is tokenized once (:class:`~altbench.metrics.paper.tokenize.TokenCache`)."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from collections.abc import Sequence

import numpy as np

from altbench.metrics.paper.bleu import sentence_bleu_batch
from altbench.metrics.paper.editdist import levenshtein
from altbench.metrics.paper.meteor import meteor, single_meteor
from altbench.metrics.paper.reference import BLEU_WEIGHTS
from altbench.metrics.paper.rouge import rouge_l
from altbench.metrics.paper.tokenize import TokenCache
from altbench.metrics.paper.wordnet import load_table

_BLEU_NAMES = tuple(BLEU_WEIGHTS)
PER_ITEM = (*_BLEU_NAMES, "meteor", "rougeL", "edit_distance")  # everything but cider


BLOCK = 25_000  # items per pass: bounds the n-gram tables and token cache (per-item scores do not change)


def _score_items(references: Sequence[Sequence[str]], responses: Sequence[str]) -> dict[str, list[float]]:
    """Per-item scores of every metric except CIDEr-D, for already stripped responses, by blocks of items."""
    if len(responses) <= BLOCK:
        return _score_block(references, responses)
    parts = [_score_block(references[a : a + BLOCK], responses[a : a + BLOCK])
             for a in range(0, len(responses), BLOCK)]
    return {m: [v for part in parts for v in part[m]] for m in PER_ITEM}


def _score_block(references: Sequence[Sequence[str]], responses: Sequence[str]) -> dict[str, list[float]]:
    tok = TokenCache()
    ref_toks = [[tok(r) for r in refs] for refs in references]
    hyp_toks = [tok(resp) for resp in responses]
    out: dict[str, list[float]] = {m: [] for m in PER_ITEM}
    for scores in sentence_bleu_batch(ref_toks, hyp_toks, list(BLEU_WEIGHTS.values())):
        for name, value in zip(_BLEU_NAMES, scores):
            out[name].append(value)
    meteor_out, rouge_out, edit_out = out["meteor"], out["rougeL"], out["edit_distance"]
    for refs, resp, rt, ht in zip(references, responses, ref_toks, hyp_toks):
        if len(refs) == 1:
            meteor_out.append(float(single_meteor(rt[0], ht)))
            rouge_out.append(rouge_l(resp, refs[0]))
            edit_out.append(float(levenshtein(rt[0], ht)))
        else:  # best reference: max METEOR (as nltk's meteor_score), max ROUGE-L, min edit distance
            meteor_out.append(float(meteor(rt, ht)))
            rouge_out.append(max(rouge_l(resp, r) for r in refs))
            edit_out.append(float(min(levenshtein(t, ht) for t in rt)))
    return out


def _score_chunk(args: tuple) -> dict[str, list[float]]:
    return _score_items(*args)


def score_share(data_path: list, references, responses) -> dict[str, list[float]]:
    """Task of the helper process (:mod:`altbench.helper`): the per-item scores of a share of the items."""
    _worker_init(data_path)
    return _score_items(references, responses)


def warm_up() -> None:
    """Task of the helper process: the imports and the WordNet table, while the scoring gets ready."""
    from altbench.metrics.nltk_data import ensure_nltk_data

    ensure_nltk_data()
    load_table()


def helper_share(n: int) -> int:
    """How many of ``n`` items the helper process scores (the first ones) while this process computes
    CIDEr-D and the per-item scores of the rest, so that both finish together (rough costs per item)."""
    item_cost, cider_cost, start_cost = 115e-6, 30e-6, 0.0  # started and warmed up while the split loads
    return max(0, min(n - 1, int(((cider_cost + item_cost) * n - start_cost) / (2 * item_cost))))


def _worker_init(data_path: list) -> None:
    """In a worker (fork or spawn): the parent's NLTK data path, for the tokenizer's punkt_tab."""
    from altbench.metrics import nltk_light

    nltk_light.module("nltk.data").path[:] = data_path


def score_items(references, responses, workers: int = 1) -> dict[str, list[float]]:
    """{metric: per-item scores} for PER_ITEM; ``workers > 1`` forks that many processes over chunks."""
    n = len(responses)
    workers = max(1, min(workers, n // 64 or 1, os.cpu_count() or 1))
    if workers == 1:
        return _score_items(references, responses)
    load_table()  # once, before forking, so workers share it
    method = (
        "fork" if "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin" else None
    )
    ctx = multiprocessing.get_context(method)
    bounds = np.linspace(0, n, workers * 4 + 1).astype(int)
    chunks = [(references[a:b], responses[a:b]) for a, b in itertools.pairwise(bounds) if b > a]
    from altbench.metrics import nltk_light

    data_path = list(nltk_light.module("nltk.data").path)
    with ctx.Pool(workers, initializer=_worker_init, initargs=(data_path,)) as pool:
        parts = pool.map(_score_chunk, chunks)
    return {m: [v for part in parts for v in part[m]] for m in PER_ITEM}
