"""Pairwise arena between runs (CapArena style): battles judged in both orders, a Bradley-Terry fit with ties.

- :mod:`altbench.arena.runs`: the run folders (predictions and the split they were made on);
- :mod:`altbench.arena.battles`: which battles to ask for, asking the judge (cached, resumable), outcomes;
- :mod:`altbench.arena.bradley_terry`: the Davidson (1970) Bradley-Terry model with ties, on an Elo-like scale,
  and bootstrap intervals over items;
- :mod:`altbench.arena.result`: the whole arena as one JSON-ready result (``run_arena``).

See ``docs/arena.md``.
"""

from altbench.arena.result import ArenaSettings, run_arena

__all__ = ["ArenaSettings", "run_arena"]
