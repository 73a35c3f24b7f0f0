"""``altbench compare`` and ``altbench regress``: thin shells over :mod:`altbench.stats`.

Exit codes: compare 0 done, 2 usage or input error, 4 not comparable; regress 0 pass, 1 regression,
2 usage or input error, 3 inconclusive, 4 not comparable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from altbench.cli.options import (
    alpha_option,
    jobs_option,
    level_option,
    resamples_option,
    seed_option,
    trials_option,
)
from altbench.errors import AltbenchError
from altbench.stats.defaults import FAMILYWISE, FAMILYWISE_METHODS

_RUN = click.Path(path_type=Path)


def _fail(ctx: click.Context, exc: AltbenchError) -> None:
    click.echo(f"altbench: error: {exc}", err=True)
    ctx.exit(exc.exit_code)


def _write_json(obj: dict, path: Path) -> None:
    from altbench.io import write_json_atomic

    write_json_atomic(path, obj)


# -------------------------------------------------------------------------------------------- compare
@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=_RUN)
@click.option("--metric", "-m", "metrics", multiple=True, metavar="NAME",
              help="Metric to compare (repeatable; full key like paper/rougeL or short name). Default: all "
                   "metrics the runs share, diagnostics excluded.")
@click.option("--include-diagnostics", is_flag=True, help="Also compare the diag/* metrics.")
@resamples_option(help="Paired bootstrap resamples (interval and bootstrap p-value).")
@trials_option()
@seed_option()
@level_option()
@alpha_option("Significance level for the Holm-adjusted permutation p-value.")
@click.option("--convention", type=click.Choice(["paper", "coco"]), default=None,
              help="Show only this convention's metrics (and diag/* with --include-diagnostics). Each pair's "
                   "verdicts stay those of all the metrics it shares.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON result instead of the table.")
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON result to this file.")
@jobs_option()
@click.pass_context
def compare_command(ctx, runs, metrics, include_diagnostics, resamples, trials, seed, level, alpha, convention,
                    as_json, json_out, jobs):
    """Compare RUNS (run folders or results.json files; at least two) item by item.

    For every metric and every pair: the difference (later run minus earlier) with its paired bootstrap
    interval, a paired bootstrap p-value, an approximate-randomization p-value, the effect size d_z and
    Holm-Bonferroni adjusted p-values (per pair, over the quality metrics both runs report: the policy of
    docs/statistics.md, shared with regress and the leaderboard). Runs of another split,
    metric settings or item set are refused (exit 4).
    """
    from altbench.executor import Executor
    from altbench.stats.compare import Settings, compare_runs

    try:
        with Executor(jobs) as executor:
            result = compare_runs(runs, metrics, include_diagnostics,
                                  Settings(resamples, trials, seed, level, alpha), convention, executor.starmap)
    except AltbenchError as exc:
        _fail(ctx, exc)
        return
    data = result.to_dict()
    if json_out is not None:
        try:
            _write_json(data, json_out)
        except OSError as exc:
            _fail(ctx, AltbenchError(f"cannot write {json_out}: {exc}"))
            return
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_table(result)
        if json_out is not None:
            click.echo(f"wrote {json_out}")


def _print_table(result) -> None:
    """One table per pair (B vs A), the Holm adjustment still over every comparison shown."""
    from rich.console import Console
    from rich.table import Table

    from altbench.results.numbers import fmt, fmt_p

    s = result.settings
    console = Console() if sys.stdout.isatty() else Console(width=140)
    split = result.runs[0].run.split_name
    convs = ", ".join(result.to_dict()["conventions"]) or "no convention"
    console.print(f"altbench compare: {result.n_items} paired items of {split} ({convs}); "
                  f"{s.resamples:,} resamples, {s.trials:,} trials, seed {s.seed}", markup=False)
    pairs: dict[tuple[str, str], list] = {}
    for r in result.rows:
        pairs.setdefault((r.b, r.a), []).append(r)
    for (b, a), rows in pairs.items():
        table = Table(title=f"B = {b}  vs  A = {a}", title_justify="left")
        for col in ("metric", "A", "B", "B - A", f"{s.level:.0%} CI", "p boot", "p perm", "p Holm", "d_z", "result"):
            table.add_column(col, justify="left" if col in ("metric", "result") else "right")
        for r in rows:
            t = r.test

            def num(x: float, sign: bool = False, r=r) -> str:  # as the run table shows the metric's values
                return fmt(r.reported(x), r.scale, r.decimals, sign=sign)

            table.add_row(r.metric, num(r.value_a), num(r.value_b), num(t.delta, True),
                          f"[{num(t.ci_low, True)}, {num(t.ci_high, True)}]",
                          fmt_p(t.p_bootstrap), fmt_p(t.p_permutation), fmt_p(r.p_holm),
                          fmt(t.effect_size, digits=3),
                          f"{'B' if r.better == r.b else 'A'} better" if r.better else "n.s.")
        console.print(table)
    console.print(f"p Holm: the permutation p-value, Holm-adjusted over each pair's quality metrics (diagnostics "
                  f"apart), as in regress and the leaderboard; 'better' needs p Holm < {s.alpha}. d_z: "
                  "standardized paired difference.", markup=False)
    if result.skipped:
        console.print(f"not in every run, skipped: {', '.join(result.skipped)}", markup=False)
    if result.reliance:
        _print_reliance(console, result)


def _print_reliance(console, result) -> None:
    """Context and image reliance (altbench probe) of each pair whose runs both have probes.json."""
    from rich.table import Table

    from altbench.results.numbers import fmt, fmt_p

    s = result.settings
    table = Table(title="Reliance (altbench probe): 1 - similarity of probed to original outputs",
                  title_justify="left")
    for col in ("pair", "reliance", "n", "A", "B", "B - A", f"{s.level:.0%} CI", "p perm", "p Holm", "result"):
        table.add_column(col, justify="left" if col in ("pair", "reliance", "result") else "right")
    for r in result.reliance:
        table.add_row(f"B = {r.b} vs A = {r.a}", f"{r.kind} ({r.probe})", str(r.n), fmt(r.value_a, digits=3),
                      fmt(r.value_b, digits=3), fmt(r.delta, digits=3, sign=True),
                      f"[{fmt(r.ci95[0], digits=3, sign=True)}, {fmt(r.ci95[1], digits=3, sign=True)}]",
                      fmt_p(r.p_permutation), fmt_p(r.p_holm),
                      ("B relies more" if r.delta > 0 else "A relies more") if r.significant else "n.s.")
    console.print(table)
    console.print("Reliance per item is 1 - similarity of the probe's output to the run's own (docs/probes.md); "
                  "p Holm: over the pair's reliance summaries.", markup=False)


# -------------------------------------------------------------------------------------------- regress
@click.command("regress")
@click.option("--baseline", required=True, type=_RUN, help="Baseline run folder or results.json.")
@click.option("--candidate", required=True, type=_RUN, help="Candidate run folder or results.json.")
@click.option("--metric", "-m", "metrics", multiple=True, metavar="NAME[:MARGIN]",
              help="Metric to gate on, with its non-inferiority margin in the metric's reported scale "
                   "(repeatable). Default: the convention's main metrics with the documented margins.")
@click.option("--margin", type=float, default=None,
              help="Margin for every metric given without one (reported scale; default: per-metric defaults).")
@alpha_option("Decisions use the two-sided 100(1-alpha)% paired bootstrap interval; also the significance "
              "level of the engine's verdict shown per metric.")
@click.option("--on-inconclusive", type=click.Choice(["pass", "fail"]), default="fail", show_default=True,
              help="Exit status when no metric regresses but some are inconclusive: pass -> 0, fail -> 3.")
@click.option("--include-diagnostics", is_flag=True, help="With no --metric: also gate on the diag/* metrics.")
@click.option("--familywise", type=click.Choice(FAMILYWISE_METHODS), default=FAMILYWISE, show_default=True,
              help="Regression side over the gated metrics: none (each metric at alpha), holm or bonferroni "
                   "(the run's chance of a false regression at most alpha). docs/statistics.md, section 3.")
@resamples_option(help="Paired bootstrap resamples (the intervals the gate decides on).")
@trials_option()
@seed_option()
@click.option("--json-out", default="altbench-regress.json", show_default=True, metavar="PATH",
              help="Where to write the JSON verdict ('-': stdout, and the per-metric lines go to stderr).")
@jobs_option()
@click.pass_context
def regress_command(ctx, baseline, candidate, metrics, margin, alpha, on_inconclusive, include_diagnostics,
                    familywise, resamples, trials, seed, json_out, jobs):
    """CI gate: is CANDIDATE non-inferior to BASELINE on the same items?

    Exit status: 0 pass, 1 regression, 2 usage or input error, 3 inconclusive, 4 not comparable.
    """
    from altbench.executor import Executor
    from altbench.stats.gate import regress

    try:
        with Executor(jobs) as executor:
            verdict = regress(baseline, candidate, metrics, margin=margin, alpha=alpha,
                              on_inconclusive=on_inconclusive, resamples=resamples, trials=trials, seed=seed,
                              include_diagnostics=include_diagnostics, familywise=familywise,
                              starmap=executor.starmap)
    except AltbenchError as exc:
        _fail(ctx, exc)
        return
    to_stdout = json_out == "-"
    for m in verdict.metrics:
        click.echo(m.line(verdict.level, verdict.familywise), err=to_stdout)
    click.echo(verdict.summary(), err=to_stdout or verdict.status == "not_comparable")
    if to_stdout:
        sys.stdout.write(json.dumps(verdict.to_dict(), indent=2) + "\n")
    else:
        try:
            _write_json(verdict.to_dict(), Path(json_out))
        except OSError as exc:
            _fail(ctx, AltbenchError(f"cannot write the verdict to {json_out}: {exc}"))
            return
        click.echo(f"verdict written to {json_out}")
    ctx.exit(verdict.exit_code)
