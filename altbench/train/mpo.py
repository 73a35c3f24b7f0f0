"""MPO (Mixed Preference Optimization; Wang et al. 2024, arXiv 2411.10442, as trained for InternVL2.5-MPO) on TRL's
``DPOTrainer``.

    loss = 0.8 * L_sigmoid + 0.2 * L_bco_pair + 1.0 * L_sft

with r_c = beta * (log p(yw|x) - log p_ref(yw|x)), r_r the same for yl (summed over the response):

- L_sigmoid (preference) = -log sigmoid(r_c - r_r), the DPO loss;
- L_bco_pair (quality) = -log sigmoid(r_c - delta) - log sigmoid(-(r_r - delta)), delta the *reward shift*:
  the running mean, over the training steps so far (this one included), of each step's mean of all r_c and
  r_r;
- L_sft (generation) = the mean negative log-likelihood of the chosen response tokens of the batch.

The weights are InternVL2.5-MPO's (``internvl_chat/shell/internvl2.5_mpo/preference_optimization/
internvl2_5_8b_internlm2_5_7b_dynamic_res_mpo.sh``: ``--loss_type sigmoid,bco_pair --sigmoid_loss_weight 0.8
--bco_pair_loss_weight 0.2 --rpo_alpha 1``) and TRL's documented MPO example (``loss_type=["sigmoid",
"bco_pair", "sft"]``, ``loss_weights=[0.8, 0.2, 1.0]``); beta is TRL's default 0.1, which that script keeps.

Why a subclass and not TRL 1.16's ``DPOTrainer`` as is: its ``bco_pair`` has no reward shift (delta = 0), while
the published quality loss, InternVL's trainer (``internvl/train/trainer_dpo.py`` on TRL 0.x) and TRL's own
``bco_pair`` before 1.0 subtract the running mean (``RunningMoments``). :class:`MPOTrainer` computes TRL's three
terms from the same log-probabilities and adds the shift; ``bco_reward_shift=False`` gives TRL 1.16's loss
exactly (tested against ``DPOTrainer`` with ``loss_type``/``loss_weights``). The SFT term is the token mean over
the batch (InternVL's ``CrossEntropyLoss`` and TRL's ``sft``), not the per-response mean of the paper's formula;
the two differ only when the chosen responses of a batch differ in length. torch and TRL are imported inside
functions only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from altbench.train.config import MPO_LOSS_TYPES as LOSS_TYPES
from altbench.train.config import MPO_WEIGHTS as REFERENCE_WEIGHTS
from altbench.train.variants import (
    IGNORED_DPO_OPTIONS,
    lazy_classes,
    log_means,
    refuse_ignored_options,
    trl_dpo,
)


class RewardShift:
    """delta of the quality loss: the running mean of the per-step mean rewards (each step counts once).

    The value TRL 0.x's ``RunningMoments.update`` keeps when fed one scalar per step, as its ``bco_pair`` does.
    """

    def __init__(self) -> None:
        self.mean = 0.0
        self.count = 0

    def update(self, value: float) -> float:
        self.count += 1
        self.mean += (float(value) - self.mean) / self.count
        return self.mean


def token_mean_nll(token_logps, mask):
    """Mean negative log-likelihood over the masked tokens of all rows (TRL's ``sft``, InternVL's NLL)."""
    return -token_logps[mask.bool()].mean()


def mpo_loss(chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps, sft_nll, beta: float = 0.1,
             weights: dict[str, float] | None = None, delta: float = 0.0):
    """The MPO loss (a scalar, the batch mean) and its three terms.

    Summed log-probabilities per pair (shape ``(batch,)``); ``sft_nll`` from :func:`token_mean_nll`;
    ``delta`` the reward shift (:class:`RewardShift`; 0 is TRL 1.16's ``bco_pair``).
    """
    import torch.nn.functional as F

    weights = {**REFERENCE_WEIGHTS, **(weights or {})}
    if set(weights) != set(LOSS_TYPES):
        raise ValueError(f"MPO weights are exactly {', '.join(LOSS_TYPES)}")
    chosen_rewards = beta * (chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (rejected_logps - ref_rejected_logps)
    terms = {
        "sigmoid": (-F.logsigmoid(chosen_rewards - rejected_rewards)).mean(),
        "bco_pair": (-F.logsigmoid(chosen_rewards - delta) - F.logsigmoid(-(rejected_rewards - delta))).mean(),
        "sft": sft_nll,
    }
    loss = sum(weights[name] * terms[name] for name in LOSS_TYPES)
    return loss, terms


def make_config_class():
    """``MPOConfig``: DPOConfig with MPO's ``loss_type``/``loss_weights`` and the reward-shift switch."""
    DPOConfig, _ = trl_dpo()

    @dataclass
    class MPOConfig(DPOConfig):
        bco_reward_shift: bool = field(default=True, metadata={
            "help": "Subtract the running mean reward in bco_pair, as published (False: TRL 1.16's bco_pair)."})

        def __post_init__(self):
            if self.loss_type in (["sigmoid"], "sigmoid") and self.loss_weights is None:  # DPOConfig's default
                self.loss_type, self.loss_weights = list(LOSS_TYPES), [REFERENCE_WEIGHTS[t] for t in LOSS_TYPES]
            super().__post_init__()
            if sorted(self.loss_type) != sorted(LOSS_TYPES) or self.loss_weights is None:
                raise ValueError(f"MPO is loss_type {list(LOSS_TYPES)} with loss_weights; got {self.loss_type} "
                                 f"with {self.loss_weights}")
            refuse_ignored_options(self, "MPO", {k: v for k, v in IGNORED_DPO_OPTIONS.items() if k != "loss_weights"})

        @property
        def mpo_weights(self) -> dict[str, float]:
            return dict(zip(self.loss_type, self.loss_weights, strict=True))

    MPOConfig.__qualname__ = "MPOConfig"
    return MPOConfig


def make_trainer_class():
    """``MPOTrainer``: TRL's collator and forward passes, TRL's MPO terms, plus the published reward shift."""
    _, DPOTrainer = trl_dpo()

    class MPOTrainer(DPOTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.reward_shift = RewardShift()

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            import torch

            from altbench.train.forward import token_logps

            mode = "train" if self.model.training else "eval"
            policy_tokens, ref_tokens, mask = token_logps(self, model, inputs)
            chosen, rejected = policy_tokens.sum(dim=1).chunk(2)  # TRL's batch is [chosen; rejected]
            ref_chosen, ref_rejected = ref_tokens.sum(dim=1).chunk(2)
            chosen_tokens, _ = policy_tokens.chunk(2)
            chosen_mask, _ = mask.chunk(2)
            nll = token_mean_nll(chosen_tokens, chosen_mask)
            chosen_rewards = self.beta * (chosen - ref_chosen).detach()
            rejected_rewards = self.beta * (rejected - ref_rejected).detach()
            delta = self.reward_shift.mean
            if self.args.bco_reward_shift and mode == "train":
                # the mean over every process's pairs, as TRL 0.x's RunningMoments gathers it
                step_mean = self.accelerator.gather(torch.cat([chosen_rewards, rejected_rewards]).mean()[None])
                delta = self.reward_shift.update(step_mean.mean().item())
            if not self.args.bco_reward_shift:
                delta = 0.0
            loss, terms = mpo_loss(chosen, rejected, ref_chosen, ref_rejected, nll, self.beta,
                                   self.args.mpo_weights, delta)
            log_means(self, mode, {
                "rewards/chosen": chosen_rewards, "rewards/rejected": rejected_rewards,
                "rewards/margins": chosen_rewards - rejected_rewards,
                "rewards/accuracies": (chosen_rewards > rejected_rewards).float(),
                "logps/chosen": chosen.detach(), "logps/rejected": rejected.detach(),
                **{f"loss/{name}": value.detach()[None] for name, value in terms.items()},
            })
            self._metrics[mode]["bco_delta"].append(float(delta))
            if return_outputs:
                return loss, {"logps": torch.cat([chosen, rejected]).detach()}
            return loss

    MPOTrainer.__qualname__ = "MPOTrainer"
    return MPOTrainer


# ``MPOConfig`` / ``MPOTrainer`` are built on first use (TRL imported then), once, and picklable
__getattr__ = lazy_classes(__name__, globals(), {"MPOConfig": make_config_class, "MPOTrainer": make_trainer_class})
