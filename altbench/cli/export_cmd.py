"""``altbench export``: results as Parquet/CSV tables, and altbench's tasks for other harnesses.

``altbench export results RUN... --out FILE`` (or just ``altbench export RUN... --out FILE``) writes one row
per (run, scoring, item); ``altbench export lmms-eval OUT`` writes lmms-eval task definitions.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import click

from altbench.cli.common import convention_option, data_root_option, images_option
from altbench.errors import AltbenchError


class ExportGroup(click.Group):
    """``export RUN ...`` (a first argument that is an existing path) means ``export results RUN ...``; one
    that is neither a subcommand nor a path is a typo, named with the closest subcommand."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            if not Path(args[0]).exists():
                if os.sep in args[0] or "/" in args[0]:  # meant as a path
                    raise AltbenchError(f"{args[0]}: no such run folder")
                close = difflib.get_close_matches(args[0], self.commands, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise AltbenchError(f"export: {args[0]!r} is neither a subcommand ({', '.join(self.commands)}) "
                                    f"nor an existing run folder{hint}")
            cmd = self.commands["results"]
            return cmd.name, cmd, args
        return super().resolve_command(ctx, args)


@click.group("export", cls=ExportGroup)
def export_group():
    """Export results as tables (Parquet, CSV) or altbench tasks for other evaluation harnesses."""


FORMATS = ("parquet", "csv")


@export_group.command("results")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (.parquet or .csv).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Default: from the --out suffix, else parquet.")
@click.option("--split", "split", default=None,
              help="The split the runs were made on, when not where their header says (checked by content hash).")
@click.option("--scoring", "scorings", multiple=True, metavar="KEY",
              help="Only these scorings (repeatable; default: every scoring of each run).")
@data_root_option
@images_option
def results_command(runs, out, fmt, split, scorings, data_root, images):
    """Write the per-item results of RUNS (run folders, their results.json, or folders holding runs) as one
    table: run id, model, split, scoring, item id, prediction, references, context, one column per metric."""
    from altbench.results import find_run_dirs, load_run
    from altbench.results.frames import write_table

    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "parquet")
    frames = [load_run(folder).to_pandas(split=split, data_root=data_root, images=images,
                                         scorings=list(scorings) or None)
              for folder in find_run_dirs(runs)]
    n = write_table(frames, out, fmt)
    click.echo(f"wrote {n} rows from {len(frames)} run(s) to {out} ({fmt})")


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
