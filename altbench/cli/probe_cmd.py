"""``altbench probe``: counterfactual probes of a run (a thin shell over :mod:`altbench.probes`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from altbench.cli.common import data_root_option, images_option
from altbench.cli.options import jobs_option, resamples_option, seed_option, trials_option
from altbench.results.numbers import fmt, fmt_p

PROBES_HELP = ("Comma-separated: context-swap, context-drop, image-noise, image-blank, or all "
               "(see docs/probes.md).")


@click.command("probe")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--probes", "probes", default="all", show_default=True, metavar="NAMES", help=PROBES_HELP)
@seed_option("Seed of the probes (which context each item gets, the noise) and of the resampling.")
@resamples_option(help="Bootstrap resamples for the intervals.")
@trials_option()
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for probes/<probe>/ and probes.json. Default: RUN_DIR itself.")
@data_root_option
@images_option
@click.option("--json", "as_json", is_flag=True, help="Print probes.json instead of the table.")
@jobs_option()
def probe_command(run_dir, probes, seed, resamples, trials, batch_size, out, data_root, images, as_json, jobs):
    """Regenerate every item of the run in RUN_DIR under counterfactual inputs, then measure what moved.

    Each probe is a run folder of its own (RUN_DIR/probes/<probe>/: resumable, failures counted); the
    numbers go to RUN_DIR/probes.json. Context reliance (from context-swap) and image reliance (from
    image-noise) are 1 minus the mean similarity of the probed outputs to the original ones: 0 means the
    output never moves.
    """
    from altbench.probes import ProbeSettings

    settings = ProbeSettings(seed=seed, resamples=resamples, trials=trials, batch_size=batch_size,
                             data_root=data_root, images=images, jobs=jobs)
    report = run_probes(run_dir, probes, settings, out)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
        click.echo(f"wrote {report.path}")


def run_probes(run_dir: Path, probes: str, settings, out: Path | None = None):
    """The probes with a progress bar per probe (shared by `altbench run --probes`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from altbench.probes import probe

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"probe {name}", total=total)
            bar.update(tasks[name], completed=done, total=total)

        return probe(run_dir, probes, settings, out, progress)


def _f(x: float | None, digits: int = 3, sign: bool = False) -> str:
    """A reliance, change or similarity: 3 decimals, the one rounding rule (altbench.results.numbers)."""
    return fmt(x, digits=digits, sign=sign)


def _ci(ci, digits: int = 3, sign: bool = False) -> str:
    return f"[{_f(ci[0], digits, sign)}, {_f(ci[1], digits, sign)}]"


def _m(x: float | None, scale: float, sign: bool = False) -> str:
    """A metric in its reported scale, as `altbench run` prints it."""
    return fmt(x, scale, sign=sign)


def print_report(report) -> None:
    """The summaries, one row per probe, then every quality metric under every probe."""
    from rich.console import Console
    from rich.table import Table

    from altbench.probes.results import RELIANCE_TEST

    console = Console() if sys.stdout.isatty() else Console(width=140)
    n = max((p.n_paired for p in report.probes.values()), default=0)
    console.print(f"altbench probe: {report.model} on {report.split.get('name')} ({n} paired items); "
                  f"{report.settings.get('resamples'):,} resamples, {report.settings.get('trials'):,} trials, "
                  f"seed {report.settings.get('seed')}", markup=False)
    head = report.headline
    for kind, r in report.reliance.items():
        verdict = "significant" if r.significant else "not significant"
        line = f"{kind.capitalize()} reliance ({r.probe}): {_f(r.value)} 95% CI {_ci(r.ci95)}, {verdict}"
        if r.metric is not None:
            m = r.metric
            line += (f"; {m.key} drop {_m(m.delta, m.scale, True)} [{_m(m.ci95[0], m.scale, True)}, "
                     f"{_m(m.ci95[1], m.scale, True)}], p Holm {fmt_p(m.p_holm)}")
        console.print(line, markup=False)
    table = Table(title="Probes: how the outputs moved (value and 95% CI)", title_justify="left")
    cols = ["probe", "changed", "similarity", "reliance"]
    if head:
        cols += [f"{head}: original -> probe", "orig - probe [95% CI]", "p Holm"]
    for col in cols:
        table.add_column(col, justify="left" if col == "probe" else "right")
    for name, p in report.probes.items():
        row = [name] + [f"{_f(e.value)} {_ci(e.ci95)}" for e in (p.changed, p.similarity, p.reliance)]
        if head:
            m = p.metrics.get(head)
            row += ([f"{_m(m.original, m.scale)} -> {_m(m.probed, m.scale)}",
                     f"{_m(m.delta, m.scale, True)} [{_m(m.ci95[0], m.scale, True)}, {_m(m.ci95[1], m.scale, True)}]",
                     fmt_p(m.p_holm)] if m else ["-"] * 3)
        table.add_row(*row)
    console.print(table)
    metrics = Table(title="Metrics under each probe (original minus probe)", title_justify="left")
    for col in ("probe", "metric", "original", "probe", "orig - probe", "95% CI", "p perm", "p Holm", "result"):
        metrics.add_column(col, justify="left" if col in ("probe", "metric", "result") else "right")
    for name, p in report.probes.items():
        for key, m in p.metrics.items():
            if key.startswith("diag/"):
                continue
            worse = m.delta is not None and (m.delta > 0) == m.higher_is_better
            result = m.untestable or (("probe worse" if worse else "probe better") if m.significant else "n.s.")
            metrics.add_row(name, key, _m(m.original, m.scale), _m(m.probed, m.scale), _m(m.delta, m.scale, True),
                            f"[{_m(m.ci95[0], m.scale, True)}, {_m(m.ci95[1], m.scale, True)}]",
                            fmt_p(m.p_permutation), fmt_p(m.p_holm), result)
    console.print(metrics)
    console.print("changed: share of items whose output differs; similarity: 1 for an identical output, else "
                  "ROUGE-L F of the probe output against the original; reliance = 1 - similarity. Reliance is "
                  f"{RELIANCE_TEST}. p Holm: the permutation p-value, Holm-adjusted over each probe's quality "
                  "metrics, as in altbench compare.", markup=False)
