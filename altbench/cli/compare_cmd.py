"""``altbench compare`` and ``altbench regress``: thin shells over :mod:`altbench.stats`.

Exit codes: compare 0 done, 2 usage or input error, 4 not comparable; regress 0 pass, 1 regression,
2 usage or input error, 3 inconclusive, 4 not comparable.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click

from altbench.errors import AltbenchError

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
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Paired bootstrap resamples (interval and bootstrap p-value).")
@click.option("--trials", type=click.IntRange(min=100), default=10_000, show_default=True,
              help="Approximate-randomization (paired permutation) trials.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the intervals.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Significance level for the Holm-adjusted permutation p-value.")
@click.option("--convention", type=click.Choice(["paper", "coco"]), default=None,
              help="Use only scorings of this convention (default: each metric from each run's fullest scoring "
                   "that reports it).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON result instead of the table.")
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON result to this file.")
@click.pass_context
def compare_command(ctx, runs, metrics, include_diagnostics, resamples, trials, seed, level, alpha, convention,
                    as_json, json_out):
    """Compare RUNS (run folders or results.json files; at least two) item by item.

    For every metric and every pair: the difference (later run minus earlier) with its paired bootstrap
    interval, a paired bootstrap p-value, an approximate-randomization p-value, the effect size d_z and
    Holm-Bonferroni adjusted p-values (per pair, over the quality metrics both runs report: the policy of
    docs/statistics.md, shared with regress and the leaderboard). Runs of another split,
    metric settings or item set are refused (exit 4).
    """
    from altbench.stats.compare import Settings, compare_runs

    try:
        result = compare_runs(runs, metrics, include_diagnostics,
                              Settings(resamples, trials, seed, level, alpha), convention)
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


def _num(x: float | None, scale: float = 1.0, digits: int | None = None, sign: bool = False) -> str:
    """Reported-scale numbers as `altbench run` prints them: 2 decimals for scaled or large values."""
    if x is None or not math.isfinite(x):
        return "-"
    if digits is None:
        digits = 2 if scale != 1.0 or abs(x) >= 10 else 4
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


def _p(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.4f}" if x >= 0.0001 else f"{x:.1e}"


def _print_table(result) -> None:
    """One table per pair (B vs A), the Holm adjustment still over every comparison shown."""
    from rich.console import Console
    from rich.table import Table

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
            s_ = r.scale
            table.add_row(r.metric, _num(r.value_a, s_), _num(r.value_b, s_), _num(t.delta, s_, sign=True),
                          f"[{_num(t.ci_low, s_, sign=True)}, {_num(t.ci_high, s_, sign=True)}]",
                          _p(t.p_bootstrap), _p(t.p_permutation), _p(r.p_holm),
                          _num(t.effect_size, digits=3),
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

    s = result.settings
    table = Table(title="Reliance (altbench probe): 1 - similarity of probed to original outputs",
                  title_justify="left")
    for col in ("pair", "reliance", "n", "A", "B", "B - A", f"{s.level:.0%} CI", "p perm", "p Holm", "result"):
        table.add_column(col, justify="left" if col in ("pair", "reliance", "result") else "right")
    for r in result.reliance:
        table.add_row(f"B = {r.b} vs A = {r.a}", f"{r.kind} ({r.probe})", str(r.n), _num(r.value_a, digits=3),
                      _num(r.value_b, digits=3), _num(r.delta, digits=3, sign=True),
                      f"[{_num(r.ci95[0], digits=3, sign=True)}, {_num(r.ci95[1], digits=3, sign=True)}]",
                      _p(r.p_permutation), _p(r.p_holm),
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
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
              show_default=True, help="Decisions use the two-sided 100(1-alpha)% paired bootstrap interval.")
@click.option("--on-inconclusive", type=click.Choice(["pass", "fail"]), default="fail", show_default=True,
              help="Exit status when no metric regresses but some are inconclusive: pass -> 0, fail -> 3.")
@click.option("--include-diagnostics", is_flag=True, help="With no --metric: also gate on the diag/* metrics.")
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json-out", default="altbench-regress.json", show_default=True, metavar="PATH",
              help="Where to write the JSON verdict ('-': stdout, and the per-metric lines go to stderr).")
@click.pass_context
def regress_command(ctx, baseline, candidate, metrics, margin, alpha, on_inconclusive, include_diagnostics,
                    resamples, seed, json_out):
    """CI gate: is CANDIDATE non-inferior to BASELINE on the same items?

    Exit status: 0 pass, 1 regression, 2 usage or input error, 3 inconclusive, 4 not comparable.
    """
    from altbench.stats.gate import regress

    try:
        verdict = regress(baseline, candidate, metrics, margin=margin, alpha=alpha, on_inconclusive=on_inconclusive,
                          resamples=resamples, seed=seed, include_diagnostics=include_diagnostics)
    except AltbenchError as exc:
        _fail(ctx, exc)
        return
    to_stdout = json_out == "-"
    for m in verdict.metrics:
        click.echo(m.line(verdict.level), err=to_stdout)
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
