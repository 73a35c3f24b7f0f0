"""The reference code's LLaVA image handling (``image_aspect_ratio pad``), shared by inference and training.

One image, padded to a square with the CLIP mean colour (LLaVA's ``expand2square``: the colour is
``int(mean * 255)`` per channel, the image centred), resized to the vision tower's size (336 px for
LLaVA-1.6), normalised with CLIP's mean and std: 576 image tokens, no tiles, no ``image_newline``. The
reference's ``prepare_inputs_labels_for_multimodal`` takes its 4-D branch (``encode_images``) for such
tensors, i.e. vision tower + projector + language model, which is what transformers'
``LlavaForConditionalGeneration`` computes. A LLaVA-NeXT (``llava_next``) checkpoint therefore runs through that
class with the same weights (vision tower, projector and language model have the same names; the unused
``image_newline`` vector is left out). transformers' ``LlavaNextForConditionalGeneration`` cannot do this: it
always adds ``image_newline`` after a single tile and needs at least two tiles per image (base + grid).

Everything is set explicitly here, not read from the checkpoint's processor config: only its tokenizer,
chat template and image token are reused. torch and transformers are imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from altbench.models.hf_files import ensure_torchvision, load_config, local_model_type, read_card

PADDED_FAMILIES = ("llava", "llava_next")


def trains_padded(source: str) -> bool:
    """Whether a training base gets the padded single image: LLaVA-1.6 always (the reference's setting);
    a ``llava`` checkpoint when its card says it was trained that way (a recipe's LLaVA-1.6 output)."""
    folder = Path(source)
    if not folder.is_dir():
        return load_config(source).model_type == "llava_next"
    model_type = local_model_type(folder)
    if model_type == "llava_next":
        return True
    return model_type == "llava" and read_card(folder).get("adapter_args", {}).get("image_mode") == "pad"


def llava_config_for(config: Any) -> Any:
    """A ``LlavaConfig`` with the vision, projector and text settings of a LLaVA or LLaVA-NeXT config."""
    from transformers import LlavaConfig

    if config.model_type == "llava":
        return config
    return LlavaConfig(
        vision_config=config.vision_config,
        text_config=config.text_config,
        image_token_id=config.image_token_id,
        projector_hidden_act=config.projector_hidden_act,
        vision_feature_select_strategy=config.vision_feature_select_strategy,
        vision_feature_layer=config.vision_feature_layer,
        multimodal_projector_bias=getattr(config, "multimodal_projector_bias", True),
        tie_word_embeddings=getattr(config, "tie_word_embeddings", False),
    )


def padded_processor(native: Any, model_config: Any) -> Any:
    """A ``LlavaProcessor`` that pads to square with CLIP's mean colour and resizes to the tower's size.

    ``native`` gives the tokenizer, chat template and image token only. A CLIP tower gets CLIP's mean/std
    and bicubic resampling (the reference's ``CLIPImageProcessor``); another tower keeps its processor's.
    """
    from transformers import LlavaProcessor
    from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil
    from transformers.utils.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    vision = model_config.vision_config
    side = vision.image_size
    clip = vision.model_type == "clip_vision_model"
    ip = native.image_processor
    image_processor = LlavaImageProcessorPil(
        do_pad=True,
        size={"shortest_edge": side},
        crop_size={"height": side, "width": side},
        image_mean=list(OPENAI_CLIP_MEAN if clip else ip.image_mean),
        image_std=list(OPENAI_CLIP_STD if clip else ip.image_std),
        resample=3 if clip else ip.resample,  # PIL bicubic, as CLIP's processor
    )
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=native.tokenizer,
        patch_size=vision.patch_size,
        vision_feature_select_strategy=model_config.vision_feature_select_strategy,
        num_additional_image_tokens=1 if clip else 0,  # CLIP's CLS position
        chat_template=getattr(native, "chat_template", None),
        image_token=native.image_token,
    )


def load_padded(source: str, dtype: Any, load_model: Any = None, processor: Any = None,
                revision: str | None = None) -> tuple[Any, Any]:
    """(``LlavaForConditionalGeneration``, padded processor) for a LLaVA or LLaVA-NeXT checkpoint.

    ``load_model(cls, source, dtype, **extra)`` loads the weights (an adapter passes its own, with device and
    PEFT handling); default: ``cls.from_pretrained``. ``processor``: the checkpoint's own (default: loaded).
    """
    ensure_torchvision()
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from altbench.models.hf_base import quiet_transformers

    config = load_config(source, revision)
    extra: dict[str, Any] = {"config": llava_config_for(config)} if config.model_type == "llava_next" else {}
    with quiet_transformers():  # the llava_next checkpoint's image_newline is unused here, by design
        if load_model is None:
            model = LlavaForConditionalGeneration.from_pretrained(source, dtype=dtype, **extra)
        else:
            model = load_model(LlavaForConditionalGeneration, source, dtype, **extra)
    native = processor if processor is not None else AutoProcessor.from_pretrained(source)
    return model, padded_processor(native, model.config)
