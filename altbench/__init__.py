"""altbench: evaluate and train context-aware alt-text generators.

The Python API (docs/api.md) is loaded on first use, so ``import altbench`` stays light (no torch, no scorers):
``altbench.score(predictions, references, ...)``, ``altbench.evaluate(model=..., split=...)``,
``altbench.load_run(path)``, ``altbench.probe(run_dir, probes=...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("score", "evaluate", "load_run", "probe", "ScoreResult")
__all__ = ["ScoreResult", "__version__", "evaluate", "load_run", "probe", "score"]

if TYPE_CHECKING:
    from altbench.api import ScoreResult, evaluate, load_run, probe, score


def __getattr__(name: str) -> Any:
    if name in _API:
        from altbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'altbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
