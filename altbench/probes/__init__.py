"""Counterfactual probes: does a model use the image and the post's context? (docs/probes.md)

:func:`probe` regenerates a run under each counterfactual (:mod:`~altbench.probes.counterfactuals`) as a run
folder of its own, and :func:`measure` writes the run's ``probes.json`` (:mod:`~altbench.probes.results`).
"""

from altbench.probes.counterfactuals import PROBES
from altbench.probes.measure import ProbeSettings, measure, parse_probes, probe
from altbench.probes.results import SCHEMA, ProbeReport, probes_of, read_probes

__all__ = ["PROBES", "SCHEMA", "ProbeReport", "ProbeSettings", "measure", "parse_probes", "probe", "probes_of",
           "read_probes"]
