"""Typed results: what a run folder holds after scoring, with one reader and one writer.

``load_run(path)`` reads a run folder (schema 2, or a version 1 folder as one scoring); ``add_scoring``
stores a new scoring beside the others. See :mod:`altbench.results.model` for the classes and
docs/results-schema.md for the files.
"""

from altbench.results.model import (
    SCHEMA,
    SCHEMA_V1,
    ItemScores,
    ItemSubset,
    MetricResult,
    RunResults,
    Scoring,
)
from altbench.results.store import add_scoring, find_run_dirs, ids_sha256, load_run, scoring_key

__all__ = [
    "SCHEMA", "SCHEMA_V1", "ItemScores", "ItemSubset", "MetricResult", "RunResults", "Scoring", "add_scoring",
    "find_run_dirs", "ids_sha256", "load_run", "scoring_key",
]
