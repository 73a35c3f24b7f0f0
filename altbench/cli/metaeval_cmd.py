"""``altbench meta-eval``: how well each metric agrees with human judgments (Kendall tau, pairwise accuracy)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from altbench.cli.common import (
    metric_arg_option,
    metrics_config_option,
    metrics_option,
    model_metric_settings,
)
from altbench.cli.options import jobs_option, resamples_option, seed_option
from altbench.stats.defaults import METAEVAL_RESAMPLES


@click.command("meta-eval")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", default="jsonl", show_default=True,
              type=click.Choice(["jsonl", "flickr8k-expert", "flickr8k-cf", "composite", "pascal50s",
                                 "mcmdpo-pairs"]),
              help="jsonl: the documented JSON Lines file (docs/meta-eval.md); flickr8k-*: the Flickr8k folder; "
                   "composite: a *_correctness.csv file or their folder; pascal50s: the folder with "
                   "pair_pascal.mat and consensus_pascal.mat; mcmdpo-pairs: the MCM-DPO data folder (released "
                   "train pairs, chosen preferred: a proxy).")
@click.option("--images", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the images of a flickr8k/composite/pascal50s set.")
@click.option("--convention", type=click.Choice(["paper", "coco", "both", "none"]), default="paper",
              show_default=True, help="Reference-based metrics to evaluate (none: only --metrics).")
@metrics_option
@metric_arg_option
@metrics_config_option
@resamples_option(default=METAEVAL_RESAMPLES, minimum=0,
                  help="Bootstrap resamples for the 95% intervals (0: none); each one recomputes every "
                       "correlation, hence fewer than compare's.")
@seed_option("Seeds the bootstrap, the Pascal-50S reference draw and vote-tie coin, the proxy's order.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write meta-eval.json and an accessible HTML page (index.html) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@jobs_option(help="Worker processes for the scoring and the resamples' Kendall taus; 1: none, everything in "
                  "this process. No number depends on it.")
def metaeval_command(source: Path, fmt: str, images: Path | None, convention: str, metrics: tuple[str, ...],
                     metric_args: tuple[str, ...], metrics_config: Path | None, resamples: int, seed: int,
                     out: Path | None, as_json: bool, jobs: int | None) -> None:
    """Meta-evaluate metrics against the human judgments in SOURCE.

    Per metric: item-level Kendall tau-b and tau-c (scores), pairwise accuracy (pairs; even human votes by a
    seeded coin, metric ties half a point), system-level Kendall and Spearman (scores naming their model),
    each with a 95% bootstrap interval. See docs/meta-eval.md.
    """
    from altbench.metaeval.evaluate import meta_evaluate
    from altbench.metaeval.formats import read

    names, settings = model_metric_settings(metrics, metric_args, metrics_config)
    judgments = read(fmt, source, images=images, seed=seed)
    conventions = [] if convention == "none" else (["paper", "coco"] if convention == "both" else [convention])
    result = meta_evaluate(judgments, conventions=conventions, metrics=names, metric_args=settings,
                           resamples=resamples, seed=seed, jobs=jobs,
                           source={"format": fmt, "path": str(source), "proxy": fmt == "mcmdpo-pairs"})
    if out is not None:
        from altbench.publish.metaeval_page import render_metaeval_page

        render_metaeval_page(result, out)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    _print(result)
    if out is not None:
        click.echo(f"wrote {out / 'meta-eval.json'} and {out / 'index.html'}")


def _fmt(stat: dict | None) -> str:
    if not stat or stat.get("value") is None:
        return "n/a"
    lo, hi = stat["ci95"]
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None else ""
    return f"{stat['value']:.3f}{ci}"


def _print(result: dict) -> None:
    inp = result["input"]
    proxy = " (a PROXY: chosen vs rejected of the released pairs)" if inp.get("proxy") else ""
    click.echo(f"meta-eval of {inp['judgments']} judgments: {inp['scores']} scores, {inp['pairs']} pairs{proxy}")
    for key, m in result["metrics"].items():
        parts = []
        if "item" in m:
            parts.append(f"tau-b {_fmt(m['item']['kendall_tau_b'])}, tau-c {_fmt(m['item']['kendall_tau_c'])}")
        if "system" in m:
            parts.append(f"system tau-b {_fmt(m['system']['kendall_tau_b'])}, rho {_fmt(m['system']['spearman'])}")
        if "pairwise" in m:
            parts.append(f"pairwise accuracy {_fmt(m['pairwise']['accuracy'])}")
        click.echo(f"{key:<28} " + "; ".join(parts))
    for note in result["notes"]:
        click.echo(f"note: {note}")
