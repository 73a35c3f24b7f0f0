"""LLaVA-1.5 (``llava``) and LLaVA-1.6 / LLaVA-NeXT (``llava_next``) checkpoints in transformers format.

Prompt styles: ``chat`` (the checkpoint's template) and ``paper``: the reference code's ``llava_v1``
conversation with its decoding (3 beams, 256 new tokens, repetition penalty 1.0, fp16 on GPU).

Image handling (``image_mode``):

- ``native``: the checkpoint's own processor. For LLaVA-1.6 that is transformers' any-resolution tiling
  (a base image plus up to four 336 px tiles, up to about 2,900 image tokens).
- ``pad``: what the reference code fed its LLaVA-1.6 model: one image padded to a square with CLIP's mean
  colour (LLaVA's ``expand2square``), resized to the vision tower's size (336 px), 576 image tokens, no tiles
  and no newline token, set explicitly (:mod:`altbench.models.llava_pad`, shared with the training
  recipes). For a ``llava_next`` checkpoint the same weights are run through
  ``LlavaForConditionalGeneration`` (identical vision tower, projector and language model; the unused
  ``image_newline`` vector is dropped), which is exactly the reference's 4-D ``encode_images`` path.

Default: ``pad`` with ``prompt=paper``, ``native`` otherwise (a recipe's LLaVA-1.6 checkpoint says ``pad`` in
its card, so it is evaluated the way it was trained).

Original-format LLaVA checkpoints (``model_type: llava_llama``, as the LLaVA repository saves them) must be
converted first with transformers' ``convert_llava_next_weights_to_hf.py``; the adapter says so.
"""

from __future__ import annotations

from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.hf_base import HFVisionAdapter, checkpoint_model_type
from altbench.models.llava_pad import load_padded
from altbench.models.prompts import PAPER_DECODING, llava_v1_prompt

IMAGE_MODES = ("native", "pad")


class LlavaAdapter(HFVisionAdapter):
    """LLaVA-1.5 and LLaVA-1.6 (LLaVA-NeXT) checkpoints; ``image_mode`` chooses tiling or one padded image."""

    family = "llava"

    def __init__(
        self, path: str | None = None, prompt: str = "chat", image_mode: str | None = None, **kwargs: Any
    ) -> None:
        mode = image_mode or ("pad" if prompt == "paper" else "native")
        if mode not in IMAGE_MODES:
            raise AltbenchError(f"image_mode must be one of {', '.join(IMAGE_MODES)}, got {mode!r}")
        self.image_mode = mode
        super().__init__(path=path, prompt=prompt, **kwargs)

    def default_decoding(self) -> dict[str, Any]:
        return dict(PAPER_DECODING) if self.prompt == "paper" else {}

    def load(self, source: str, dtype: Any) -> tuple[Any, Any]:
        model_type = checkpoint_model_type(source, self.revision)
        if model_type == "llava_llama":
            raise MissingResourceError(
                f"{source} is an original-format LLaVA checkpoint (model_type llava_llama); convert it to the "
                "transformers format with transformers' convert_llava_next_weights_to_hf.py "
                "(convert_llava_weights_to_hf.py for LLaVA-1.5) and pass the converted folder"
            )
        if model_type not in ("llava", "llava_next"):
            raise AltbenchError(
                f"{source} is a {model_type} checkpoint, not LLaVA; use --model hf or the "
                "matching entry (`altbench models`)"
            )
        self.architecture = model_type
        if self.image_mode == "native":
            import transformers

            cls = (
                transformers.LlavaNextForConditionalGeneration
                if model_type == "llava_next"
                else transformers.LlavaForConditionalGeneration
            )
            return self.load_model(cls, source, dtype), self.load_processor(source)
        return self._load_padded(source, dtype)

    def _load_padded(self, source: str, dtype: Any) -> tuple[Any, Any]:
        """One square-padded image through LlavaForConditionalGeneration (the reference code's path)."""
        return load_padded(source, dtype, load_model=self.load_model, processor=self.load_processor(source),
                           revision=self.revision)

    def build_prompt(self, item: Item) -> str:
        if self.prompt == "paper":
            return llava_v1_prompt(item.question, self.image_token)
        return super().build_prompt(item)

    def extra_fingerprint(self) -> dict[str, Any]:
        return {"architecture": self.architecture, "image_mode": self.image_mode}
