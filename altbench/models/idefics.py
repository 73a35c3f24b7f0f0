"""Idefics3 and SmolVLM checkpoints (``HuggingFaceM4/Idefics3-8B-Llama3``, ``HuggingFaceTB/SmolVLM-*``).

The processor splits each image into tiles of ``max_image_size`` plus a global view. ``image_splitting``
turns that off (one image, fewer tokens); ``longest_edge`` sets the resize before splitting. Both are in
the fingerprint. SmolVLM's processor needs the ``num2words`` package (part of the ``hf`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from altbench.models.hf_base import HFVisionAdapter


class Idefics3Adapter(HFVisionAdapter):
    """Idefics3 / SmolVLM: one image per prompt, passed as a nested list as their processors expect."""

    family = "idefics3"

    def __init__(
        self,
        path: str | None = None,
        image_splitting: bool | None = None,
        longest_edge: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.image_splitting = image_splitting
        self.longest_edge = longest_edge
        super().__init__(path=path, **kwargs)

    def load_processor(self, source: str) -> Any:
        processor = super().load_processor(source)
        ip = processor.image_processor
        if self.image_splitting is not None:
            ip.do_image_splitting = bool(self.image_splitting)
        if self.longest_edge is not None:
            ip.size = {"longest_edge": int(self.longest_edge)}
        return processor

    def processor_inputs(self, prompts: list[str], images: Sequence[Any]) -> Any:
        return self.processor(
            text=prompts, images=[[img] for img in images], return_tensors="pt", padding=True
        )

    def extra_fingerprint(self) -> dict[str, Any]:
        ip = self.processor.image_processor
        size = (
            ip.size if isinstance(ip.size, dict) else {"longest_edge": getattr(ip.size, "longest_edge", None)}
        )
        return {"image_splitting": bool(ip.do_image_splitting), "size": dict(size)}
