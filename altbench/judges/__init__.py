"""How far to trust a judge: ``altbench judge-check`` and the judge cards.

- :mod:`altbench.judges.inputs`: the battles to judge (the arena's, from runs; or human pairs);
- :mod:`altbench.judges.check`: asking each judge (the arena's cache, plus repeats) and the whole check;
- :mod:`altbench.judges.figures`: position and self-consistency, length bias, agreement with humans and
  between judges, each with a bootstrap interval over items;
- :mod:`altbench.judges.stats`: the pure statistics (Cohen's kappa, Krippendorff's alpha, a logistic slope,
  the cluster bootstrap);
- :mod:`altbench.judges.schema`: ``judge-check.json`` (``altbench-judge-check/1``) and its one reader;
- :mod:`altbench.judges.cards`: judge fingerprints, and the reliability figures every judge-based result carries.

See docs/judges.md.
"""
