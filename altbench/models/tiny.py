"""Tiny, randomly initialised vision-language models built offline through the real transformers classes.

Nothing can be downloaded from a model hub in CI, so every transformers adapter is tested on these: the
same ``from_pretrained`` code path as a 7B checkpoint, on a model of about half a million parameters that
builds in a fraction of a second. The training recipes reuse :func:`build_tiny_llava` as their embedded default
model.

Each builder is deterministic for a given ``seed`` (same bytes on disk), writes ``model + processor`` with
``save_pretrained`` into ``path`` and returns ``path``:

- :func:`build_tiny_llava`: ``LlavaForConditionalGeneration`` (CLIP vision tower, Llama text model), a
  Vicuna-style chat template whose generation prompt ends in ``ASSISTANT:``;
- :func:`build_tiny_llava_next`: ``LlavaNextForConditionalGeneration`` (image tiling, like LLaVA-1.6);
- :func:`build_tiny_qwen2_vl`: ``Qwen2VLForConditionalGeneration`` / ``Qwen2_5_VL...`` with a ChatML
  template and dynamic-resolution image tokens;
- :func:`build_tiny_idefics3`: ``Idefics3ForConditionalGeneration`` (the SmolVLM family).

torch and transformers are imported inside the functions only.
"""

from __future__ import annotations

from pathlib import Path

from altbench.models.hf_files import ensure_torchvision
from altbench.models.tiny_parts import (
    IMAGE_SIZE,
    PATCH,
    QWEN_CHAT_TEMPLATE,
    SMOLVLM_CHAT_TEMPLATE,
    VICUNA_CHAT_TEMPLATE,
    clip_vision_config,
    init_weights,
    llama_config,
    save_folder,
    train_tokenizer,
    vicuna_tokenizer,
)


def build_tiny_llava(path: str | Path, seed: int = 0, image_size: int = IMAGE_SIZE) -> Path:
    """A ~0.57 M-parameter LLaVA-1.5-style model + ``LlavaProcessor`` saved to ``path``."""
    ensure_torchvision()
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil

    tokenizer = vicuna_tokenizer()
    config = LlavaConfig(
        vision_config=clip_vision_config(image_size),
        text_config=llama_config(len(tokenizer)),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    model = init_weights(LlavaForConditionalGeneration, config, seed)
    image_processor = LlavaImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=VICUNA_CHAT_TEMPLATE,
    )
    return save_folder(model, processor, path)


def build_tiny_llava_next(path: str | Path, seed: int = 0, image_size: int = IMAGE_SIZE) -> Path:
    """A tiny LLaVA-NeXT (LLaVA-1.6 architecture: tiles up to 2x2 of ``image_size``) saved to ``path``."""
    ensure_torchvision()
    from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    s = image_size
    pinpoints = [[s, 2 * s], [2 * s, s], [2 * s, 2 * s]]
    tokenizer = vicuna_tokenizer()
    config = LlavaNextConfig(
        vision_config=clip_vision_config(s),
        text_config=llama_config(len(tokenizer)),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        image_grid_pinpoints=pinpoints,
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    model = init_weights(LlavaNextForConditionalGeneration, config, seed)
    image_processor = LlavaNextImageProcessorPil(
        size={"shortest_edge": s}, crop_size={"height": s, "width": s}, image_grid_pinpoints=pinpoints
    )
    processor = LlavaNextProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=VICUNA_CHAT_TEMPLATE,
    )
    return save_folder(model, processor, path)


QWEN_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


def build_tiny_qwen2_vl(path: str | Path, seed: int = 0, version: str = "2") -> Path:
    """A tiny Qwen2-VL (``version="2"``) or Qwen2.5-VL (``"2.5"``) with its processor, saved to ``path``."""
    ensure_torchvision()
    from transformers import Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = train_tokenizer(
        QWEN_SPECIALS, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token="<|endoftext|>"
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "rope_parameters": {"rope_type": "default", "mrope_section": [4, 6, 6], "rope_theta": 10000.0},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    common = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }
    if version == "2":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        vision = {
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": 128,
            "num_heads": 4,
            "patch_size": PATCH,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "mlp_ratio": 2,
        }
        config = Qwen2VLConfig(text_config=text, vision_config=vision, **common)
        model_cls = Qwen2VLForConditionalGeneration
    elif version == "2.5":
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "out_hidden_size": 128,
            "num_heads": 4,
            "patch_size": PATCH,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 32,
            "fullatt_block_indexes": [1],
        }
        config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
        model_cls = Qwen2_5_VLForConditionalGeneration
    else:
        raise ValueError(f"version must be '2' or '2.5', got {version!r}")
    model = init_weights(model_cls, config, seed)
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=PATCH,
        merge_size=2,
        temporal_patch_size=2,
        min_pixels=32 * 32,
        max_pixels=IMAGE_SIZE * IMAGE_SIZE,
    )
    processor = Qwen2VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=_qwen_video_processor(),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    return save_folder(model, processor, path)


def _qwen_video_processor():
    try:
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        return Qwen2VLVideoProcessor(patch_size=PATCH, merge_size=2, temporal_patch_size=2)
    except (ImportError, ValueError):  # needs torchvision; images only need the image processor
        return None


IDEFICS3_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<end_of_utterance>",
    "<image>",
    "<fake_token_around_image>",
    "<global-img>",
    "<pad>",
) + tuple(f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7))


def build_tiny_idefics3(path: str | Path, seed: int = 0) -> Path:
    """A tiny Idefics3 (the SmolVLM family: SigLIP tower, pixel shuffle, Llama text model, image splitting).

    SmolVLM checkpoints use the same model code; their processor also needs the ``num2words`` package.
    """
    ensure_torchvision()
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    tokenizer = train_tokenizer(
        IDEFICS3_SPECIALS,
        eos_token="<end_of_utterance>",
        pad_token="<pad>",
        unk_token="<|endoftext|>",
        bos_token="<|im_start|>",
    )
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in IDEFICS3_SPECIALS[:7]}
    scale = 2
    text = llama_config(
        len(tokenizer),
        bos_token_id=ids["<|im_start|>"],
        eos_token_id=ids["<end_of_utterance>"],
        pad_token_id=ids["<pad>"],
    ).to_dict()
    vision = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "image_size": IMAGE_SIZE,
        "patch_size": PATCH,
    }
    config = Idefics3Config(
        text_config=text,
        vision_config=vision,
        scale_factor=scale,
        image_token_id=ids["<image>"],
        pad_token_id=ids["<pad>"],
    )
    model = init_weights(Idefics3ForConditionalGeneration, config, seed)
    image_processor = Idefics3ImageProcessorPil(
        size={"longest_edge": 2 * IMAGE_SIZE},
        max_image_size={"longest_edge": IMAGE_SIZE},
        do_image_splitting=True,
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=(IMAGE_SIZE // PATCH) ** 2 // scale**2,
        chat_template=SMOLVLM_CHAT_TEMPLATE,
    )
    return save_folder(model, processor, path)


BUILDERS = {
    "llava": build_tiny_llava,
    "llava_next": build_tiny_llava_next,
    "qwen2_vl": build_tiny_qwen2_vl,
    "qwen2_5_vl": lambda path, seed=0: build_tiny_qwen2_vl(path, seed, version="2.5"),
    "idefics3": build_tiny_idefics3,
}
