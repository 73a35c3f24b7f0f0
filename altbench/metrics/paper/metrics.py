"""The paper convention's metrics, one sacrebleu-style class each (per-item statistics, aggregate, signature).

Every metric is a mean of items (one-column statistics, aggregator ``mean``); the reported value is the
reference's: ``round(mean, 5) * 100`` with get_score.py's own summation (``edit_distance``: ``round(mean,
3)``, lower is better). They share one :class:`PaperCorpus`, which computes the item-level metrics in one
pass over the items (:mod:`.items`) and keeps them, so asking for several metrics costs one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from altbench.metrics.base import Metric, signature
from altbench.metrics.paper.cider import cider_d
from altbench.metrics.paper.items import gather, submit_items
from altbench.metrics.paper.meteor import ALPHA, BETA, GAMMA
from altbench.metrics.paper.reference import ASSISTANT_PREFIX, BLEU_WEIGHTS, paper_value, reporting
from altbench.tasks import Starmap

ROUGE_VERSION = "1.0.1"  # the package version whose algorithm paper.rouge reproduces
PYCOCOEVALCAP_VERSION = "1.2"  # the CiderScorer paper.cider transcribes


@dataclass
class PaperCorpus:
    """Items of one scoring: reference tuples, responses already stripped (``strip_response``), the
    CIDEr-D document-frequency references, and where the item-level blocks run (a starmap,
    :mod:`altbench.tasks`; None: here)."""

    references: Sequence[tuple[str, ...]]
    responses: Sequence[str]
    df_references: Sequence[tuple[str, ...]]
    starmap: Starmap | None = None
    memo: dict = field(default_factory=dict, repr=False)

    def item_scores(self, name: str) -> list[float]:
        """Per-item scores of an item-level metric (one shared pass computes all of them)."""
        if "items" not in self.memo:
            pending = submit_items(self.references, self.responses, self.starmap)
            self.cider()  # CIDEr-D needs the whole split: computed here while the blocks are scored elsewhere
            self.memo["items"] = gather(pending)
        return self.memo["items"][name]

    def cider(self) -> list[float]:
        if "cider" not in self.memo:
            self.memo["cider"] = cider_d(self.references, self.responses, self.df_references)
        return self.memo["cider"]


def _nltk_version() -> str:
    from altbench.metrics import nltk_light

    return nltk_light.version()


class PaperMetric(Metric):
    """A mean-of-items paper metric; subclasses give the per-item scores and the signature settings."""

    aggregator = "mean"

    def __init__(self, name: str) -> None:
        self.name = name
        digits, scale = reporting(name)
        self.digits, self.scale = digits, float(scale)  # 100, or 1 for the edit distance
        self.higher_is_better = name != "edit_distance"

    def item_stats(self, corpus: PaperCorpus) -> np.ndarray:
        return np.asarray(corpus.item_scores(self.name), dtype=np.float64).reshape(-1, 1)

    def corpus_value(self, stats: np.ndarray, per_item: list[float]) -> float:
        return paper_value(self.name, per_item)  # get_score.py's summation and rounding, not the float sum

    def tail(self) -> dict[str, object]:
        return {"strip": ASSISTANT_PREFIX}

    def reported(self) -> dict[str, object]:
        return {"round": self.digits, "scale": int(self.scale)}


class PaperBLEU(PaperMetric):
    """NLTK ``sentence_bleu`` with the given n-gram weights, unsmoothed, on ``word_tokenize`` tokens."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.weights = BLEU_WEIGHTS[name]

    def signature(self, corpus: PaperCorpus) -> str:
        return signature(self.name, conv="paper", tok="nltk-word_tokenize",
                         weights=",".join(map(str, self.weights)), smooth="none", **self.tail(),
                         nltk=_nltk_version(), **self.reported())


class PaperMETEOR(PaperMetric):
    """NLTK ``meteor_score`` (exact, Porter stem, WordNet 3.0 synonyms; alpha 0.9, beta 3, gamma 0.5)."""

    def signature(self, corpus: PaperCorpus) -> str:
        return signature(self.name, conv="paper", tok="nltk-word_tokenize", impl="nltk", lower="yes",
                         stem="porter", syn="wordnet-3.0", alpha=ALPHA, beta=BETA, gamma=GAMMA, **self.tail(),
                         nltk=_nltk_version(), **self.reported())


class PaperROUGEL(PaperMetric):
    """ROUGE-L F of the ``rouge`` package on the raw strings (best reference)."""

    def signature(self, corpus: PaperCorpus) -> str:
        return signature(self.name, conv="paper", tok="rouge-split", sent="dot", case="yes",
                         lcs="summary-union", empty="0", error="0", **self.tail(), rouge=ROUGE_VERSION,
                         **self.reported())


class PaperCIDErD(PaperMetric):
    """pycocoevalcap's CIDEr-D on whitespace tokens, document frequencies from ``df_references``."""

    def item_stats(self, corpus: PaperCorpus) -> np.ndarray:
        return np.asarray(corpus.cider(), dtype=np.float64).reshape(-1, 1)

    def signature(self, corpus: PaperCorpus) -> str:
        return signature(self.name, conv="paper", variant="CIDEr-D", tok="str.split", case="yes", n=4,
                         sigma=6, df=f"split(nrefs={len(corpus.df_references)})", **self.tail(),
                         pycocoevalcap=PYCOCOEVALCAP_VERSION, **self.reported())


class PaperEditDistance(PaperMetric):
    """Levenshtein distance over ``word_tokenize`` tokens (best reference), in words."""

    def signature(self, corpus: PaperCorpus) -> str:
        return signature(self.name, conv="paper", tok="nltk-word_tokenize", unit="token", cost="levenshtein",
                         **self.tail(), nltk=_nltk_version(), **self.reported())


def metric(name: str) -> PaperMetric:
    """The metric object of a paper metric name (see ``reference.METRICS``)."""
    if name in BLEU_WEIGHTS:
        return PaperBLEU(name)
    classes = {"meteor": PaperMETEOR, "rougeL": PaperROUGEL, "cider": PaperCIDErD,
               "edit_distance": PaperEditDistance}
    return classes[name](name)
