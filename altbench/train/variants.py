"""What the DPOTrainer variants (MCM-DPO, mDPO, MPO) share besides their forward pass (:mod:`.forward`):
the check that a config sets nothing their own loss would silently drop, the logging of batch means, and
building their classes on first use (TRL is imported then, so importing a recipe module stays cheap)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# DPOConfig (TRL 1.16) options whose effect lives in DPOTrainer's own loss or reference pass, which a variant
# with its own loss replaces: anything but these defaults would be silently dropped, so its config refuses it.
IGNORED_DPO_OPTIONS = {
    "loss_weights": None, "ld_alpha": None, "f_divergence_type": "reverse_kl", "f_alpha_divergence_coef": 0.5,
    "label_smoothing": 0.0, "use_weighting": False, "discopop_tau": 0.05, "precompute_ref_log_probs": False,
    "padding_free": False, "sync_ref_model": False,
}


def trl_dpo() -> tuple[type, type]:
    """TRL's ``(DPOConfig, DPOTrainer)``, imported when a recipe's classes are first built (not at import)."""
    from trl import DPOConfig, DPOTrainer

    return DPOConfig, DPOTrainer


def refuse_ignored_options(config: Any, recipe: str, ignored: Mapping[str, Any] = IGNORED_DPO_OPTIONS) -> None:
    """ValueError naming the DPOConfig options ``config`` sets that ``recipe``'s loss would ignore."""
    changed = [k for k, default in ignored.items() if getattr(config, k) != default]
    if changed:
        raise ValueError(f"{recipe}'s loss ignores DPOConfig option(s) {', '.join(changed)}; leave them "
                         "at their defaults")


def check_own_loss(config: Any, recipe: str, kinds: tuple[str, ...], extra_columns: str) -> None:
    """The checks of a variant with its own sigmoid loss and a negative image: a known ``negative_image``, no
    other ``loss_type``, no ignored DPOConfig option, and the extra columns its collator needs kept."""
    if config.negative_image not in kinds:
        raise ValueError(f"unknown negative_image {config.negative_image!r}")
    if config.loss_type not in (["sigmoid"], "sigmoid"):
        raise ValueError(f"{recipe} has its own loss; loss_type {config.loss_type!r} would be ignored")
    refuse_ignored_options(config, recipe)
    if config.remove_unused_columns:
        raise ValueError(f"{recipe} needs remove_unused_columns=False ({extra_columns})")


def log_means(trainer: Any, mode: str, values: Mapping[str, Any]) -> None:
    """Append the batch mean of each tensor in ``values`` (gathered over processes) to the trainer's metrics."""
    gather = trainer.accelerator.gather_for_metrics
    metrics = trainer._metrics[mode]
    for key, value in values.items():
        metrics[key].append(gather(value).mean().item())


def lazy_classes(module: str, namespace: dict[str, Any], makers: Mapping[str, Callable[[], type]]):
    """A module ``__getattr__`` that builds each of ``makers`` on first use, once, into ``namespace`` (the
    module's globals, so the class is picklable under its module-level name)."""

    def __getattr__(name: str):
        if name in makers:
            namespace[name] = makers[name]()
            return namespace[name]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
