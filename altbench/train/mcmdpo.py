"""MCM-DPO (multi-contrast multimodal DPO) as a thin subclass of TRL's ``DPOTrainer``.

With D(c, m, y) = log p_policy(y | c, m) - log p_ref(y | c, m) (log-probabilities summed over the response):

    logits = sum_k (para_rk / para_norm) * (D(cw, mw, yw) - D(negative_k)),   loss = -log sigmoid(beta * logits)

over the terms the reference trainer enables for ``use_cl_reward_num`` N (:data:`altbench.train.config.MCMDPO_TERMS`:
response para_r3 and image para_r2 always, then N - 2 more). One sigmoid over the weighted sum. The reference
has no one-term MCM-DPO: its ``use_cross_modal_loss=False`` is plain DPO, which the recipes run on TRL's
``DPOTrainer``. DPOConfig options this loss would ignore are refused by :class:`MCMDPOConfig`.

Each pair gives 8 sequences: the four (context, image) variants, each with the chosen and the rejected
alt-text, collated by TRL's vision preference collator in one batch, laid out ``[y][variant][item]`` with
``variant = 2 * negative_context + negative_image``; :func:`sequence_index` maps a (c, m, y) triple to that
row. torch and TRL are imported inside functions only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from altbench.train.config import MCMDPO_TERMS, REFERENCE_WEIGHTS, mcmdpo_terms_used
from altbench.train.negatives import IMAGE_KINDS, TENSOR_KINDS, negative_image, negative_pixels
from altbench.train.variants import check_own_loss, lazy_classes, log_means, trl_dpo


def sequence_index(neg_context: bool, neg_image: bool, neg_response: bool) -> int:
    """Row (of 8) of a (c, m, y) triple: ``4 * y + 2 * c + m`` (False = the preferred one)."""
    return 4 * int(neg_response) + 2 * int(neg_context) + int(neg_image)


def mcmdpo_logits(policy_logps, ref_logps, use_cl_reward_num: int = 7, weights=None, norm: float = 2.8):
    """MCM-DPO logits from summed log-probabilities shaped ``(8, batch)`` (rows by :func:`sequence_index`).

    ``weights`` maps ``para_r1..para_r7`` to the reference's r_k (default: its scripts/mcmdpo.sh values).
    """
    if not 2 <= use_cl_reward_num <= len(MCMDPO_TERMS):
        raise ValueError("use_cl_reward_num must be 2..7 (the reference has no one-term MCM-DPO)")
    if policy_logps.shape[0] != 8 or ref_logps.shape != policy_logps.shape:
        raise ValueError("policy and reference log-probabilities must both be shaped (8, batch)")
    weights = {**REFERENCE_WEIGHTS, **(weights or {})}
    d = policy_logps - ref_logps
    logits = None
    for name, _, (c, m, y) in mcmdpo_terms_used(use_cl_reward_num):
        term = (weights[name] / norm) * (d[0] - d[sequence_index(c, m, y)])
        logits = term if logits is None else logits + term
    return logits


def mcmdpo_loss(policy_logps, ref_logps, beta: float = 0.1, **kwargs):
    """Per-pair loss ``-log sigmoid(beta * logits)`` and the logits."""
    import torch.nn.functional as F

    logits = mcmdpo_logits(policy_logps, ref_logps, **kwargs)
    return -F.logsigmoid(beta * logits), logits


class MCMDPOCollator:
    """Expands each preference row into its four (context, image) variants for TRL's vision collator.

    ``base`` is a ``DataCollatorForVisionPreference``; rows carry ``neg_prompt`` and ``neg_image_path`` (see
    :mod:`altbench.train.data`). Tensor-level negatives (diffusion, black, resized_crop) replace the processed
    pixels of the negative-image rows; one negative per item is shared by its four negative-image sequences, as
    in the reference. Image-level negatives (crop, rotate, random) are made before processing.
    """

    def __init__(self, base: Any, kind: str = "diffusion", step: int = 700, seed: int = 0) -> None:
        self.base = base
        self.kind = kind
        self.step = step
        self.seed = seed
        self.calls = 0

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        from altbench.train.data import _image

        self.calls += 1
        n = len(rows)
        expanded: list[list[dict[str, Any]]] = [[], [], [], []]
        for row in rows:
            image = row["images"][0]
            neg = image
            if self.kind in IMAGE_KINDS:
                rng = random.Random(f"{self.seed}-{row.get('index', 0)}-{self.calls}")
                other = _image(row["neg_image_path"]) if self.kind == "random" else None
                neg = negative_image(image, self.kind, rng, other)
            for v, (prompt, img) in enumerate(((row["prompt"], image), (row["prompt"], neg),
                                               (row["neg_prompt"], image), (row["neg_prompt"], neg))):
                expanded[v].append({"images": [img], "prompt": prompt, "chosen": row["chosen"],
                                    "rejected": row["rejected"]})
        batch = self.base([r for block in expanded for r in block])
        if self.kind in TENSOR_KINDS:
            pixels = batch["pixel_values"]
            if pixels.dim() != 4 or pixels.shape[0] != 8 * n:
                raise ValueError("tensor-level negative images need one pixel tensor per sequence "
                                 "(LLaVA-style processors); use negative_image rotate/crop/random")
            pixels = pixels.clone()
            for b in range(n):
                neg = negative_pixels(pixels[b], self.kind, self.step)  # row of (cw, mw, yw)
                for y in (0, 1):
                    for c in (0, 1):
                        pixels[sequence_index(bool(c), True, bool(y)) * n + b] = neg
            batch["pixel_values"] = pixels
        return batch


def make_config_class():
    """``MCMDPOConfig``: DPOConfig plus the MCM-DPO fields (built lazily so importing this module is cheap)."""
    DPOConfig, _ = trl_dpo()

    @dataclass
    class MCMDPOConfig(DPOConfig):
        use_cl_reward_num: int = field(default=7, metadata={"help": "The reference's term count, 2..7."})
        para_weights: dict = field(default_factory=lambda: dict(REFERENCE_WEIGHTS),
                                   metadata={"help": "para_r1..para_r7 (r1 context, r2 image, r3 response)."})
        para_norm: float = field(default=2.8, metadata={"help": "Divisor of the weights (their sum)."})
        negative_image: str = field(default="diffusion", metadata={"help": "diffusion|black|crop|rotate|random"})
        diffusion_step: int = field(default=700, metadata={"help": "Forward-diffusion step, 0..999."})

        def __post_init__(self):
            super().__post_init__()
            if not 2 <= self.use_cl_reward_num <= 7:
                raise ValueError("use_cl_reward_num must be 2..7 (the reference has no one-term MCM-DPO)")
            if set(self.para_weights) != set(REFERENCE_WEIGHTS):
                raise ValueError("para_weights needs exactly para_r1..para_r7")
            check_own_loss(self, "MCM-DPO", TENSOR_KINDS + IMAGE_KINDS, "negative-context columns")

    MCMDPOConfig.__qualname__ = "MCMDPOConfig"
    return MCMDPOConfig


def make_trainer_class():
    """``MCMDPOTrainer``: a DPOTrainer whose collator yields 8 sequences per pair and whose loss is MCM-DPO."""
    _, DPOTrainer = trl_dpo()

    class MCMDPOTrainer(DPOTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.data_collator = MCMDPOCollator(self.data_collator, self.args.negative_image,
                                                self.args.diffusion_step, self.args.seed)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            from altbench.train.forward import token_logps

            mode = "train" if self.model.training else "eval"
            policy_tokens, ref_tokens, _ = token_logps(self, model, inputs)
            logps, ref_logps = policy_tokens.sum(dim=1), ref_tokens.sum(dim=1)
            policy, ref = logps.view(8, -1), ref_logps.view(8, -1)
            losses, _ = mcmdpo_loss(policy, ref, self.beta, use_cl_reward_num=self.args.use_cl_reward_num,
                                    weights=self.args.para_weights, norm=self.args.para_norm)
            loss = losses.mean()
            d = (policy - ref).detach() * self.beta
            margin = d[0] - d[sequence_index(False, False, True)]
            log_means(self, mode, {
                "rewards/chosen": d[0],
                "rewards/rejected": d[sequence_index(False, False, True)],
                "rewards/margins": margin,
                "rewards/image_margins": d[0] - d[sequence_index(False, True, False)],
                "rewards/context_margins": d[0] - d[sequence_index(True, False, False)],
                "rewards/accuracies": (margin > 0).float(),
                "logps/chosen": policy[0].detach(),
                "logps/rejected": policy[4].detach(),
            })
            if return_outputs:
                return loss, {"logps": logps.detach()}
            return loss

    MCMDPOTrainer.__qualname__ = "MCMDPOTrainer"
    return MCMDPOTrainer


# ``MCMDPOConfig`` / ``MCMDPOTrainer`` are built on first use (TRL imported then), once, and picklable
__getattr__ = lazy_classes(__name__, globals(), {"MCMDPOConfig": make_config_class,
                                                 "MCMDPOTrainer": make_trainer_class})
