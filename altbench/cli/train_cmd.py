"""``altbench train-baseline sft|dpo|mcmdpo|mdpo|mpo``: the built-in training recipes (torch imported only to
train)."""

from __future__ import annotations

import click

from altbench.cli.common import data_root_option, images_option


@click.command("train-baseline")
@click.argument("recipe", type=click.Choice(["sft", "dpo", "mcmdpo", "mdpo", "mpo"]))
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Recipe YAML (baselines/<recipe>*.yaml). Default: the small CPU demo settings.")
@click.option("--base", default=None, help="Starting model: registry name, checkpoint folder or hub id "
              "(tiny-llava builds a tiny model offline). Overrides the config.")
@click.option("--data", default=None, help="Train split name (demo-train, talt-train, ...) or train-format JSON "
              "file with chosen/rejected. Overrides the config.")
@click.option("--output", "-o", default=None, help="Checkpoint folder (Hugging Face format + altbench.json).")
@click.option("--max-steps", type=int, default=None, help="Stop after N optimizer steps (overrides epochs).")
@click.option("--max-items", type=int, default=None, help="Use only the first N training items.")
@click.option("--seed", type=int, default=None)
@click.option("--smoke", is_flag=True, help="Check the config's whole path offline: a tiny random model of the "
              "base's architecture, demo-train when the config's data is not here, 2 optimizer steps.")
@click.option("--dry-run", is_flag=True, help="Print the resolved plan (data size, steps, effective batch, what is "
              "trained and frozen) and exit without loading a model.")
@data_root_option
@images_option
def train_command(recipe, config_path, base, data, output, max_steps, max_items, seed, smoke, dry_run, data_root,
                  images):
    """Train an SFT, DPO, MCM-DPO, mDPO or MPO model with TRL and save a checkpoint `altbench run --model` reads.

    Multi-GPU: `accelerate launch --config_file baselines/accelerate/zero3.yaml -m altbench train-baseline ...`.
    """
    from altbench.errors import AltbenchError
    from altbench.extras import require_training
    from altbench.train.config import load_config

    require_training(dry_run, config_path)  # the extra to install, before any import of trl/datasets/yaml

    config = load_config(config_path, recipe, base=base, data=data, max_steps=max_steps, max_items=max_items,
                         seed=seed, data_root=str(data_root) if data_root else None,
                         images=str(images) if images else None)
    if dry_run:
        from altbench.train.recipes import describe

        click.echo(describe(config), nl=False)
        return
    if not output:
        raise AltbenchError("--output DIR is required (or use --dry-run)")
    from altbench.train.recipes import train

    if smoke:
        import tempfile

        from altbench.train.smoke import smoke_config

        with tempfile.TemporaryDirectory(prefix="altbench-smoke-") as workdir:
            config = smoke_config(config, workdir)
            metrics = train(config, output, adapter_args=config.eval_args or None)
    else:
        metrics = train(config, output, adapter_args=config.eval_args or None)
    shown = {k: v for k, v in metrics.items() if k in ("train_loss", "train_runtime", "global_step")}
    click.echo(f"saved {recipe} checkpoint to {output} ({', '.join(f'{k} {v:.4g}' for k, v in shown.items())})")
    click.echo(f"evaluate it: altbench run --model {output} --split demo")

