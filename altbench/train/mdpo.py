"""mDPO (Wang et al., EMNLP 2024, "mDPO: Conditional Preference Optimization for Multimodal Large Language
Models") as a thin subclass of TRL's ``DPOTrainer``.

With D(m, y) = log p_policy(y | x, m) - log p_ref(y | x, m) (log-probabilities summed over the response), m the
image, m' the corrupted image, yw / yl the chosen / rejected response:

    loss = -log sigmoid(beta * (D(m, yw) - D(m, yl)))      standard DPO (response preference)
           -log sigmoid(beta * (D(m, yw) - D(m', yw)))     conditional (image) preference
           -log sigmoid(beta * D(m, yw))                   anchored preference (anchor 0)

three terms summed, each with its own sigmoid, no weights. This is the reference trainer's ``dpo_loss``
(``mdpo_trainer.py`` of github.com/luka-group/mDPO, ``mDPOTrainer.dpo_loss``, with ``reference_free`` False),
transcribed here, not copied. Policy = reference gives 3 ln 2.

Each pair gives 3 sequences, laid out ``[chosen; rejected; chosen with the corrupted image]`` (rows of
:data:`ROWS`): TRL's vision preference collator makes the first two blocks, :class:`MDPOCollator` appends the
third (the chosen tokens again, with the corrupted pixels). The corruption defaults to the reference's
(``resized_crop``: see :mod:`altbench.train.negatives`); MCM-DPO's negatives (``diffusion``, ``black``, ``crop``,
``rotate``, ``random``) are the other choices. One corrupted image per pair serves the policy and the reference,
as the paper's formula has it (the reference code crops inside each model's forward, so there its policy and
reference see two different crops). torch and TRL are imported inside functions only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from altbench.train.negatives import IMAGE_KINDS, TENSOR_KINDS, negative_image, negative_pixels
from altbench.train.variants import check_own_loss, lazy_classes, log_means, trl_dpo

ROWS = ("chosen", "rejected", "corrupted_chosen")


def mdpo_loss(policy_logps, ref_logps, beta: float = 0.1):
    """Per-pair mDPO loss and its three logits from summed log-probabilities shaped ``(3, batch)`` (:data:`ROWS`).

    Returns ``(losses, {"response": ..., "image_conditional": ..., "anchor": ...})``, the logits before beta.
    """
    import torch.nn.functional as F

    if policy_logps.shape[0] != 3 or ref_logps.shape != policy_logps.shape:
        raise ValueError("policy and reference log-probabilities must both be shaped (3, batch)")
    d = policy_logps - ref_logps
    logits = {"response": d[0] - d[1], "image_conditional": d[0] - d[2], "anchor": d[0]}
    losses = sum(-F.logsigmoid(beta * value) for value in logits.values())
    return losses, logits


class MDPOCollator:
    """TRL's ``[chosen; rejected]`` batch of n pairs plus n sequences: each chosen response with its corrupted image.

    ``base`` is a ``DataCollatorForVisionPreference``. The third block repeats the chosen sequences' tokens and
    masks; its pixels are the corrupted ones, so the processor must give one pixel tensor per sequence
    (LLaVA-style, including LLaVA-1.6 trained on the padded single image). Tensor-level corruptions work on the
    processed pixels; image-level ones (crop, rotate, random) go through the processor's image processor.
    """

    def __init__(self, base: Any, kind: str = "resized_crop", step: int = 700, seed: int = 0) -> None:
        self.base = base
        self.kind = kind
        self.step = step
        self.seed = seed
        self.calls = 0

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        from altbench.train.data import _image

        self.calls += 1
        n = len(rows)
        corrupted_images = []
        if self.kind in IMAGE_KINDS:
            for row in rows:
                rng = random.Random(f"{self.seed}-{row.get('index', 0)}-{self.calls}")
                other = _image(row["neg_image_path"]) if self.kind == "random" else None
                corrupted_images.append(negative_image(row["images"][0], self.kind, rng, other))
        batch = self.base([{"images": row["images"], "prompt": row["prompt"], "chosen": row["chosen"],
                            "rejected": row["rejected"]} for row in rows])
        pixels = batch["pixel_values"]
        if pixels.dim() != 4 or pixels.shape[0] != 2 * n:
            raise ValueError("mDPO's corrupted image needs one pixel tensor per sequence (LLaVA-style processors)")
        if self.kind in TENSOR_KINDS:
            corrupted = torch.stack([negative_pixels(pixels[b], self.kind, self.step) for b in range(n)])
        else:
            processed = self.base.processor.image_processor(corrupted_images, return_tensors="pt")
            corrupted = processed["pixel_values"].to(pixels.dtype)
            if corrupted.shape != pixels[:n].shape:
                raise ValueError("the corrupted images were processed to another shape than the originals")
        out: dict[str, Any] = {}
        for key, value in batch.items():
            if key == "pixel_values":
                out[key] = torch.cat([pixels, corrupted])
            elif torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == 2 * n:
                out[key] = torch.cat([value, value[:n]])  # the chosen sequences' tokens and masks again
            else:
                raise ValueError(f"batch entry {key!r} is not one row per sequence; mDPO cannot repeat it")
        return out


def make_config_class():
    """``MDPOConfig``: DPOConfig plus the corruption (built lazily so importing this module is cheap)."""
    DPOConfig, _ = trl_dpo()

    @dataclass
    class MDPOConfig(DPOConfig):
        negative_image: str = field(default="resized_crop", metadata={
            "help": "resized_crop (the reference's) | diffusion | black | crop | rotate | random"})
        diffusion_step: int = field(default=700, metadata={"help": "Forward-diffusion step, 0..999."})

        def __post_init__(self):
            super().__post_init__()
            check_own_loss(self, "mDPO", TENSOR_KINDS + IMAGE_KINDS, "negative-image columns")

    MDPOConfig.__qualname__ = "MDPOConfig"
    return MDPOConfig


def make_trainer_class():
    """``MDPOTrainer``: a DPOTrainer whose collator yields 3 sequences per pair and whose loss is mDPO's."""
    _, DPOTrainer = trl_dpo()

    class MDPOTrainer(DPOTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.data_collator = MDPOCollator(self.data_collator, self.args.negative_image,
                                              self.args.diffusion_step, self.args.seed)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            from altbench.train.forward import token_logps

            mode = "train" if self.model.training else "eval"
            policy_tokens, ref_tokens, _ = token_logps(self, model, inputs)
            policy, ref = policy_tokens.sum(dim=1).view(3, -1), ref_tokens.sum(dim=1).view(3, -1)
            losses, _ = mdpo_loss(policy, ref, self.beta)
            loss = losses.mean()
            rewards = (policy - ref).detach() * self.beta  # rows: chosen, rejected, chosen with corrupted image
            log_means(self, mode, {  # the reference trainer's metric names
                "rewards/chosen": rewards[0], "rewards/rejected": rewards[1],
                "rewards/imageless_chosen": rewards[2],
                "rewards/margins": rewards[0] - rewards[1], "rewards/imageless_margins": rewards[0] - rewards[2],
                "rewards/accuracies": (rewards[0] > rewards[1]).float(),
                "rewards/imageless_accuracies": (rewards[0] > rewards[2]).float(),
                "logps/chosen": policy[0].detach(), "logps/rejected": policy[1].detach(),
                "logps/imageless_chosen": policy[2].detach(),
            })
            if return_outputs:
                return loss, {"logps": policy.detach()}
            return loss

    MDPOTrainer.__qualname__ = "MDPOTrainer"
    return MDPOTrainer


# ``MDPOConfig`` / ``MDPOTrainer`` are built on first use (TRL imported then), once, and picklable
__getattr__ = lazy_classes(__name__, globals(), {"MDPOConfig": make_config_class, "MDPOTrainer": make_trainer_class})
