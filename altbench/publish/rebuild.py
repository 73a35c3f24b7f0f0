"""Regenerate the committed leaderboard: run the offline baselines on the public splits, then publish.

    python -m altbench.publish.rebuild [--data-root DIR] [--out leaderboards] [--runs-dir runs/leaderboard]

Runs land in ``--runs-dir`` (resumed when present, so a rebuild only re-scores); the site is written to
``--out``, replacing what an earlier build generated there and nothing else. Add a model with
``--models context-echo,retrieval,NAME``; add an existing run folder (e.g. a checkpoint run made elsewhere)
with ``--extra-run DIR``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from altbench.cli.common import data_root_option
from altbench.cli.options import resamples_option, trials_option
from altbench.errors import AltbenchError

DEFAULT_MODELS = ("context-echo", "retrieval", "altbench-tiny")
DEFAULT_SPLITS = ("demo", "talt-sample", "palt-sample")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("leaderboards"),
              show_default=True)
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/leaderboard"),
              show_default=True, help="Where the runs are made (resumed when present).")
@click.option("--models", default=",".join(DEFAULT_MODELS), show_default=True, help="Comma-separated model names.")
@click.option("--splits", default=",".join(DEFAULT_SPLITS), show_default=True, help="Comma-separated split names.")
@click.option("--extra-run", "extra_runs", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="An existing run folder to publish as well (repeatable).")
@click.option("--convention", type=click.Choice(["paper", "coco", "both"]), default="paper", show_default=True)
@resamples_option(help="Bootstrap resamples: the runs' intervals and the leaderboard's pairwise intervals.")
@trials_option()
@click.option("--probes", default="", metavar="NAMES",
              help="Probe every run too (altbench probe; e.g. context-swap,image-noise): reliance columns and a "
                   "probe page per split.")
@click.option("--title", default="altbench leaderboard", show_default=True)
@click.option("--no-images", is_flag=True, help="Leave out the image thumbnails.")
@data_root_option
def main(out, runs_dir, models, splits, extra_runs, convention, resamples, trials, probes, title, no_images,
         data_root):
    """Run the baselines on the public splits and rebuild the static leaderboard."""
    from altbench.publish.site import LeaderboardConfig, build_leaderboard
    from altbench.run.runner import RunConfig, run

    if data_root is not None:
        # the retrieval baseline loads its train split by name: it finds the sample data through this
        os.environ["ALTBENCH_DATA"] = str(data_root)
    made = []
    for split in _csv(splits):
        for model in _csv(models):
            click.echo(f"run {model} on {split}", err=True)
            outcome = run(RunConfig(model=model, split=split, data_root=data_root, convention=convention,
                                    resamples=resamples, out=runs_dir / split / model))
            made.append(outcome.run_dir)
            if probes:
                from altbench.probes import ProbeSettings, probe

                probe(outcome.run_dir, probes, ProbeSettings(resamples=resamples, trials=trials,
                                                             data_root=data_root))
    result = build_leaderboard(LeaderboardConfig(
        runs=[*made, *extra_runs], out=out, title=title, images=not no_images, data_root=data_root,
        resamples=resamples, trials=trials, committed=True))  # the one writer of the committed site
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {len(result.files)} files, {result.total_bytes / 1024:.0f} KiB, to {out}"
               + (f"; removed {len(result.removed)} stale" if result.removed else ""))


def entry() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        main(prog_name="python -m altbench.publish.rebuild", standalone_mode=False)
    except AltbenchError as exc:
        click.echo(f"altbench: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)


if __name__ == "__main__":
    entry()
