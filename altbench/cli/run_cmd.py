"""``altbench run``."""

from __future__ import annotations

from pathlib import Path

import click

from altbench.cli.common import (
    exit_if_short,
    max_failure_rate_option,
    model_metric_settings,
    parse_model_args,
    print_results,
    scoring_options,
)
from altbench.cli.options import seed_option

# The shipped tiny LLaVA (altbench/models/weights/altbench-tiny): real neural generation, offline, on CPU.
DEFAULT_MODEL = "altbench-tiny"


@click.command("run")
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Registry name (see `altbench models`).")
@click.option("--split", "-s", default="demo", show_default=True,
              help="Split name (see `altbench splits`) or a JSON Lines file in the reference test format.")
@click.option("--model-arg", "model_args", multiple=True, metavar="KEY=VALUE", help="Override a model argument.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N items (marked as a subset).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder. Default: runs/<model>/<split>-<fingerprint>, so re-running resumes.")
@seed_option("Seed of the run (part of its fingerprint) and of the bootstrap.")
@click.option("--name", default=None, metavar="NAME",
              help="Display name on tables and pages (not part of the run's identity: renaming resumes the same "
                   "run). Default: the name recorded by an earlier run, else the model name (a checkpoint "
                   "path: its folder's name).")
@max_failure_rate_option
@scoring_options
@click.option("--probes", default=None, metavar="NAMES",
              help="Then probe the run: context-swap, context-drop, image-noise, image-blank or all "
                   "(as `altbench probe`; docs/probes.md).")
def run_command(model, split, model_args, limit, batch_size, out, seed, name, max_failure_rate, convention,
                resamples, data_root, images, metrics, metric_args, metrics_config, jobs, probes):
    """Generate predictions with MODEL on SPLIT, then score them.

    Predictions are appended to predictions.jsonl batch by batch; re-running the same command resumes
    where an interrupted run stopped. One run writes a run folder at a time: a second run of the same
    folder is refused while the first is running.

    Exit status: 0 done; 2 a user error (bad input, an OS error such as a full disk, the folder in use);
    5 when nothing was scored (every item failed, e.g. an API that is down) or more than --max-failure-rate
    of the items failed. The results are written in every case, failures listed; re-running retries them.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from altbench.run.runner import RunConfig, run

    names, settings = model_metric_settings(metrics, metric_args, metrics_config)
    config = RunConfig(model=model, split=split, model_args=parse_model_args(model_args), data_root=data_root,
                       images=images, limit=limit, batch_size=batch_size, seed=seed, convention=convention,
                       out=out, resamples=resamples, metrics=names, metric_args=settings, name=name,
                       max_failure_rate=max_failure_rate, jobs=jobs)
    with Progress(TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("generate", total=None)
        outcome = run(config, progress=lambda done, total: bar.update(task, completed=done, total=total))
    if outcome.resumed:
        click.echo(f"resumed: {outcome.resumed} items already predicted, {outcome.generated} generated now")
    print_results(outcome.run, outcome.scoring)
    click.echo(f"wrote {outcome.run_dir}/results.json")
    exit_if_short(outcome.scoring, max_failure_rate, outcome.run_dir / "results.json", retry=True)
    if probes:
        from altbench.cli.probe_cmd import print_report, run_probes
        from altbench.probes import ProbeSettings, parse_probes

        names = parse_probes(probes)  # a bad name fails here, after the run is safely stored
        report = run_probes(outcome.run_dir, ",".join(names), ProbeSettings(
            seed=seed, resamples=resamples, batch_size=batch_size, data_root=data_root, images=images, jobs=jobs))
        print_report(report)
        click.echo(f"wrote {report.path}")
