"""The ``paper`` convention (the MCM-DPO reference scorer's numbers, fast): :func:`score_paper`.

Modules: :mod:`.score` (the entry point), :mod:`.metrics` (one class per metric), :mod:`.tokenize`
(``nltk.word_tokenize``, exact and faster), :mod:`.ngrams`, :mod:`.bleu`, :mod:`.cider`, :mod:`.meteor`,
:mod:`.rouge`, :mod:`.editdist`, :mod:`.wordnet` (WordNet 3.0 without NLTK's version mapping), and
:mod:`.reference` (the per-item loop over nltk/rouge the tests compare with).
The exports are imported on first use, so importing a submodule does not load the whole convention.
"""

from __future__ import annotations

import importlib

__all__ = ["METRICS", "score_paper"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("altbench.metrics.paper.score"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
