"""Per-item scores of the paper convention's item-level metrics (all but CIDEr-D), one pass, by blocks of items.

A block's per-item scores depend on its items only, so each block is a pure task (:func:`score_block`) that can
run anywhere: :func:`submit_items` hands the blocks to a starmap (:mod:`altbench.tasks`; default: here, in
turn). :data:`BLOCK` is fixed, whatever runs the blocks, and bounds a pass's n-gram tables and token cache.
Each distinct string of a block is tokenized once (:class:`~altbench.metrics.paper.tokenize.TokenCache`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence

from altbench.metrics.paper.bleu import sentence_bleu_batch
from altbench.metrics.paper.editdist import levenshtein
from altbench.metrics.paper.meteor import meteor, single_meteor
from altbench.metrics.paper.reference import BLEU_WEIGHTS
from altbench.metrics.paper.rouge import rouge_l
from altbench.metrics.paper.tokenize import TokenCache
from altbench.metrics.paper.wordnet import load_table
from altbench.tasks import IN_PROCESS, Starmap

_BLEU_NAMES = tuple(BLEU_WEIGHTS)
PER_ITEM = (*_BLEU_NAMES, "meteor", "rougeL", "edit_distance")  # everything but cider


BLOCK = 1000  # items per task (the scores do not depend on it: tests/test_metrics_paper.py)


def submit_items(references: Sequence[Sequence[str]], responses: Sequence[str],
                 starmap: Starmap | None = None) -> Iterator[dict[str, list[float]]]:
    """Hand the blocks of items (already stripped responses) to ``starmap``; iterate for their scores."""
    data_path = nltk_data_path()
    tasks = [(data_path, references[a : a + BLOCK], responses[a : a + BLOCK])
             for a in range(0, len(responses), BLOCK)]
    return (starmap or IN_PROCESS)(score_block, tasks)


def gather(parts: Iterable[dict[str, list[float]]]) -> dict[str, list[float]]:
    """The blocks' per-item scores, joined in block order."""
    out: dict[str, list[float]] = {m: [] for m in PER_ITEM}
    for part in parts:
        for m in PER_ITEM:
            out[m] += part[m]
    return out


def score_items(references: Sequence[Sequence[str]], responses: Sequence[str],
                starmap: Starmap | None = None) -> dict[str, list[float]]:
    """{metric: per-item scores} for :data:`PER_ITEM`, for already stripped responses."""
    return gather(submit_items(references, responses, starmap))


def score_block(data_path: list[str], references: Sequence[Sequence[str]], responses: Sequence[str]
                ) -> dict[str, list[float]]:
    """A task: the per-item scores of one block of items, with nltk's data found on ``data_path`` (the
    caller's, for the tokenizer's punkt_tab)."""
    from altbench.metrics import nltk_light

    path = nltk_light.module("nltk.data").path
    if path != data_path:
        path[:] = data_path
    enabled = gc.isenabled()
    gc.disable()  # many short-lived tuples and no cycles: the cyclic collector only costs time
    try:
        return _score_block(references, responses)
    finally:
        if enabled:
            gc.enable()


def nltk_data_path() -> list[str]:
    """nltk's data path here (a worker process needs the same to find punkt_tab)."""
    from altbench.metrics import nltk_light

    return list(nltk_light.module("nltk.data").path)


def warm_up() -> None:
    """What a worker process loads before its first block: nltk's modules and data, the WordNet table."""
    from altbench.metrics.nltk_data import ensure_nltk_data
    from altbench.metrics.paper.tokenize import word_tokenize

    ensure_nltk_data()
    load_table()
    word_tokenize("Warm up. The sentence splitter loads its model.")


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
