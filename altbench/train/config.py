"""Recipe configuration: one dataclass for the five recipes, YAML loading, cross-field checks, dry-run plan.

A recipe YAML holds the fields of :class:`RecipeConfig` (unknown keys are an error). Command-line values
(``--base``, ``--data``, ``--output``) override the file. Nothing here imports torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError

RECIPES = ("sft", "dpo", "mcmdpo", "mdpo", "mpo")
NEGATIVE_IMAGES = ("diffusion", "black", "crop", "rotate", "random", "resized_crop")
# the negative image each recipe's reference uses: MCM-DPO's diffusion noise, mDPO's random resized crop
DEFAULT_NEGATIVE_IMAGE = {"mcmdpo": "diffusion", "mdpo": "resized_crop"}
# MCM-DPO preference terms in the reference trainer's enabling order, each (weight name as the reference's
# argument, preference, negative (context, image, response) with True = the negative one). The reference always
# uses para_r3 (response); use_cross_modal_loss adds para_r2 (image); use_cl_reward_num N > 2 adds the next
# N - 2 terms, so N <= 2 gives two terms.
MCMDPO_TERMS = (
    ("para_r3", "response", (False, False, True)),
    ("para_r2", "image", (False, True, False)),
    ("para_r1", "context", (True, False, False)),
    ("para_r4", "context+response", (True, False, True)),
    ("para_r5", "image+response", (False, True, True)),
    ("para_r6", "context+image", (True, True, False)),
    ("para_r7", "all", (True, True, True)),
)
WEIGHT_NAMES = tuple(f"para_r{k}" for k in range(1, 8))
# scripts/mcmdpo.sh of the reference: r1 context 0.5, r2 image 0.5, r3 response 1.0, r4..r7 0.2, norm 2.8.
REFERENCE_WEIGHTS = {"para_r1": 0.5, "para_r2": 0.5, "para_r3": 1.0, "para_r4": 0.2, "para_r5": 0.2,
                     "para_r6": 0.2, "para_r7": 0.2}
# MPO's terms and weights: InternVL2.5-MPO (internvl_chat/shell/internvl2.5_mpo/preference_optimization/
# internvl2_5_8b_internlm2_5_7b_dynamic_res_mpo.sh: --loss_type sigmoid,bco_pair --sigmoid_loss_weight 0.8
# --bco_pair_loss_weight 0.2 --rpo_alpha 1), which TRL's DPOConfig documents as loss_weights [0.8, 0.2, 1.0].
MPO_LOSS_TYPES = ("sigmoid", "bco_pair", "sft")
MPO_WEIGHTS = {"sigmoid": 0.8, "bco_pair": 0.2, "sft": 1.0}
RENAMED = {"mcmdpo_terms": "use_cl_reward_num", "mcmdpo_weights": "para_r1..para_r7",
           "mcmdpo_norm": "para_norm"}


def mcmdpo_terms_used(use_cl_reward_num: int) -> tuple:
    """The terms the reference trains with cross-modal loss on: response and image, then N - 2 more."""
    return MCMDPO_TERMS[: max(2, use_cl_reward_num)]


@dataclass
class RecipeConfig:
    """Everything a recipe run needs; defaults are the small CPU demo settings.

    recipe:            ``sft`` | ``dpo`` | ``mcmdpo`` | ``mdpo`` | ``mpo``.
    base:              registry name or checkpoint folder of the starting model; ``tiny-llava`` builds the tiny
                       offline LLaVA (:func:`altbench.models.tiny.build_tiny_llava`) with ``seed``.
    data:              split name (``demo-train``, ``talt-train``...) or a train-format JSON file.
    data_root, images: as ``altbench run`` takes them.
    max_items:         use only the first N items (0: all).
    learning_rate, num_train_epochs, max_steps (> 0 overrides epochs), per_device_train_batch_size,
    gradient_accumulation_steps, num_devices (for the plan; the launcher decides at run time),
    lr_scheduler_type, warmup_ratio, weight_decay, adam_beta2, max_length, bf16, gradient_checkpointing, seed,
    logging_steps, save_strategy: as in transformers' TrainingArguments.
    train_vision_tower, train_projector, train_language_model: what is trained (the rest is frozen).
    lora:              ``{r, alpha, dropout, target_modules}`` to train LoRA adapters instead (one GPU); {}: off.
    base_architecture: the base's ``model_type`` (e.g. ``llava_next``) when the base is not a local folder:
                       checked against a local base, and what ``--smoke`` builds a tiny model of.
    beta:              DPO / MCM-DPO / mDPO / MPO temperature (0.1); log-probabilities are summed over response
                       tokens.
    use_cross_modal_loss: the reference's switch (MCM-DPO only): false trains plain DPO (unweighted, beta).
    use_cl_reward_num: the reference's term count, 2..7: response (para_r3) and image (para_r2), then
                       context (r1), context+response (r4), image+response (r5), context+image (r6), all (r7).
    para_r1..para_r7:  the reference's weights (r1 context, r2 image, r3 response, r4..r7 as above);
    para_norm:         their divisor (2.8, their sum).
    negative_image:    MCM-DPO's negative / mDPO's corrupted image: diffusion | black | crop | rotate | random |
                       resized_crop; default diffusion (MCM-DPO) or resized_crop (mDPO), each reference's own.
    diffusion_step:    0..999 (700).
    mpo_weights:       MPO's ``{sigmoid, bco_pair, sft}`` weights (0.8, 0.2, 1.0: InternVL2.5-MPO's).
    bco_reward_shift:  MPO: subtract the running mean reward in the quality (BCO) loss, as published (true);
                       false gives TRL 1.16's ``bco_pair`` (no shift).
    eval_args:         evaluation adapter defaults written to the card (``adapter_args``), e.g. max_new_tokens.
    description:       free text, kept in the card.
    """

    recipe: str = "sft"
    base: str = "tiny-llava"
    data: str = "demo-train"
    data_root: str | None = None
    images: str | None = None
    max_items: int = 0
    learning_rate: float = 2e-5
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    num_devices: int = 1
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    adam_beta2: float = 0.999
    max_length: int | None = 2048
    bf16: bool = False
    gradient_checkpointing: bool = False
    seed: int = 0
    logging_steps: int = 10
    save_strategy: str = "no"
    train_vision_tower: bool = True
    train_projector: bool = True
    train_language_model: bool = True
    lora: dict[str, Any] = field(default_factory=dict)
    base_architecture: str | None = None
    beta: float = 0.1
    use_cross_modal_loss: bool = True
    use_cl_reward_num: int = 7
    para_r1: float = REFERENCE_WEIGHTS["para_r1"]
    para_r2: float = REFERENCE_WEIGHTS["para_r2"]
    para_r3: float = REFERENCE_WEIGHTS["para_r3"]
    para_r4: float = REFERENCE_WEIGHTS["para_r4"]
    para_r5: float = REFERENCE_WEIGHTS["para_r5"]
    para_r6: float = REFERENCE_WEIGHTS["para_r6"]
    para_r7: float = REFERENCE_WEIGHTS["para_r7"]
    para_norm: float = 2.8
    negative_image: str | None = None
    diffusion_step: int = 700
    mpo_weights: dict[str, float] = field(default_factory=lambda: dict(MPO_WEIGHTS))
    bco_reward_shift: bool = True
    eval_args: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise AltbenchError(f"recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        if self.learning_rate <= 0:
            raise AltbenchError("learning_rate must be > 0")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise AltbenchError("set num_train_epochs > 0 or max_steps > 0")
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "num_devices"):
            if getattr(self, name) < 1:
                raise AltbenchError(f"{name} must be >= 1")
        if not 0 <= self.warmup_ratio < 1:
            raise AltbenchError("warmup_ratio must be in [0, 1)")
        for name in WEIGHT_NAMES:
            setattr(self, name, float(getattr(self, name)))
        if not 2 <= self.use_cl_reward_num <= len(MCMDPO_TERMS):
            raise AltbenchError(
                f"use_cl_reward_num must be 2..7, got {self.use_cl_reward_num}: the reference has no one-term "
                "MCM-DPO (N <= 2 trains response + image); plain DPO is use_cross_modal_loss: false or recipe dpo")
        if self.para_norm <= 0:
            raise AltbenchError("para_norm must be > 0")
        if self.negative_image is None:
            self.negative_image = DEFAULT_NEGATIVE_IMAGE.get(self.recipe, "diffusion")
        if self.negative_image not in NEGATIVE_IMAGES:
            raise AltbenchError(f"negative_image must be one of {', '.join(NEGATIVE_IMAGES)}")
        if not 0 <= self.diffusion_step < 1000:
            raise AltbenchError("diffusion_step must be in 0..999")
        if not 0 < self.adam_beta2 < 1:
            raise AltbenchError("adam_beta2 must be in (0, 1)")
        if not isinstance(self.mpo_weights, dict) or set(self.mpo_weights) != set(MPO_LOSS_TYPES):
            raise AltbenchError(f"mpo_weights needs exactly {', '.join(MPO_LOSS_TYPES)} as a mapping, got "
                                f"{self.mpo_weights!r}")
        try:
            self.mpo_weights = {name: float(self.mpo_weights[name]) for name in MPO_LOSS_TYPES}
        except (TypeError, ValueError):
            raise AltbenchError(f"mpo_weights must be numbers, got {self.mpo_weights!r}") from None
        if self.lora:
            unknown = set(self.lora) - {"r", "alpha", "dropout", "target_modules"}
            if unknown:
                raise AltbenchError(f"unknown lora keys: {', '.join(sorted(unknown))}")
        if not (self.train_vision_tower or self.train_projector or self.train_language_model or self.lora):
            raise AltbenchError("nothing to train: enable a part or lora")
        if self.recipe != "sft" and self.beta <= 0:
            raise AltbenchError("beta must be > 0")

    @property
    def effective_batch(self) -> int:
        return self.per_device_train_batch_size * self.gradient_accumulation_steps * self.num_devices

    @property
    def weights(self) -> dict[str, float]:
        """``para_r1..para_r7`` by name."""
        return {name: getattr(self, name) for name in WEIGHT_NAMES}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_config(path: str | Path | None, recipe: str, **overrides: Any) -> RecipeConfig:
    """Read a recipe YAML (or defaults when ``path`` is None) and apply non-None ``overrides``."""
    values: dict[str, Any] = {}
    if path is not None:
        import yaml

        p = Path(path)
        if not p.is_file():
            raise AltbenchError(f"config {p} not found")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise AltbenchError(f"{p}: invalid YAML ({exc})") from None
        if not isinstance(loaded, dict):
            raise AltbenchError(f"{p}: a recipe config must be a mapping")
        values.update(loaded)
    if values.get("recipe", recipe) != recipe:
        raise AltbenchError(f"{path} is a {values['recipe']!r} config, not {recipe!r}")
    values["recipe"] = recipe
    values.update({k: v for k, v in overrides.items() if v is not None})
    where = path or "config"
    renamed = sorted(set(values) & set(RENAMED))
    if renamed:
        raise AltbenchError(f"{where}: {', '.join(renamed)} now take the reference's names: "
                            + ", ".join(f"{k} -> {RENAMED[k]}" for k in renamed))
    unknown = sorted(set(values) - {f.name for f in fields(RecipeConfig)})
    if unknown:
        raise AltbenchError(f"{where}: unknown config keys: {', '.join(unknown)}")
    if isinstance(values.get("max_length"), str) and values["max_length"].lower() == "none":
        values["max_length"] = None
    return RecipeConfig(**values)


def negative_image_text(config: RecipeConfig) -> str:
    """The negative (MCM-DPO) or corrupted (mDPO) image as the plan names it."""
    if config.negative_image == "diffusion":
        return f"diffusion noise at step {config.diffusion_step}"
    if config.negative_image == "resized_crop":
        return "random crop keeping 1-20% of the area, resized back (mDPO's reference corruption)"
    return config.negative_image


def total_steps(config: RecipeConfig, n_items: int) -> int:
    """Optimizer steps the run will take over ``n_items`` training items."""
    if config.max_steps > 0:
        return config.max_steps
    per_epoch = max(1, math.ceil(n_items / config.effective_batch))
    return max(1, math.ceil(per_epoch * config.num_train_epochs))


def plan(config: RecipeConfig, n_items: int | None) -> dict[str, Any]:
    """The resolved plan ``--dry-run`` prints (no model is loaded)."""
    trained = [name for name, on in (("vision tower", config.train_vision_tower),
                                     ("projector", config.train_projector),
                                     ("language model", config.train_language_model)) if on]
    frozen = [n for n in ("vision tower", "projector", "language model") if n not in trained]
    if config.lora:
        trained, frozen = [f"LoRA adapters (r={config.lora.get('r', 16)})"], ["all base weights"]
    steps = total_steps(config, n_items) if n_items else None
    out: dict[str, Any] = {
        "recipe": config.recipe,
        "base": config.base,
        "data": config.data,
        "train items": n_items if n_items is not None else "unknown (data not available here)",
        "epochs": config.num_train_epochs if config.max_steps <= 0 else f"max_steps {config.max_steps}",
        "learning rate": config.learning_rate,
        "schedule": f"{config.lr_scheduler_type}, warm-up {config.warmup_ratio:.0%}, weight decay "
                    f"{config.weight_decay}",
        "effective batch": f"{config.effective_batch} = {config.per_device_train_batch_size} per device x "
                           f"{config.gradient_accumulation_steps} accumulation x {config.num_devices} devices",
        "optimizer steps": steps if steps is not None else "unknown",
        "trained": ", ".join(trained),
        "frozen": ", ".join(frozen) or "nothing",
        "precision": "bf16" if config.bf16 else "fp32",
        "max length": config.max_length,
        "gradient checkpointing": config.gradient_checkpointing,
    }
    if config.base_architecture:
        out["base architecture"] = config.base_architecture
    if config.base_architecture == "llava_next":
        out["images"] = ("one image padded to square with the CLIP mean colour, resized to the tower's size "
                         "(336 px: 576 tokens), as the reference's image_aspect_ratio pad")
    if config.adam_beta2 != 0.999:
        out["adam beta2"] = config.adam_beta2
    if config.recipe != "sft":
        out["reference model"] = ("the base with the LoRA adapters disabled" if config.lora
                                  else "frozen copy of the base") + " (summed log-probabilities)"
        out["loss"] = f"sigmoid, beta {config.beta}"
    if config.recipe == "mcmdpo" and not config.use_cross_modal_loss:
        out["loss"] += " (use_cross_modal_loss false: plain DPO as the reference, unweighted)"
        out["sequences per pair"] = 2
    elif config.recipe == "mcmdpo":
        out["mcm-dpo terms"] = ", ".join(f"{name} {pref} {getattr(config, name)}"
                                         for name, pref, _ in mcmdpo_terms_used(config.use_cl_reward_num))
        out["mcm-dpo terms"] += f" (use_cl_reward_num {config.use_cl_reward_num})"
        out["para_norm"] = config.para_norm
        out["negative image"] = negative_image_text(config)
        out["negative context"] = "question of another training item (seeded by the item's index)"
        out["sequences per pair"] = 8
    elif config.recipe == "mdpo":
        out["loss"] = (f"mDPO, beta {config.beta}: -log sigmoid of the response preference (DPO), of the "
                       "image-conditional preference (chosen with the image vs with the corrupted image) and of the "
                       "anchor (chosen reward > 0), summed")
        out["corrupted image"] = negative_image_text(config)
        out["sequences per pair"] = 3
    elif config.recipe == "mpo":
        w = config.mpo_weights
        shift = ("delta = running mean reward" if config.bco_reward_shift
                 else "no reward shift (TRL 1.16's bco_pair)")
        out["loss"] = (f"MPO, beta {config.beta}: {w['sigmoid']} sigmoid (DPO) + {w['bco_pair']} bco_pair "
                       f"({shift}) + {w['sft']} sft (chosen tokens' mean NLL)")
        out["sequences per pair"] = 2
    elif config.recipe == "dpo":
        out["sequences per pair"] = 2
    else:
        out["loss on"] = "the alt-text (completion) tokens only"
    return out
