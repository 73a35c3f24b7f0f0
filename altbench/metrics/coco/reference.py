"""pycocoevalcap's own pipeline, exactly as its users run it: the yardstick for the fast ``coco`` scorer.

``PTBTokenizer().tokenize`` on the references and (a second JVM) on the predictions, then ``Bleu(4)``,
``Meteor()``, ``Rouge()`` and ``Cider()`` ``compute_score`` on the tokenized dicts, keyed by item index.
Nothing here is re-implemented; the parity tests and ``bench/bench_coco.py`` compare
:func:`altbench.metrics.coco.score_coco` against :func:`reference_scores`. SPICE is left out (it needs a
Stanford CoreNLP download).

Known pycocoevalcap quirks this faithfully reproduces (see ``coco_tokenize`` for how the fast path handles
them): the tokenizer only replaces ``\\n`` inside a caption, so a caption holding ``\\r``, ``\\v``, ``\\f``,
U+2028 or U+2029 is split over two lines by the Java tokenizer and every later caption of that call is
paired with the wrong item.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from altbench.metrics.coco.tokenize import require_java

log = logging.getLogger(__name__)

METRIC_NAMES = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rougeL", "cider")


def reference_scores(
    references: Sequence[Sequence[str]], predictions: Sequence[str], *, meteor: bool = True
) -> dict[str, tuple[float, list[float]]]:
    """``{metric: (corpus value, per-item values)}`` straight from pycocoevalcap (raw scale).

    CIDEr-D's document frequencies are pycocoevalcap's: over the references given here. ``meteor=False``
    leaves METEOR out (no METEOR JVM), for quick checks of the other metrics.
    """
    require_java()
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} reference lists for {len(predictions)} predictions")
    gts = {i: [{"caption": r} for r in refs] for i, refs in enumerate(references)}
    res = {i: [{"caption": p}] for i, p in enumerate(predictions)}
    tokenizer = PTBTokenizer()
    gts_tok = tokenizer.tokenize(gts)
    res_tok = tokenizer.tokenize(res)

    out: dict[str, tuple[float, list[float]]] = {}
    bleu, bleu_items = Bleu(4).compute_score(gts_tok, res_tok, verbose=0)
    for k in range(4):
        out[f"bleu{k + 1}"] = (float(bleu[k]), [float(x) for x in bleu_items[k]])
    if meteor:
        scorer = Meteor()  # its JVM is stopped by Meteor.__del__ when ``scorer`` goes out of scope
        try:
            m, m_items = scorer.compute_score(gts_tok, res_tok)
        except BaseException:
            if scorer.lock.locked():  # else Meteor.__del__ would wait on it for ever
                scorer.lock.release()
            raise
        out["meteor"] = (float(m), [float(x) for x in m_items])
    r, r_items = Rouge().compute_score(gts_tok, res_tok)
    out["rougeL"] = (float(r), [float(x) for x in r_items])
    c, c_items = Cider().compute_score(gts_tok, res_tok)
    out["cider"] = (float(c), [float(x) for x in c_items])
    return out
