"""``altbench score``."""

from __future__ import annotations

from pathlib import Path

import click

from altbench.cli.common import (
    exit_if_short,
    max_failure_rate_option,
    model_metric_settings,
    print_results,
    scoring_options,
)
from altbench.cli.options import seed_option


@click.command("score")
@click.argument("predictions", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--split", "-s", required=True,
              help="Split the predictions belong to; for the reference work's output file, the file itself works.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder for a file that is not a run folder's predictions.jsonl (required then); a "
                   "run's own predictions are scored into the run, beside its other scorings.")
@seed_option("Seeds the bootstrap.")
@max_failure_rate_option
@scoring_options
def score_command(predictions, split, out, seed, max_failure_rate, convention, resamples, data_root, images,
                  metrics, metric_args, metrics_config, jobs):
    """Score PREDICTIONS (altbench's predictions.jsonl, or the reference work's output with
    `response`/`chosen`/`idx`) against SPLIT, without loading any model (unless --metrics asks for
    model-based metrics).

    Exit status: 0 done; 2 a user error (bad input, an OS error such as a full disk); 5 when nothing was
    scored (every record is a failure) or more than --max-failure-rate of the items failed. The results
    are written in every case, failures listed.
    """
    from altbench.run.rescore import ScoreConfig, score_file

    names, settings = model_metric_settings(metrics, metric_args, metrics_config)
    run, scoring = score_file(ScoreConfig(predictions, split, convention, out, data_root, images, seed,
                                          resamples, metrics=names, metric_args=settings, jobs=jobs))
    print_results(run, scoring)
    click.echo(f"wrote {run.path}/results.json")
    exit_if_short(scoring, max_failure_rate, run.path / "results.json", retry=False)
