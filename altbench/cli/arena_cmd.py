"""``altbench arena``: pairwise battles between runs, judged in both orders, ranked by a Bradley-Terry fit."""

from __future__ import annotations

import json
from pathlib import Path

import click

from altbench.cli.common import data_root_option, parse_model_args
from altbench.cli.options import jobs_option, resamples_option, seed_option
from altbench.results.numbers import fmt
from altbench.stats.defaults import ARENA_RESAMPLES

# the judge options this command takes, for its messages (see altbench.metrics.model.options)
_FLAGS = {"model": "--judge", "backend": "--judge-backend", "url": "--judge-url"}


def _judge_syntax():
    from altbench.metrics.model.options import OptionSyntax

    return OptionSyntax(name=lambda family, key: _FLAGS.get(key) or f"--judge-arg {key}",
                        setting=lambda family, key, value: (f"{_FLAGS[key]} {value}" if key in _FLAGS
                                                            else f"--judge-arg {key}={value}"),
                        source="--judge-arg")


def _split_paths(values: tuple[str, ...]) -> list[Path]:
    return [Path(v.strip()) for value in values for v in value.split(",") if v.strip()]


@click.command("arena")
@click.argument("runs", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--anchors", "anchors", multiple=True, metavar="RUNS",
              help="Fixed anchor run folders (comma-separated or repeated): RUNS battle only these, and the "
                   "anchors each other (judged once, then cached), CapArena-Auto style.")
@click.option("--judge", "judge_model", default=None, metavar="MODEL",
              help="Judge model: the served model name (OpenAI-compatible), a local VLM folder (with "
                   "--judge-backend transformers), or metric:CONVENTION/NAME, a metric judge that runs offline "
                   "(e.g. metric:paper/rougeL). Same as judge.model.")
@click.option("--judge-backend", type=click.Choice(["openai", "transformers"]), default=None,
              help="Judge backend (default: openai).")
@click.option("--judge-url", default=None, metavar="URL",
              help="OpenAI-compatible base URL (default: $OPENAI_BASE_URL, else https://api.openai.com/v1).")
@click.option("--judge-arg", "judge_args", multiple=True, metavar="KEY=VALUE",
              help="Any other judge option (see docs/model-metrics.md), e.g. api_key_env=MY_KEY, image=false, "
                   "references=true, price_in=0.15, price_out=0.6.")
@click.option("-s", "--split", default=None,
              help="Split the runs were made on (default: the one their run.json names).")
@data_root_option
@resamples_option(default=ARENA_RESAMPLES, minimum=0,
                  help="Bootstrap resamples over items for the 95% rating intervals (0: none); each one refits "
                       "the model, hence fewer than compare's.")
@seed_option()
@click.option("--judge-check", "judge_check", type=click.Path(exists=True, path_type=Path), default=None,
              help="A judge-check folder (or its judge-check.json) whose figures go on the judge card (default: "
                   "the last altbench judge-check of this judge, if any).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write arena.json and an accessible HTML page (index.html) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a table.")
@jobs_option(help="Worker processes for the bootstrap's refits; 1: none, everything in this process. No number "
                  "depends on it.")
def arena_command(runs: tuple[Path, ...], anchors: tuple[str, ...], judge_model: str | None,
                  judge_backend: str | None, judge_url: str | None, judge_args: tuple[str, ...], split: str | None,
                  data_root: Path | None, resamples: int, seed: int, judge_check: Path | None, out: Path | None,
                  as_json: bool, jobs: int | None) -> None:
    """Battle RUNS pairwise on the same items with a judge, in both orders (disagreeing orders are a tie).

    Ratings: the Davidson Bradley-Terry model with ties on an Elo-like scale (mean 1000), with 95% bootstrap
    intervals over items. Judgements are cached: re-running after an outage asks only for what is missing.
    See docs/arena.md.

    Exit status: 0 done; 2 a user error (bad runs or judge options, an OS error); 5 when no battle got an
    outcome (e.g. the judge is down): the result is printed and written all the same, failures counted.
    """
    from altbench.arena import ArenaSettings, run_arena

    options = parse_model_args(judge_args, "--judge-arg")
    for key, value in (("model", judge_model), ("backend", judge_backend), ("url", judge_url)):
        if value is not None:
            options[key] = value
    settings = ArenaSettings(runs=list(runs), anchors=_split_paths(anchors), judge=options, split=split,
                             data_root=data_root, resamples=resamples, seed=seed, judge_syntax=_judge_syntax(),
                             judge_check=judge_check, jobs=jobs)
    result = run_arena(settings)
    if out is not None:
        from altbench.publish.arena_page import render_arena_page

        render_arena_page(result, out)  # index.html and arena.json
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_table(result)
        if out is not None:
            click.echo(f"wrote {out / 'arena.json'} and {out / 'index.html'}")
    _exit_if_nothing_judged(result, out)


def _exit_if_nothing_judged(result: dict, out: Path | None) -> None:
    """Exit 5 (after the result was printed and written) when no battle has an outcome."""
    from altbench.cli import EXIT_INCOMPLETE

    battles = result["battles"]
    if battles["with_outcome"]:
        return
    failed = ", ".join(f"{k}: {v}" for k, v in battles["failures"].items() if v) or "there was none to judge"
    where = f"; the result, failures counted, is in {out / 'arena.json'}" if out is not None else ""
    click.echo(f"altbench: error: no battle was judged ({failed}){where}; re-run the same command to ask the "
               "judge for the missing ones (answers are cached)", err=True)
    click.get_current_context().exit(EXIT_INCOMPLETE)


def _rating(x: float | None, ci: list) -> str:
    rating = fmt(x, digits=0) if x is not None else "-"
    interval = f"[{fmt(ci[0], digits=0)}, {fmt(ci[1], digits=0)}]" if ci and ci[0] is not None else ""
    return f"{rating:>6} {interval:<14}"


def _print_table(result: dict) -> None:
    card = result["judge"].get("card") or {}
    click.echo(f"arena on split {result['split']['name']} ({result['mode']}), judge "
               f"{card.get('label') or result['judge']['model']}")
    click.echo(f"{'':>5}{'model':<30} {'rating [95% CI]':<21} {'length-controlled':<21} mean chars")
    for m in result["models"]:
        extra = f"  anchor score {fmt(m['anchor_score'], digits=1, sign=True)}" if m.get("anchor_score") is not None \
            else ""
        length = (m.get("mean_length") or {}).get("chars")
        click.echo(f"{m['rank']:>3}. {m['label']:<30} {_rating(m['rating'], m['ci95'])} "
                   f"{_rating(m.get('lc_rating'), m.get('lc_ci95'))} {fmt(length, digits=0):>5}  "
                   f"W/T/L {m['wins']}/{m['ties']}/{m['losses']}{extra}")
    beta = (result.get("length_control") or {}).get("beta")
    if beta:
        click.echo(f"length term (log-odds, longer text): {fmt(beta['value'])} [{fmt(beta['ci95'][0])}, "
                   f"{fmt(beta['ci95'][1])}]")
    b = result["battles"]
    failed = ", ".join(f"{k} {v}" for k, v in b["failures"].items() if v) or "none"
    usage = result["judge"]["usage"]["requests"]
    if result["judge"]["backend"] == "metric":
        asked = f"verdicts of the metric: {usage['answers']} (offline)"
    else:
        cost = f", about ${fmt(usage['cost_usd'], digits=4)}" if usage.get("cost_usd") is not None else ""
        asked = (f"judge now: {usage['answers']} answers ({usage['prompt_tokens']} prompt + "
                 f"{usage['completion_tokens']} completion tokens{cost}), {b['answers_from_cache']} from the cache")
    click.echo(f"battles: {b['with_outcome']} with an outcome of {b['possible']}; without: {failed}; {asked}")
    rel = card.get("reliability")
    if rel:
        pos = rel["position_consistency"] or {}
        click.echo(f"judge check ({rel['source']}): position consistency {fmt(pos.get('value'))}; length: "
                   f"{rel['length_bias']['verdict']}")
