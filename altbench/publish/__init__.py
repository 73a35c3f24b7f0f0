"""Publishing: run folders -> an accessible, self-contained static leaderboard and per-run reports.

- :mod:`~altbench.publish.runs` reads run folders (``results.json``, ``scores.jsonl``, ``predictions.jsonl``,
  ``run.json``) and groups them by split;
- :mod:`~altbench.publish.ranks` gives significance-aware ranks from paired tests on per-item scores;
- :mod:`~altbench.publish.charts` draws deterministic matplotlib SVGs (imported only here, never on the
  scoring path);
- :mod:`~altbench.publish.html` renders Jinja2 templates with autoescaping under a strict
  Content-Security-Policy (hashed inline style and script, no network);
- :mod:`~altbench.publish.site` builds ``altbench leaderboard``, :mod:`~altbench.publish.report` builds
  ``altbench report``; :mod:`~altbench.publish.rebuild` regenerates the committed ``leaderboards/``.
"""
