"""The policy and reference forward passes the DPOTrainer subclasses share (MCM-DPO, mDPO, MPO).

One policy forward and one reference forward (no gradient) over every sequence of a collated batch, through
TRL's fused LM head (the per-token log-probabilities of the labels, without building the logits), as TRL 1.16's
``DPOTrainer._compute_loss`` does. With PEFT and no reference model, the reference is the base with the adapter
disabled (or an adapter named ``ref``). torch and TRL are imported inside the function.
"""

from __future__ import annotations

from typing import Any


def token_logps(trainer: Any, model: Any, inputs: dict[str, Any]):
    """``(policy, reference, mask)``: per-token log-probabilities of each sequence's completion tokens, shaped
    ``(sequences, length - 1)`` (0 outside the completion), and the completion mask aligned with them."""
    import torch
    from trl.models.utils import disable_gradient_checkpointing
    from trl.trainer.utils import use_adapter

    completion_mask = inputs["completion_mask"]
    model_kwargs = {k: v for k, v in inputs.items() if k != "completion_mask"}
    model_kwargs["use_cache"] = False
    labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
    seq_len = completion_mask.size(1) - 1  # prompt-learning PEFT prepends virtual tokens: keep the real ones

    def forward(m):
        return m(**model_kwargs, labels=labels, fused_lm_head=True).log_probs[:, -seq_len:]

    policy = forward(model)
    with torch.no_grad(), disable_gradient_checkpointing(trainer.model, trainer.args.gradient_checkpointing_kwargs):
        if trainer.ref_model is None:  # PEFT: the base without the adapter is the reference
            unwrapped = trainer.accelerator.unwrap_model(trainer.model)
            with use_adapter(unwrapped, adapter_name="ref" if "ref" in unwrapped.peft_config else None):
                reference = forward(trainer.model)
        else:
            reference = forward(trainer.ref_model)
    return policy, reference, completion_mask[:, 1:]
