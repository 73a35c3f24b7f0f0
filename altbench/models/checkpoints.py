"""Named entries for the reference work's checkpoints (sft-7b, dpo-7b, mcmdpo-7b).

They resolve to weights the user has (``--model-arg path=DIR_OR_HUB_ID`` or ``ALTBENCH_<NAME>=DIR``) and
fail with one clear line when the weights are absent. The weights must be in transformers format (the
LLaVA repository's own format is refused with the conversion script to run). Generation itself is the
transformers LLaVA adapter's job (``prompt=paper``: the reference code's conversation and decoding); it is
looked up by its registry target so that this module never imports torch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.base import Adapter, Generation

LLAVA_TARGET = "altbench.models.llava:LlavaAdapter"


def env_var(checkpoint: str) -> str:
    return "ALTBENCH_" + checkpoint.upper().replace("-", "_")


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_weights(checkpoint: str, path: str | None) -> Path | str:
    """The checkpoint folder (or a hub id, ``org/name``), or a MissingResourceError saying how to provide it."""
    var = env_var(checkpoint)
    value = path or os.environ.get(var)
    if not value:
        raise MissingResourceError(
            f"{checkpoint}: weights not configured; pass --model-arg path=DIR_OR_HUB_ID or set {var}=DIR "
            "(a LLaVA-1.6-7B checkpoint in Hugging Face format)")
    folder = Path(value).expanduser()
    if not folder.exists() and _HUB_ID.match(value):
        return value  # a hub id: the LLaVA adapter loads it from the cache or the hub, or says what is missing
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
        except AltbenchError as exc:
            raise MissingResourceError(
                f"{checkpoint}: weights found at {self.folder}, but the transformers LLaVA adapter cannot be "
                f"imported ({exc}); install the hf extra: pip install 'altbench[hf]'") from None
        self._inner = cls(path=str(self.folder), prompt="paper", **generation)
        self.uses_images = self._inner.uses_images

    def prepare(self, split_name: str, data_root: Path | None = None) -> None:
        self._inner.prepare(split_name, data_root)

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        return self._inner.generate(items, images)

    def fingerprint(self) -> dict[str, Any]:
        return self._inner.fingerprint()
