"""Prompt styles shared by the model adapters (no heavy imports).

- ``chat``:  the checkpoint's own chat template, one user turn holding the image and the item's question
  (the full instruction + context, exactly as the data has it);
- ``paper``: the reference code's ``llava_v1`` conversation, built as a literal string (LLaVA checkpoints
  only): ``"{system} USER: <image>\\n{question}\\n ASSISTANT:"``; decoding defaults then follow the
  reference (3 beams, 256 new tokens, repetition penalty 1.0, fp16 on GPU, output stripped);
- ``plain``: ``"<image>\\n{question}"`` with no template (base models with no chat template).

A ``system`` string, where given, is sent as a system turn in ``chat`` style.
"""

from __future__ import annotations

from typing import Any

from altbench.errors import AltbenchError

PROMPT_STYLES = ("chat", "paper", "plain")

# LLaVA's conv_llava_v1 system prompt (llava/conversation.py), verbatim.
LLAVA_V1_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)

# The reference code's decoding (paper-protocol.md, "Inference of the reference code").
PAPER_DECODING = {"num_beams": 3, "max_new_tokens": 256, "repetition_penalty": 1.0, "do_sample": False}


def check_style(style: str) -> str:
    if style not in PROMPT_STYLES:
        raise AltbenchError(f"unknown prompt style {style!r}; choose one of {', '.join(PROMPT_STYLES)}")
    return style


def llava_v1_prompt(question: str, image_token: str = "<image>", system: str = LLAVA_V1_SYSTEM) -> str:
    """The reference code's prompt: ``llava_v1`` conversation with the image token before the question."""
    return f"{system} USER: {image_token}\n{question}\n ASSISTANT:"


def chat_messages(question: str, system: str | None = None, with_image: bool = True) -> list[dict[str, Any]]:
    """One user turn in the structured form every transformers chat template of a VLM accepts."""
    content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
    content.append({"type": "text", "text": question})
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
    messages.append({"role": "user", "content": content})
    return messages
