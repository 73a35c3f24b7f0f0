"""``altbench export``: altbench's tasks for other harnesses."""

from __future__ import annotations

from pathlib import Path

import click

from altbench.cli.common import convention_option, data_root_option, images_option
from altbench.errors import AltbenchError


@click.group("export")
def export_group():
    """Export altbench tasks for other evaluation harnesses."""


@export_group.command("lmms-eval")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--task",
    "tasks",
    multiple=True,
    metavar="NAME=SPLIT",
    help="Export SPLIT as lmms-eval task NAME (repeatable). Default: talt, palt (full data, else the "
    "sample) and altbench_demo, skipping those whose data is absent.",
)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--num-beams", type=click.IntRange(min=1), default=1, show_default=True)
@convention_option
@data_root_option
@images_option
def lmms_eval_command(out, tasks, max_new_tokens, num_beams, convention, data_root, images):
    """Write lmms-eval task definitions (YAML + utils) for TAlt / PAlt / demo into OUT.

    Run them with: lmms-eval --include_path OUT --tasks talt --model ... ; altbench scores the outputs.
    """
    from altbench.export.lmms_eval import export

    mapping = {}
    for pair in tasks:
        name, sep, split = pair.partition("=")
        if not sep or not name or not split:
            raise AltbenchError(f"--task expects NAME=SPLIT, got {pair!r}")
        mapping[name] = split
    exported, skipped = export(out, mapping or None, data_root, images, convention, max_new_tokens, num_beams)
    for t in exported:
        click.echo(f"{t.task}: {t.items} items from {t.split} -> {t.yaml}")
    for note in skipped:
        click.echo(f"skipped {note}")
    names = ",".join(t.task for t in exported)
    click.echo(f"run: lmms-eval --include_path {out} --tasks {names} --model MODEL --model_args ...")
