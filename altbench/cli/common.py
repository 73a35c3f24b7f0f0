"""Options and output shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from altbench.cli.options import jobs_option
from altbench.cli.options import resamples_option as _resamples_option
from altbench.errors import AltbenchError

data_root_option = click.option(
    "--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder with the TAlt/PAlt data (sample or full) in the reference layout. "
         "Default: $ALTBENCH_DATA (sample) / $ALTBENCH_FULL_DATA (full).")
images_option = click.option(
    "--images", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Image folder of a custom split file (default: the file's folder).")
convention_option = click.option(
    "--convention", type=click.Choice(["paper", "coco", "both"]), default="paper", show_default=True,
    help="paper: the reference work's scorer; coco: pycocoevalcap. Numbers of the two are not comparable.")
resamples_option = _resamples_option()

metrics_option = click.option(
    "--metrics", "metrics", multiple=True, metavar="NAMES",
    help="Model-based metrics, comma-separated: clipscore, refclipscore, bertscore, judge "
         "(results under model/<name>; see docs/model-metrics.md).")
metric_arg_option = click.option(
    "--metric-arg", "metric_args", multiple=True, metavar="METRIC.KEY=VALUE",
    help="Configure a model metric, e.g. clipscore.model=/w/ViT-B-32.pt, judge.model=gpt-4o-mini.")
metrics_config_option = click.option(
    "--metrics-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="YAML/JSON file {metric: {key: value}} (--metric-arg overrides it). API keys go in env vars only.")


def model_metric_settings(metrics: tuple[str, ...], pairs: tuple[str, ...], config: Path | None
                          ) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """(metric names, {metric: {key: value}}) from --metrics, --metrics-config and --metric-arg."""
    from altbench.metrics.model.registry import load_metrics_config, nest_metric_args, parse_metric_names

    names = parse_metric_names(metrics)
    settings = load_metrics_config(config) if config else {}
    for family, options in nest_metric_args(parse_model_args(pairs, "--metric-arg")).items():
        settings.setdefault(family, {}).update(options)
    return names, settings


max_failure_rate_option = click.option(
    "--max-failure-rate", type=click.FloatRange(0, 1), default=1.0, show_default=True, metavar="FRACTION",
    help="Exit with status 5 when more than this share of the items went unscored (failed or missing), e.g. "
         "0.05 in CI. A scoring of nothing always exits 5. The results are written either way.")


def exit_if_short(scoring: Any, max_failure_rate: float, results: Path, retry: bool) -> None:
    """Exit with status 5 (after the results were written and printed) when ``scoring`` scored nothing or
    left more than ``max_failure_rate`` of its items unscored. retry: a re-run retries the failed items."""
    from altbench.cli import EXIT_INCOMPLETE

    reason = scoring.shortfall(max_failure_rate, "--max-failure-rate")
    if reason is None:
        return
    advice = "; re-run the same command to retry the failed items" if retry else ""
    click.echo(f"altbench: error: {reason}; the results, failures listed, are in {results}{advice}", err=True)
    click.get_current_context().exit(EXIT_INCOMPLETE)


def scoring_options(fn):
    """The options `run` and `score` share: convention, bootstrap, where the data is, model-based metrics,
    worker processes."""
    for option in reversed((convention_option, resamples_option, data_root_option, images_option, metrics_option,
                            metric_arg_option, metrics_config_option, jobs_option())):
        fn = option(fn)
    return fn


def parse_model_args(pairs: tuple[str, ...], option: str = "--model-arg") -> dict[str, Any]:
    """``k=v`` pairs; values that parse as int, float, true/false or null are converted."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AltbenchError(f"{option} expects KEY=VALUE, got {pair!r}")
        out[key] = _convert(value)
    return out


def _convert(value: str) -> Any:
    low = value.lower()
    if low in {"true", "false"}:
        return low == "true"
    if low in {"null", "none"}:
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def print_results(run: Any, scoring: Any) -> None:
    """A readable table of one scoring of a run (a :class:`~altbench.results.Scoring`): metric, value,
    95% CI, n; then counts, and which scoring it is when the run holds several."""
    from rich.console import Console
    from rich.table import Table

    from altbench.results.numbers import fmt

    console = Console()
    items = scoring.items
    title = (f"{run.display_name} on {run.split_name} "
             f"({items.n_evaluated}/{items.n_split} items{', subset' if items.subset else ''})")
    table = Table(title=title)
    for col in ("metric", "value", "95% CI", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for key, m in scoring.metrics.items():
        lo, hi = m.ci95
        table.add_row(key, fmt(m.value, m.scale, m.decimals), f"[{fmt(lo, m.scale, m.decimals)}, "
                      f"{fmt(hi, m.scale, m.decimals)}]", str(m.n))
    console.print(table)
    c = scoring.counts
    console.print(f"scored {c['scored']}, failed {c['failed']}, missing {c['missing']}, empty {c['empty']}")
    note = scoring.empty_reference_note()
    if note:
        console.print(note, markup=False)
    metric_failures = scoring.metric_failures
    for key, reasons in metric_failures.items():
        base = key.split(".")[0]
        if any(reasons.values()) and not (base != key and metric_failures.get(base) == reasons):
            said = ", ".join(f"{v} {k}" for k, v in reasons.items() if v)
            console.print(f"{key}: {said} item(s) left unscored (not counted as zero)", markup=False)
    for failure in scoring.failures[:5]:
        console.print(f"  failed {failure['id']}: {failure['error']}", markup=False)
    if len(scoring.failures) > 5:
        console.print(f"  ... and {len(scoring.failures) - 5} more (see results.json)")
    if len(run.scorings) > 1:
        role = "the run's headline" if run.headline.key == scoring.key else f"headline stays {run.headline.key}"
        click.echo(f"scoring {scoring.key} ({role}; {len(run.scorings)} scorings in {run.path})")
