"""``altbench leaderboard`` and ``altbench report``: thin shells over :mod:`altbench.publish`."""

from __future__ import annotations

from pathlib import Path

import click

from altbench.cli.common import data_root_option, images_option
from altbench.cli.options import alpha_option, jobs_option, resamples_option, seed_option, trials_option
from altbench.extras import require

no_images_option = click.option(
    "--no-images", is_flag=True, help="Leave out the image thumbnails (smaller pages; no split data needed).")
label_option = click.option(
    "--label", "label_pairs", multiple=True, metavar="RUN=NAME",
    help="Show the run in folder RUN as NAME (repeatable); default: its run --name, else its model name.")
labels_option = click.option(
    "--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="A JSON or YAML file mapping run folders to names ({RUN: NAME}); --label wins over it.")


def display_names(pairs: tuple[str, ...], file: Path | None = None) -> dict[Path, str]:
    """Run folder -> display name, from --labels FILE and --label RUN=NAME (a NAME may hold '=': the RUN is the
    first prefix before a '=' that exists)."""
    from altbench.errors import AltbenchError

    names: dict[Path, str] = {}
    if file is not None:
        names.update(_labels_file(file))
    for pair in pairs:
        cuts = [i for i, ch in enumerate(pair) if ch == "="]
        run = next((i for i in cuts if Path(pair[:i]).exists() and pair[i + 1:].strip()), None)
        if run is None:
            raise AltbenchError(f"--label expects RUN=NAME with RUN an existing run folder, got {pair!r}")
        names[Path(pair[:run])] = pair[run + 1:].strip()
    return names


def _labels_file(path: Path) -> dict[Path, str]:
    import json

    from altbench.errors import AltbenchError

    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AltbenchError(f"--labels {path}: not valid JSON ({exc})") from None
    else:
        try:
            import yaml
        except ImportError:
            raise AltbenchError(f"--labels {path}: reading YAML needs pyyaml (pip install pyyaml), or give a "
                                ".json file") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise AltbenchError(f"--labels {path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
        raise AltbenchError(f"--labels {path}: expected a mapping of run folder -> name")
    base = path.parent  # a relative run folder: as given, else relative to the file
    return {(Path(k) if Path(k).is_absolute() or Path(k).exists() else base / k): v.strip() for k, v in data.items()}


@click.command("leaderboard")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("site"),
              show_default=True, help="Folder of the generated site (files an earlier build made are replaced). "
                                      "The committed leaderboards/ is rebuilt by leaderboards/build.sh only.")
@click.option("--title", default="altbench leaderboard", show_default=True, help="Site title.")
@alpha_option("Significance level of the paired tests behind the ranks (as in compare and regress).")
@resamples_option(help="Paired bootstrap resamples (the intervals of the pairwise differences).")
@trials_option(help="Approximate-randomization trials of the p-values that decide the ranks.")
@seed_option()
@no_images_option
@data_root_option
@images_option
@label_option
@labels_option
@jobs_option()
def leaderboard_command(runs, out, title, alpha, resamples, trials, seed, no_images, data_root, images, label_pairs,
                        labels_file, jobs):
    """Build a self-contained static leaderboard (opens from disk, no network) from RUNS.

    RUNS are run folders of `altbench run` / `altbench score`, their results.json, or folders holding run
    folders (e.g. runs/). Runs are grouped by split; ranks come from paired tests on per-item scores.
    """
    require("publish", what="altbench leaderboard")
    from altbench.publish.site import LeaderboardConfig, build_leaderboard

    result = build_leaderboard(LeaderboardConfig(
        runs=list(runs), out=out, title=title, images=not no_images, data_root=data_root, image_dir=images,
        alpha=alpha, resamples=resamples, trials=trials, seed=seed, jobs=jobs,
        names=display_names(label_pairs, labels_file)))
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
@label_option
def report_command(run, out, top, no_images, data_root, images, label_pairs):
    """Write an HTML report (index.html) and a Markdown summary (summary.md) of one RUN folder."""
    require("publish", what="altbench report")
    from altbench.publish.report import ReportConfig, build_report

    result = build_report(ReportConfig(run=run, out=out, data_root=data_root, image_dir=images,
                                       images=not no_images, top=top, names=display_names(label_pairs)))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {result.out / 'index.html'} and {result.out / 'summary.md'}")
