"""Qwen2-VL and Qwen2.5-VL checkpoints (``Qwen/Qwen2-VL-*-Instruct``, ``Qwen/Qwen2.5-VL-*-Instruct``).

Images go in at their own aspect ratio; the processor resizes each to a multiple of 28 px between
``min_pixels`` and ``max_pixels`` (one image token per 28x28 area). The checkpoint's default allows up to
about 12.8 M pixels (16k tokens), far more than alt-text needs: ``max_pixels`` defaults here to 1003520
(1280 tokens, the value Qwen's model cards suggest for limited memory) and is recorded in the fingerprint.
"""

from __future__ import annotations

from typing import Any

from altbench.models.hf_base import HFVisionAdapter

DEFAULT_MAX_PIXELS = 1280 * 28 * 28


class QwenVLAdapter(HFVisionAdapter):
    """Qwen2-VL / Qwen2.5-VL through ``AutoModelForImageTextToText`` with the checkpoint's chat template."""

    family = "qwen_vl"

    def __init__(
        self,
        path: str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        **kwargs: Any,
    ) -> None:
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        super().__init__(path=path, **kwargs)

    def load_processor(self, source: str) -> Any:
        processor = super().load_processor(source)
        ip = processor.image_processor
        size = (
            dict(ip.size)
            if isinstance(ip.size, dict)
            else {"shortest_edge": ip.size.shortest_edge, "longest_edge": ip.size.longest_edge}
        )
        if self.min_pixels is not None:
            size["shortest_edge"] = int(self.min_pixels)
        if self.max_pixels is not None:
            size["longest_edge"] = int(self.max_pixels)
        ip.size = size
        self.pixels = (size["shortest_edge"], size["longest_edge"])
        return processor

    def extra_fingerprint(self) -> dict[str, Any]:
        return {"min_pixels": self.pixels[0], "max_pixels": self.pixels[1]}
