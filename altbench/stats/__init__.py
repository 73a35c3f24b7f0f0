"""Statistics over per-item sufficient statistics (methods and numbers: docs/statistics.md).

- :mod:`~altbench.stats.bootstrap`: the resampling engine (``weights @ stats``) and run-level intervals;
- :mod:`~altbench.stats.paired`: paired bootstrap and approximate-randomization tests, effect size, Holm;
- :mod:`~altbench.stats.comparable`: runs (folder or results file) -> items paired by id, refusals;
- :mod:`~altbench.stats.compare`: ``altbench compare``; :mod:`~altbench.stats.gate`: ``altbench regress``;
- :mod:`~altbench.stats.synthetic`: synthetic run folders for tests and the benchmark.
"""
