"""Metrics: lexical (paper and coco conventions), diagnostics; model-based metrics are added by name."""
