"""Named entries for the reference work's checkpoints (sft-7b, dpo-7b, mcmdpo-7b).

They resolve to weights the user has (``--model-arg path=DIR`` or ``ALTBENCH_<NAME>=DIR``) and fail with
one clear line when the weights are absent. Generation itself is the transformers LLaVA adapter's job; it
is looked up by its registry target so that this module never imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.errors import MissingResourceError
from altbench.models.base import Adapter, Generation

LLAVA_TARGET = "altbench.models.llava:LlavaAdapter"


def env_var(checkpoint: str) -> str:
    return "ALTBENCH_" + checkpoint.upper().replace("-", "_")


def resolve_weights(checkpoint: str, path: str | None) -> Path:
    """The checkpoint folder, or a MissingResourceError saying how to provide it."""
    var = env_var(checkpoint)
    value = path or os.environ.get(var)
    if not value:
        raise MissingResourceError(
            f"{checkpoint}: weights not configured; pass --model-arg path=DIR or set {var}=DIR "
            "(a LLaVA-1.6-7B checkpoint in Hugging Face format)")
    folder = Path(value).expanduser()
    if not (folder / "config.json").is_file():
        raise MissingResourceError(f"{checkpoint}: no checkpoint at {folder} (expected {folder}/config.json)")
    return folder


class PaperCheckpoint(Adapter):
    """A paper checkpoint: resolves its weights, then delegates to the transformers LLaVA adapter."""

    def __init__(self, checkpoint: str, path: str | None = None, **generation: Any) -> None:
        from altbench.models.registry import load_target

        self.folder = resolve_weights(checkpoint, path)
        try:
            cls = load_target(LLAVA_TARGET)
        except Exception:
            raise MissingResourceError(
                f"{checkpoint}: weights found at {self.folder}, but this altbench has no transformers LLaVA "
                "adapter yet (it ships with the real-model adapters)") from None
        self._inner = cls(path=str(self.folder), prompt="paper", **generation)
        self.uses_images = self._inner.uses_images

    def prepare(self, split_name: str) -> None:
        self._inner.prepare(split_name)

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        return self._inner.generate(items, images)

    def fingerprint(self) -> dict[str, Any]:
        return self._inner.fingerprint()
