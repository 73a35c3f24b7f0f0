"""Model-based metrics: CLIPScore/RefCLIPScore, BERTScore and the LLM/VLM judge (``metrics/model/``).

:mod:`~altbench.metrics.model.registry` resolves names and options and runs the families;
:mod:`~altbench.metrics.model.base` holds what the families share. Importing this package imports no family
(and so no torch).
"""

from altbench.metrics.model.base import MetricRequest, MetricResult, defined_scores
from altbench.metrics.model.registry import (
    load_metrics_config,
    nest_metric_args,
    parse_metric_names,
    resolve,
    score_model_metrics,
)

__all__ = ["MetricRequest", "MetricResult", "defined_scores", "load_metrics_config", "nest_metric_args",
           "parse_metric_names", "resolve", "score_model_metrics"]
