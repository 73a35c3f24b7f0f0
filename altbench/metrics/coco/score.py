"""The ``coco`` convention: pycocoevalcap 1.2's numbers (BLEU-1..4, METEOR 1.5, ROUGE-L, CIDEr-D), fast.

:func:`score_coco` returns exactly what pycocoevalcap's own pipeline (:mod:`.reference`: PTBTokenizer,
``Bleu(4)``, ``Meteor()``, ``Rouge()``, ``Cider()``) returns on the same items, in pycocoevalcap's raw scale
(``scale=1.0``: BLEU/METEOR/ROUGE-L in 0..1, CIDEr-D in 0..10; results and leaderboards multiply for
display), only faster:

* one JVM tokenizes references and predictions (``-ioFileList``, one lexer per set, so the tokens are those
  of two separate pycocoevalcap calls; :mod:`.tokenize`);
* the METEOR jar reads only the paraphrase-table entries these lines can use (:mod:`.paraphrase`, through
  the jar's ``-a`` option; ``ALTBENCH_METEOR_TABLE=full`` for its whole table, whose JVM is then started
  first and loads while the tokenizer runs) and gets all ``SCORE`` lines in one write instead of one round
  trip per item (:mod:`.meteor`), then a short ``EVAL`` instead of one over every item (:mod:`.meteor_eval`);
* while it scores, BLEU (:mod:`.bleu`), ROUGE-L (:mod:`.rouge`) and CIDEr-D (:mod:`.cider`) are
  computed in Python (one class per metric, :mod:`.metrics`) with re-implementations that are bit-identical to pycocoevalcap's (each module says
  why it is re-implemented and how equality is kept).

Deliberate differences: a caption holding ``\\r``, ``\\v``, ``\\f``, U+2028 or U+2029 makes pycocoevalcap
misalign all following items (its tokenizer ends lines there); here those characters count as spaces. A lone
surrogate (crashes pycocoevalcap) becomes ``?``. Both JVMs run with an English locale (what Java picks under
C/en locales anyway). The METEOR JVM sets the floor: ~6 s per 20,000 items (plus JIT and GC threads), and
with the full table ~5.5 s more to load it.

Per-item sufficient statistics let a bootstrap recompute corpus values exactly: BLEU-k rows
(``coco.bleu.STAT_COLUMNS``, aggregators ``coco_bleu1``..``coco_bleu4``), METEOR rows
(``coco.meteor_stats.STAT_COLUMNS``, aggregator ``coco_meteor``); ROUGE-L and CIDEr-D are means of items
(aggregator ``mean``; CIDEr-D's document frequencies stay those of ``df_references``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from altbench.errors import AltbenchError, DataError
from altbench.metrics.base import MetricScores, signature
from altbench.metrics.coco import bleu as coco_bleu
from altbench.metrics.coco import meteor as coco_meteor
from altbench.metrics.coco import meteor_stats
from altbench.metrics.coco.metrics import CocoCorpus, metric
from altbench.metrics.coco.tokenize import PTBJob, require_java

log = logging.getLogger(__name__)

METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rougeL", "cider")
SPICE_OUT = "SPICE is not part of the coco convention here: it needs a Stanford CoreNLP models download"


def score_coco(
    references: Sequence[Sequence[str]],
    predictions: Sequence[str],
    *,
    df_references: Sequence[Sequence[str]] | None = None,
    metrics: Sequence[str] | None = None,
    meteor_jvms: int = 1,
) -> dict[str, MetricScores]:
    """Score ``predictions[i]`` against ``references[i]`` (one or more strings) as pycocoevalcap does.

    ``df_references``: the reference sets CIDEr-D's document frequencies come from (the whole split, so a
    subset scores its items as the full run would); default ``references``, which is pycocoevalcap's own
    behaviour. ``metrics``: a subset of :data:`METRICS` (default all; leaving out ``meteor`` skips its JVM).
    ``meteor_jvms``: at most this many METEOR JVMs share the lines (each its own shard; the caller's worker
    count: no number depends on it).
    Returns ``{name: MetricScores}`` in raw scale (``scale=1.0``).
    """
    names = _selected(metrics)
    refs = _check_references(references, "references")
    preds = _check_predictions(predictions, len(refs))
    df_refs = refs if df_references is None else _check_references(df_references, "df_references")
    if not refs:
        return {name: _empty(name) for name in names}
    require_java()
    t0 = time.perf_counter()
    full_table = "meteor" in names and not coco_meteor.use_cut_table()
    server = coco_meteor.acquire() if full_table else None  # the full table's JVM loads while we tokenize

    df_separate = "cider" in names and df_refs != refs
    groups = [[r for rs in refs for r in rs], preds]
    if df_separate:
        groups.append([r for rs in df_refs for r in rs])
    job = PTBJob(groups)
    try:
        tokenized = job.result()
    except BaseException:
        job.kill()
        raise
    refs_tok, hyps_tok = _regroup(tokenized[0], refs), tokenized[1]
    meteor_future = None
    if "meteor" in names:
        meteor_future = server.submit(refs_tok, hyps_tok) if server is not None else coco_meteor.submit(
            refs_tok, hyps_tok, meteor_jvms)
    t1 = time.perf_counter()

    corpus = CocoCorpus(hyps_tok=hyps_tok, refs_tok=refs_tok, nrefs=_nrefs(refs),
                        df_refs_tok=_regroup(tokenized[2], df_refs) if df_separate else None)
    del tokenized
    corpus.ngram_pass(bleu=any(n.startswith("bleu") for n in names), cider="cider" in names)
    out: dict[str, MetricScores] = {}
    for name in names:  # everything but METEOR, computed while the jar scores
        if name != "meteor":
            out[name] = metric(name).scores(corpus)
    t2 = time.perf_counter()
    if meteor_future is not None:
        corpus.meteor = meteor_future.result()
        out["meteor"] = metric("meteor").scores(corpus)
    log.debug("coco: %d items; tokenized %.2f s, BLEU/ROUGE-L/CIDEr-D %.2f s, METEOR waited %.2f s",
              len(preds), t1 - t0, t2 - t1, time.perf_counter() - t2)
    return {name: out[name] for name in names}


def _selected(metrics: Sequence[str] | None) -> list[str]:
    if metrics is None:
        return list(METRICS)
    names = list(dict.fromkeys(metrics))
    if any(n.lower() == "spice" for n in names):
        raise AltbenchError(SPICE_OUT)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise AltbenchError(f"unknown coco metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    return names


def _check_references(references: Sequence[Sequence[str]], what: str) -> list[list[str]]:
    out = []
    for i, refs in enumerate(references):
        if isinstance(refs, str) or not all(isinstance(r, str) for r in refs):
            raise DataError(f"{what}[{i}] must be a list of strings, got {refs!r:.80}")
        if not refs:
            raise DataError(f"{what}[{i}] has no reference (pycocoevalcap needs at least one)")
        out.append(list(refs))
    return out


def _check_predictions(predictions: Sequence[str], n: int) -> list[str]:
    preds = list(predictions)
    if len(preds) != n:
        raise DataError(f"{n} reference sets for {len(preds)} predictions")
    bad = next((i for i, p in enumerate(preds) if not isinstance(p, str)), None)
    if bad is not None:
        raise DataError(f"prediction {bad} is {type(preds[bad]).__name__}, not a string")
    return preds


def _regroup(flat: list[str], shape: list[list[str]]) -> list[list[str]]:
    out, pos = [], 0
    for refs in shape:
        out.append(flat[pos:pos + len(refs)])
        pos += len(refs)
    return out


def _nrefs(refs: list[list[str]]) -> str:
    counts = {len(r) for r in refs}
    return str(counts.pop()) if len(counts) == 1 else f"{min(counts)}-{max(counts)}"


def _empty(name: str) -> MetricScores:
    if name.startswith("bleu"):
        width, aggregator = len(coco_bleu.STAT_COLUMNS), f"coco_{name}"
    elif name == "meteor":
        width, aggregator = len(meteor_stats.STAT_COLUMNS), meteor_stats.AGGREGATOR
    else:
        width, aggregator = 1, "mean"
    return MetricScores(name=name, value=float("nan"), per_item=(), signature=signature(name, conv="coco"),
                        stats=np.zeros((0, width)), aggregator=aggregator, scale=1.0)
