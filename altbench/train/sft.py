"""SFT on TRL's ``SFTTrainer``: prompt-completion rows, loss on the alt-text (completion) tokens only."""

from __future__ import annotations

from typing import Any

from altbench.train.config import RecipeConfig


def build_trainer(config: RecipeConfig, model: Any, processor: Any, dataset: Any, output: str,
                  peft_config: Any = None, **_: Any):
    from trl import SFTConfig, SFTTrainer

    from altbench.train.args import common_args

    args = SFTConfig(**common_args(config, output), completion_only_loss=True)
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=processor,
                      peft_config=peft_config)
