"""``altbench train-baseline RECIPE --config CFG --smoke``: the config's whole code path on a tiny model, offline.

The base is replaced by a tiny randomly initialised model of the same architecture class
(:data:`altbench.models.tiny.BUILDERS`, built offline), which then goes through the same loading as the real
base (LLaVA-1.6's padded single image included); the data falls back to ``demo-train`` when the config's is
not here; the run takes 2 optimizer steps at batch 2 on one process, fp32, everything else (recipe, terms,
weights, negatives, LoRA, gradient checkpointing, max length) as configured. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from altbench.errors import AltbenchError
from altbench.train.config import RecipeConfig

log = logging.getLogger(__name__)

SMOKE_STEPS = 2
SMOKE_BATCH = 2
SMOKE_DATA = "demo-train"


def base_architecture(config: RecipeConfig) -> str:
    """The base's ``model_type``: from the config, the local checkpoint, or ``llava`` for ``tiny-llava``."""
    from altbench.models.hf_files import local_model_type

    if config.base_architecture:
        return config.base_architecture
    folder = Path(config.base).expanduser()
    found = local_model_type(folder) if folder.is_dir() else None
    if found:
        return found
    if config.base == "tiny-llava":
        return "llava"
    raise AltbenchError(f"--smoke: cannot tell the architecture of base {config.base!r} here; "
                        "set base_architecture (e.g. llava_next) in the config")


def tiny_base(architecture: str, workdir: str | Path, seed: int = 0) -> Path:
    """A tiny random model of ``architecture`` in ``workdir/architecture`` (built once, reused after)."""
    from altbench.models.tiny import BUILDERS

    if architecture not in BUILDERS:
        raise AltbenchError(f"--smoke: no tiny model of architecture {architecture!r} "
                            f"(available: {', '.join(sorted(BUILDERS))})")
    folder = Path(workdir) / f"tiny-{architecture}-{seed}"
    if not (folder / "config.json").is_file():
        BUILDERS[architecture](folder, seed=seed)
    return folder


def smoke_config(config: RecipeConfig, workdir: str | Path) -> RecipeConfig:
    """``config`` with a tiny base of the same architecture, data that is here, 2 steps on one CPU process."""
    from altbench.train.data import load_items

    architecture = base_architecture(config)
    data, data_root, images = config.data, config.data_root, config.images
    try:
        load_items(data, data_root, images, max_items=1, need_pairs=config.recipe != "sft")
    except AltbenchError as exc:
        log.warning("--smoke: %s; using %s instead", exc, SMOKE_DATA)
        data, data_root, images = SMOKE_DATA, None, None
    return dataclasses.replace(
        config,
        base=str(tiny_base(architecture, workdir, config.seed)),
        base_architecture=architecture,
        data=data, data_root=data_root, images=images,
        max_items=SMOKE_STEPS * SMOKE_BATCH,
        max_steps=SMOKE_STEPS,
        per_device_train_batch_size=SMOKE_BATCH,
        gradient_accumulation_steps=1,
        num_devices=1,
        bf16=False,
        logging_steps=1,
        save_strategy="no",
        description=f"SMOKE TEST of {config.description or config.recipe} (tiny random {architecture}, "
                    f"not a trained model)",
    )
