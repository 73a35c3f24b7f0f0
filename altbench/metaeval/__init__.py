"""Meta-evaluation: how well each metric agrees with human judgments.

- :mod:`altbench.metaeval.records`: the two kinds of human judgment (a score for one candidate, a preference
  between two) and the documented JSON Lines reader;
- :mod:`altbench.metaeval.formats`: readers for Flickr8k-Expert, Flickr8k-CF, Composite and Pascal-50S files,
  and the MCM-DPO preference-pair proxy (chosen preferred to rejected);
- :mod:`altbench.metaeval.agreement`: Kendall tau-b / tau-c (scipy), pairwise accuracy, system-level Kendall /
  Spearman, bootstrap intervals;
- :mod:`altbench.metaeval.evaluate`: scoring the candidates with altbench's metrics and putting it together.

See ``docs/meta-eval.md``.
"""
