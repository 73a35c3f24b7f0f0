"""``altbench leaderboard`` and ``altbench report``: thin shells over :mod:`altbench.publish`."""

from __future__ import annotations

from pathlib import Path

import click

from altbench.cli.common import data_root_option, images_option
from altbench.cli.options import alpha_option, resamples_option, seed_option, trials_option
from altbench.extras import require

no_images_option = click.option(
    "--no-images", is_flag=True, help="Leave out the image thumbnails (smaller pages; no split data needed).")


@click.command("leaderboard")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("leaderboards"),
              show_default=True, help="Folder of the generated site (files an earlier build made are replaced).")
@click.option("--title", default="altbench leaderboard", show_default=True, help="Site title.")
@alpha_option("Significance level of the paired tests behind the ranks (as in compare and regress).")
@resamples_option(help="Paired bootstrap resamples (the intervals of the pairwise differences).")
@trials_option(help="Approximate-randomization trials of the p-values that decide the ranks.")
@seed_option()
@no_images_option
@data_root_option
@images_option
def leaderboard_command(runs, out, title, alpha, resamples, trials, seed, no_images, data_root, images):
    """Build a self-contained static leaderboard (opens from disk, no network) from RUNS.

    RUNS are run folders of `altbench run` / `altbench score`, their results.json, or folders holding run
    folders (e.g. runs/). Runs are grouped by split; ranks come from paired tests on per-item scores.
    """
    require("publish", what="altbench leaderboard")
    from altbench.publish.site import LeaderboardConfig, build_leaderboard

    result = build_leaderboard(LeaderboardConfig(
        runs=list(runs), out=out, title=title, images=not no_images, data_root=data_root, image_dir=images,
        alpha=alpha, resamples=resamples, trials=trials, seed=seed))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {len(result.files)} files ({result.total_bytes / 1024:.0f} KiB) to {result.out}; "
               f"open {result.out / 'index.html'}")


@click.command("report")
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Report folder. Default: reports/<model>-<split>-<run_id>.")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True,
              help="How many worst and best items to show.")
@no_images_option
@data_root_option
@images_option
def report_command(run, out, top, no_images, data_root, images):
    """Write an HTML report (index.html) and a Markdown summary (summary.md) of one RUN folder."""
    require("publish", what="altbench report")
    from altbench.publish.report import ReportConfig, build_report

    result = build_report(ReportConfig(run=run, out=out, data_root=data_root, image_dir=images,
                                       images=not no_images, top=top))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {result.out / 'index.html'} and {result.out / 'summary.md'}")
