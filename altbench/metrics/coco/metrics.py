"""The coco convention's metrics, one sacrebleu-style class each (per-item statistics, aggregate, signature).

All work on one :class:`CocoCorpus`: the PTB-tokenized captions (from
:func:`altbench.metrics.coco.score.score_coco`), one streaming n-gram pass shared by BLEU and CIDEr-D, and
the METEOR jar's result. Values are pycocoevalcap's raw scale (``scale=1.0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from altbench.metrics.base import Metric, MetricScores, signature
from altbench.metrics.coco import bleu as coco_bleu
from altbench.metrics.coco import rouge as coco_rouge
from altbench.metrics.coco.cider import SIGMA, CiderD, document_frequency
from altbench.metrics.coco.meteor_stats import AGGREGATOR as METEOR_AGGREGATOR
from altbench.metrics.coco.ngrams import ngram_counts


@lru_cache(maxsize=1)
def pycocoevalcap_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pycocoevalcap")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class CocoCorpus:
    """Tokenized items (``hyps_tok[i]``, ``refs_tok[i]``), the CIDEr-D document-frequency reference sets
    (``df_refs_tok``; None: the items' own references), the reference-count label and, once the jar has
    answered, the METEOR result (:class:`altbench.metrics.coco.meteor.MeteorResult`).

    BLEU's statistics rows and CIDEr-D's scores come from one streaming pass (:meth:`ngram_pass`): each
    item's n-gram counts exist only while it is scored (holding all of them took ~3 GB at 200,000 items)."""

    hyps_tok: list[str]
    refs_tok: list[list[str]]
    nrefs: str
    df_refs_tok: list[list[str]] | None = None
    meteor: object = None
    memo: dict = field(default_factory=dict, repr=False)

    def common(self) -> dict[str, str]:
        return {"conv": "coco", "tok": "ptb", "nrefs": self.nrefs}

    @property
    def df_sets(self) -> list[list[str]]:
        """The reference sets CIDEr-D's document frequencies come from."""
        return self.refs_tok if self.df_refs_tok is None else self.df_refs_tok

    def ngram_pass(self, bleu: bool = True, cider: bool = True) -> None:
        """BLEU rows (``memo["bleu"]``) and/or CIDEr-D scores (``memo["cider"]``) of every item."""
        bleu = bleu and "bleu" not in self.memo
        cider = cider and "cider" not in self.memo
        if not (bleu or cider):
            return
        scorer = None
        if cider:
            df, n_sets = document_frequency(self.df_sets)
            self.memo["cider_sets"] = n_sets
            scorer = CiderD(df, n_sets)
        rows, scores = [], []
        for hyp, refs in zip(self.hyps_tok, self.refs_tok):
            h = ngram_counts(hyp)
            rs = [ngram_counts(r) for r in refs]
            if bleu:
                rows.append(coco_bleu.item_stats(h, rs))
            if scorer is not None:
                scores.append(scorer.item_score(h, rs))
        if bleu:
            self.memo["bleu"] = rows
        if cider:
            self.memo["cider"] = scores

    def bleu_rows(self) -> list[list[int]]:
        """BLEU statistics rows of every item (shared by the four orders)."""
        self.ngram_pass(bleu=True, cider=False)
        return self.memo["bleu"]


class CocoBLEU(Metric):
    """pycocoevalcap ``Bleu(4)``'s BLEU-``order``: corpus-level, from summed n-gram statistics."""

    def __init__(self, order: int) -> None:
        self.order = order
        self.name = f"bleu{order}"
        self.aggregator = f"coco_bleu{order}"

    def item_stats(self, corpus: CocoCorpus) -> np.ndarray:
        if "bleu_stats" not in corpus.memo:  # one array shared by the four orders (as stored before)
            rows = corpus.bleu_rows()
            corpus.memo["bleu_stats"] = np.asarray(rows, dtype=np.float64).reshape(
                len(rows), len(coco_bleu.STAT_COLUMNS))
        return corpus.memo["bleu_stats"]

    def per_item(self, stats: np.ndarray) -> list[float]:
        return coco_bleu.item_scores(stats.astype(np.int64).tolist())[self.order - 1]

    def corpus_value(self, stats: np.ndarray, per_item: list[float]) -> float:
        return float(coco_bleu.corpus_scores(stats.astype(np.int64).tolist())[self.order - 1])

    def signature(self, corpus: CocoCorpus) -> str:
        return signature(self.name, **corpus.common(), bp="closest", pycocoevalcap=pycocoevalcap_version(),
                         scale="raw")


class CocoROUGEL(Metric):
    """pycocoevalcap ``Rouge()``: per-item ROUGE-L F (beta 1.2) over PTB tokens, mean of items."""

    name = "rougeL"

    def item_stats(self, corpus: CocoCorpus) -> np.ndarray:
        per = [coco_rouge.item_score(h, rs) for h, rs in zip(corpus.hyps_tok, corpus.refs_tok)]
        return np.asarray(per, dtype=np.float64).reshape(-1, 1)

    def corpus_value(self, stats: np.ndarray, per_item: list[float]) -> float:
        return float(np.mean(np.array(per_item)))  # pycocoevalcap's np.mean of the list

    def signature(self, corpus: CocoCorpus) -> str:
        return signature(self.name, **corpus.common(), beta=coco_rouge.BETA,
                         pycocoevalcap=pycocoevalcap_version(), scale="raw")


class CocoCIDErD(Metric):
    """pycocoevalcap ``Cider()`` (CIDEr-D, n 4, sigma 6), document frequencies from ``df_ngrams``."""

    name = "cider"

    def item_stats(self, corpus: CocoCorpus) -> np.ndarray:
        corpus.ngram_pass(bleu=False, cider=True)
        return np.asarray(corpus.memo["cider"], dtype=np.float64).reshape(-1, 1)

    def corpus_value(self, stats: np.ndarray, per_item: list[float]) -> float:
        return float(np.mean(np.array(per_item)))

    def signature(self, corpus: CocoCorpus) -> str:
        n_sets = corpus.memo.get("cider_sets", len(corpus.df_sets))
        return signature(self.name, **corpus.common(), n=4, sigma=f"{SIGMA:g}", df=f"split(nrefs={n_sets})",
                         pycocoevalcap=pycocoevalcap_version(), scale="raw")


class CocoMETEOR(Metric):
    """METEOR 1.5 as pycocoevalcap runs its jar: the jar's statistics rows, its per-item and corpus scores."""

    name = "meteor"
    aggregator = METEOR_AGGREGATOR

    def item_stats(self, corpus: CocoCorpus) -> np.ndarray:
        return np.asarray(corpus.meteor.stats, dtype=np.float64)

    def per_item(self, stats: np.ndarray) -> list[float]:
        """Each row's score by the jar's formula with C ``pow`` (the jar's own, used by :meth:`scores`, can
        differ in the last bit for about 1.5 % of rows: see :mod:`.meteor_eval`)."""
        return self.aggregate(stats, np.ones(len(stats))).tolist()

    def scores(self, corpus: CocoCorpus, stats: np.ndarray | None = None) -> MetricScores:
        """The jar's own per-item and corpus scores (bit-exact), with its statistics rows."""
        met = corpus.meteor
        return MetricScores(name=self.name, value=met.corpus, per_item=tuple(met.per_item),
                            signature=self.signature(corpus), stats=self.item_stats(corpus),
                            aggregator=self.aggregator, scale=1.0)

    def signature(self, corpus: CocoCorpus) -> str:
        from altbench.metrics.coco.meteor import jar_sha8

        return signature(self.name, conv="coco", version="1.5", lang="en", norm="yes", jar=jar_sha8(),
                         task="rank", tok="ptb", nrefs=corpus.nrefs, scale="raw")


def metric(name: str) -> Metric:
    """The metric object of a coco metric name (``bleu1``..``bleu4``, ``meteor``, ``rougeL``, ``cider``)."""
    if name.startswith("bleu"):
        return CocoBLEU(int(name[4:]))
    return {"meteor": CocoMETEOR, "rougeL": CocoROUGEL, "cider": CocoCIDErD}[name]()
