"""The ``altbench.json`` card a recipe writes beside its checkpoint (read by the model registry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from altbench import __version__

CARD = "altbench.json"


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries that shape the trained bytes."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in ("torch", "transformers", "trl", "peft", "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def write_card(folder: str | Path, *, recipe: str, base: str, data: str, data_hash: str, config: dict[str, Any],
               metrics: dict[str, Any], adapter_args: dict[str, Any] | None = None) -> Path:
    """Write the card; ``adapter_args`` become the evaluation adapter's defaults (e.g. max_new_tokens)."""
    card: dict[str, Any] = {
        "recipe": recipe,
        "base": base,
        "data": data,
        "data_hash": data_hash,
        "config": config,
        "metrics": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()},
        "altbench_version": __version__,
        "environment": library_versions(),  # what a bit-for-bit rebuild needs (not part of any run id)
    }
    if adapter_args:
        card["adapter_args"] = adapter_args
    path = Path(folder) / CARD
    path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
