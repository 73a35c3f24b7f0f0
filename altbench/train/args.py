"""TrainingArguments shared by the recipes (the lowest module of the recipe builders: no cycles)."""

from __future__ import annotations

from typing import Any

from altbench.train.config import RecipeConfig


def common_args(config: RecipeConfig, output: str) -> dict[str, Any]:
    """TrainingArguments shared by the recipes (CPU-safe: everything explicit)."""
    return {
        "output_dir": output,
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.num_train_epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.per_device_train_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "lr_scheduler_type": config.lr_scheduler_type,
        "warmup_steps": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        "adam_beta2": config.adam_beta2,
        "max_length": config.max_length,
        "bf16": config.bf16,
        "gradient_checkpointing": config.gradient_checkpointing,
        "seed": config.seed,
        "data_seed": config.seed,
        "logging_steps": config.logging_steps,
        "save_strategy": config.save_strategy,
        "report_to": "none",
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
        "remove_unused_columns": False,
    }
