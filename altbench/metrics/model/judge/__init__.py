"""The LLM/VLM judge for alt-text: versioned rubric, prompts, strict parsing, cache, backends, pairwise mode.

The package is the ``judge`` family of :mod:`altbench.metrics.model.registry` (``--metrics judge``); see
:mod:`altbench.metrics.model.judge.metric` for the options and ``docs/model-metrics.md`` for usage. Nothing here
imports torch or transformers at import time.
"""

from altbench.metrics.model.judge.metric import OPTIONS, compute, preflight

__all__ = ["OPTIONS", "compute", "preflight"]
