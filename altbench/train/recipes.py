"""Run a recipe end to end: resolve the base, load data, freeze, train with TRL, save model + card.

``train(config, output)`` is what ``altbench train-baseline`` calls (also under ``accelerate launch``).
Heavy imports happen inside the functions.
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.train.config import RecipeConfig, plan

log = logging.getLogger(__name__)

VISION_KEYS = ("vision_tower", "vision_model", "visual", "image_newline")
PROJECTOR_KEYS = ("multi_modal_projector", "connector", "merger", "mm_projector")


def resolve_base(base: str, seed: int = 0, workdir: str | None = None) -> str:
    """A loadable path or hub id for ``base``: a folder, ``tiny-llava`` (built offline), or a registry name."""
    if Path(base).expanduser().is_dir():
        return str(Path(base).expanduser())
    if base == "tiny-llava":
        from altbench.models.tiny import build_tiny_llava

        folder = Path(workdir or tempfile.mkdtemp(prefix="altbench-tiny-base-")) / "tiny-llava"
        return str(build_tiny_llava(folder, seed=seed))
    from altbench.models.registry import REGISTRY

    try:
        entry = REGISTRY.get(base)
    except AltbenchError:
        return base  # a hub id
    path = entry.args.get("path")
    if not path:
        raise AltbenchError(f"model {base!r} has no weights path a recipe can train ({entry.needs})")
    return str(path)


def load_model(source: str, config: RecipeConfig) -> tuple[Any, Any, str]:
    """(model, processor, image mode). LLaVA-1.6 bases get the reference's padded single image (``pad``:
    :mod:`altbench.models.llava_pad`), every negative image kind included; others their own processor."""
    import torch

    from altbench.models.hf_files import ensure_torchvision
    from altbench.models.llava_pad import load_padded, trains_padded

    ensure_torchvision()
    from transformers import AutoModelForImageTextToText, AutoProcessor

    dtype = torch.bfloat16 if config.bf16 else torch.float32
    if trains_padded(source):
        model, processor = load_padded(source, dtype)
        return model, processor, "pad"
    model = AutoModelForImageTextToText.from_pretrained(source, dtype=dtype)
    processor = AutoProcessor.from_pretrained(source)
    return model, processor, "native"


def part_of(name: str) -> str:
    if any(k in name for k in VISION_KEYS):
        return "vision"
    if any(k in name for k in PROJECTOR_KEYS):
        return "projector"
    return "language"


def freeze(model: Any, config: RecipeConfig) -> dict[str, int]:
    """Set requires_grad per part; returns trainable parameter counts per part."""
    on = {"vision": config.train_vision_tower, "projector": config.train_projector,
          "language": config.train_language_model}
    counts = {"vision": 0, "projector": 0, "language": 0}
    for name, param in model.named_parameters():
        part = part_of(name)
        param.requires_grad_(on[part])
        if on[part]:
            counts[part] += param.numel()
    return counts


def peft_config_for(config: RecipeConfig):
    if not config.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=int(config.lora.get("r", 16)), lora_alpha=int(config.lora.get("alpha", 32)),
                      lora_dropout=float(config.lora.get("dropout", 0.05)),
                      target_modules=config.lora.get("target_modules", "all-linear"), task_type="CAUSAL_LM")


def build(config: RecipeConfig, output: str, items: list | None = None, base_dir: str | None = None):
    """(trainer, data hash) for ``config``, without training (tests and the benchmark use this)."""
    from altbench.train import data as train_data
    from altbench.train import dpo, sft

    if items is None:
        items, data_hash = train_data.load_items(config.data, config.data_root, config.images, config.max_items,
                                                 need_pairs=config.recipe != "sft")
    else:
        _, data_hash = None, "items:" + str(len(items))
    source = resolve_base(config.base, config.seed, base_dir)
    model, processor, image_mode = load_model(source, config)
    peft_config = peft_config_for(config)
    if peft_config is None:
        freeze(model, config)
    ref_model = None
    if config.recipe != "sft" and peft_config is None:
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    # the reference's use_cross_modal_loss=False: plain DPO on the two sequences of each pair
    kind = "dpo" if config.recipe == "mcmdpo" and not config.use_cross_modal_loss else config.recipe
    dataset = train_data.row_dataset(items, "dpo" if kind == "mpo" else kind)
    builder = {"sft": sft.build_trainer, "dpo": dpo.build_trainer, "mcmdpo": dpo.build_mcmdpo_trainer,
               "mdpo": dpo.build_mdpo_trainer, "mpo": dpo.build_mpo_trainer}
    trainer = builder[kind](config, model, processor, dataset, output, peft_config=peft_config,
                            ref_model=ref_model)
    trainer.altbench_image_mode = image_mode  # written to the card, so evaluation feeds images the same way
    return trainer, data_hash


def train(config: RecipeConfig, output: str, adapter_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train, save the model and processor to ``output`` in Hugging Face format, write the card."""
    from altbench.train.card import write_card

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="altbench-base-") as base_dir:
        trainer, data_hash = build(config, str(out), base_dir=base_dir)
        result = trainer.train()
        metrics = dict(result.metrics)
        for entry in trainer.state.log_history:
            metrics.update({f"last_{k}": v for k, v in entry.items() if k.startswith(("loss", "rewards/"))})
        metrics["global_step"] = trainer.state.global_step
        if not config.lora:
            trainer.save_model(str(out))  # gathers ZeRO-3 shards
        if trainer.accelerator.is_main_process:
            if config.lora:  # merged, so the registry loads a plain checkpoint
                trainer.accelerator.unwrap_model(trainer.model).merge_and_unload().save_pretrained(str(out))
            trainer.processing_class.save_pretrained(str(out))
            for path in out.iterdir():  # safetensors writes 0600; the folder may be shipped or shared
                if path.is_file():
                    path.chmod(0o644)
            for junk in ("training_args.bin", "README.md"):
                (out / junk).unlink(missing_ok=True)
            if trainer.altbench_image_mode == "pad":
                adapter_args = {**(adapter_args or {}), "image_mode": "pad"}
            write_card(out, recipe=config.recipe, base=config.base, data=config.data, data_hash=data_hash,
                       config=config.to_dict(), metrics=metrics, adapter_args=adapter_args)
    log.info("saved %s checkpoint to %s", config.recipe, out)
    return metrics


def describe(config: RecipeConfig) -> str:
    """The dry-run plan as text (data size when the data is available here)."""
    from altbench.train import data as train_data

    try:
        items, _ = train_data.load_items(config.data, config.data_root, config.images, config.max_items,
                                         need_pairs=config.recipe != "sft")
        n: int | None = len(items)
    except AltbenchError as exc:
        log.warning("data not loaded for the plan: %s", exc)
        n = None
    resolved = plan(config, n)
    width = max(len(k) for k in resolved)
    lines = [f"{k:<{width}}  {v}" for k, v in resolved.items()]
    return "\n".join(lines) + "\n" + json.dumps({"config": config.to_dict()}, sort_keys=True) + "\n"
