"""The ``coco`` convention (pycocoevalcap 1.2's numbers, fast): :func:`score_coco`, :data:`METRICS`.

Modules: :mod:`.score` (the entry point), :mod:`.metrics` (one class per metric), :mod:`.tokenize` (PTB
tokenizer JVM), :mod:`.bleu`, :mod:`.rouge`, :mod:`.cider`, :mod:`.ngrams`, :mod:`.meteor` (the METEOR 1.5
JVM), :mod:`.meteor_stats` (its statistics and score formula), :mod:`.meteor_eval` (its exact per-item
scores), :mod:`.reference` (pycocoevalcap's own pipeline, the reference the tests compare with).
The exports are imported on first use, so importing a submodule does not load the whole convention.
"""

from __future__ import annotations

import importlib

__all__ = ["METRICS", "score_coco"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("altbench.metrics.coco.score"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
