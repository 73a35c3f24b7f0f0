"""DPO on TRL's ``DPOTrainer`` (sigmoid loss, beta 0.1, summed log-probabilities, a frozen reference copy), and the
builders of its subclasses: MCM-DPO, mDPO, MPO."""

from __future__ import annotations

from typing import Any

from altbench.train.config import RecipeConfig


def dpo_args(config: RecipeConfig, output: str) -> dict[str, Any]:
    from altbench.train.args import common_args

    return {**common_args(config, output), "beta": config.beta, "loss_type": ["sigmoid"],
            "precompute_ref_log_probs": False, "remove_unused_columns": False}


def build_trainer(config: RecipeConfig, model: Any, processor: Any, dataset: Any, output: str,
                  peft_config: Any = None, ref_model: Any = None):
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(**dpo_args(config, output))
    return DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=dataset,
                      processing_class=processor, peft_config=peft_config)


def build_mcmdpo_trainer(config: RecipeConfig, model: Any, processor: Any, dataset: Any, output: str,
                         peft_config: Any = None, ref_model: Any = None):
    from altbench.train.mcmdpo import MCMDPOConfig, MCMDPOTrainer

    args = MCMDPOConfig(
        **dpo_args(config, output), use_cl_reward_num=config.use_cl_reward_num, para_weights=config.weights,
        para_norm=config.para_norm, negative_image=config.negative_image,
        diffusion_step=config.diffusion_step)
    return MCMDPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=dataset,
                                processing_class=processor, peft_config=peft_config)


def build_mdpo_trainer(config: RecipeConfig, model: Any, processor: Any, dataset: Any, output: str,
                       peft_config: Any = None, ref_model: Any = None):
    from altbench.train.mdpo import MDPOConfig, MDPOTrainer

    args = MDPOConfig(**dpo_args(config, output), negative_image=config.negative_image,
                      diffusion_step=config.diffusion_step)
    return MDPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=dataset,
                       processing_class=processor, peft_config=peft_config)


def build_mpo_trainer(config: RecipeConfig, model: Any, processor: Any, dataset: Any, output: str,
                      peft_config: Any = None, ref_model: Any = None):
    from altbench.train.mpo import MPOConfig, MPOTrainer

    types = list(config.mpo_weights)
    args = MPOConfig(**{**dpo_args(config, output), "loss_type": types},
                     loss_weights=[config.mpo_weights[t] for t in types], bco_reward_shift=config.bco_reward_shift)
    return MPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=dataset,
                      processing_class=processor, peft_config=peft_config)
