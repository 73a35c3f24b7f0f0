"""``altbench judge-check``: how far to trust a judge (position and self-consistency, agreement between judges
and with humans, length bias), each figure with a 95% interval; see docs/judges.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from altbench.cli.arena_cmd import _judge_syntax
from altbench.cli.common import data_root_option, parse_model_args
from altbench.cli.options import resamples_option, seed_option
from altbench.errors import AltbenchError
from altbench.results.numbers import fmt
from altbench.stats.defaults import JUDGECHECK_RESAMPLES

PAIR_FORMATS = ["jsonl", "mcmdpo-pairs"]
_PER_JUDGE = re.compile(r"^(\d+):(.*)$")


def judge_settings(models: tuple[str, ...], backend: str | None, urls: tuple[str, ...],
                   args: tuple[str, ...]) -> list[dict]:
    """One options dict per ``--judge``: ``--judge-arg KEY=VALUE`` for all, ``--judge-arg N:KEY=VALUE`` for the
    N-th judge only; one ``--judge-url`` for all API judges, or one per judge in order."""
    if not models:
        raise AltbenchError("judge-check: name at least one judge: --judge MODEL (an API or local judge) or "
                            "--judge metric:paper/rougeL (offline)")
    if len(urls) not in (0, 1, len(models)):
        raise AltbenchError(f"judge-check: give one --judge-url for all judges or one per --judge ({len(models)}), "
                            f"got {len(urls)}")
    common: list[str] = []
    own: dict[int, list[str]] = {}
    for arg in args:
        m = _PER_JUDGE.match(arg)
        if m is None:
            common.append(arg)
            continue
        k = int(m.group(1))
        if not 1 <= k <= len(models):
            raise AltbenchError(f"--judge-arg {arg}: there is no judge {k} (judges are numbered 1 to {len(models)} "
                                "in the order of --judge)")
        own.setdefault(k, []).append(m.group(2))
    out = []
    for k, model in enumerate(models, 1):
        opts = parse_model_args(tuple(common) + tuple(own.get(k, [])), "--judge-arg")
        opts["model"] = model
        if backend is not None:
            opts["backend"] = backend
        if urls:
            opts["url"] = urls[0] if len(urls) == 1 else urls[k - 1]
        out.append(opts)
    return out


@click.command("judge-check")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--judge", "judges", multiple=True, metavar="MODEL",
              help="A judge (repeat for several): an API or local model as in altbench arena, or "
                   "metric:CONVENTION/NAME (e.g. metric:paper/rougeL), a metric judge that runs offline.")
@click.option("--judge-backend", type=click.Choice(["openai", "transformers"]), default=None,
              help="Backend of the model judges (default: openai).")
@click.option("--judge-url", "judge_urls", multiple=True, metavar="URL",
              help="OpenAI-compatible base URL: once for every judge, or once per --judge in order.")
@click.option("--judge-arg", "judge_args", multiple=True, metavar="[N:]KEY=VALUE",
              help="A judge option (docs/model-metrics.md) for every judge, or with N: for the N-th judge only, "
                   "e.g. temperature=0.7, 2:api_key_env=OTHER_KEY.")
@click.option("-s", "--split", default=None, help="Split the runs were made on (default: their run.json's).")
@data_root_option
@click.option("--format", "fmt_name", type=click.Choice(PAIR_FORMATS), default=None,
              help="SOURCES is one set of human pairs in this meta-eval format (default: jsonl when SOURCES is "
                   "one file; mcmdpo-pairs: the released preference pairs, a proxy); the judges are then also "
                   "scored against the (human) preferences.")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
              help="Answers per request for self-consistency (repeats 2..N are extra requests, cached).")
@resamples_option(default=JUDGECHECK_RESAMPLES, minimum=0,
                  help="Bootstrap resamples over items for the 95% intervals (0: none).")
@seed_option("Seeds the bootstrap and the coin that decides even human votes.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write judge-check.json and an accessible HTML page (index.html) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of a summary.")
def judgecheck_command(sources: tuple[Path, ...], judges: tuple[str, ...], judge_backend: str | None,
                       judge_urls: tuple[str, ...], judge_args: tuple[str, ...], split: str | None,
                       data_root: Path | None, fmt_name: str | None, repeats: int,
                       resamples: int, seed: int, out: Path | None, as_json: bool) -> None:
    """Check the judges on the battles of SOURCES: two or more run folders (the arena's battles), or one file
    of human pairs (meta-eval's JSON Lines pairs: the judges also meet the human preferences).

    Reports per judge: position consistency, first-position wins, self-consistency (--repeats >= 2), length
    bias (longer-text win rate, logistic slope), agreement with humans; between judges: Cohen's kappa,
    Krippendorff's alpha (3+). Answers come from the judge cache where the arena already asked.

    Exit status: 0 done; 2 a user error; 5 when no judge decided any battle (the result is written all the same).
    """
    from altbench.judges.check import CheckSettings, run_judge_check

    settings = CheckSettings(judges=judge_settings(judges, judge_backend, judge_urls, judge_args),
                             split=split, data_root=data_root, repeats=repeats, resamples=resamples, seed=seed,
                             judge_syntax=_judge_syntax(), out=out)
    if fmt_name is not None or (len(sources) == 1 and sources[0].is_file()):
        from altbench.metaeval.formats import read

        if len(sources) != 1:
            raise AltbenchError("judge-check: give one human pairs source (or two or more run folders)")
        name = fmt_name or "jsonl"
        settings.pairs = read(name, sources[0], seed=seed)
        settings.pairs_source = {"format": name, "path": str(sources[0])}
    else:
        settings.runs = list(sources)
    check = run_judge_check(settings)
    if out is not None:
        from altbench.publish.judgecheck_page import render_judge_check_page

        render_judge_check_page(check, out)  # index.html and judge-check.json
    if as_json:
        click.echo(json.dumps(check.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print(check)
        if out is not None:
            click.echo(f"wrote {out / 'judge-check.json'} and {out / 'index.html'}")
    if not any(j.battles.get("with_outcome") for j in check.judges):
        from altbench.cli import EXIT_INCOMPLETE

        click.echo("altbench: error: no judge decided any battle (see the failures); re-run the same command to "
                   "ask for the missing answers (they are cached)", err=True)
        click.get_current_context().exit(EXIT_INCOMPLETE)


def _stat(s) -> str:
    if s is None or s.value is None:
        return "n/a"
    lo, hi = s.ci95
    return f"{fmt(s.value)} [{fmt(lo)}, {fmt(hi)}]" if lo is not None else fmt(s.value)


def _print(check) -> None:
    inp = check.input
    what = f"{len(inp.get('runs') or [])} runs" if inp["kind"] == "runs" else f"{inp.get('pairs')} human pairs"
    click.echo(f"judge check on {inp['split']['name']} ({what}, {inp['battles']} battles), "
               f"{check.settings['repeats']} answer(s) per request")
    for j in check.judges:
        b = j.battles
        click.echo(f"{j.name}: {b['with_outcome']} of {b['possible']} battles decided")
        click.echo(f"  position consistency {_stat(j.position_consistency)}; first position wins "
                   f"{_stat(j.first_position_wins)}")
        click.echo(f"  self-consistency {_stat(j.self_consistency)}")
        lb = j.length_bias
        click.echo(f"  length: longer text wins {_stat(lb.longer_wins)}; slope per 100 characters "
                   f"{_stat(lb.slope)} ({lb.verdict})")
        if j.human_accuracy is not None:
            click.echo(f"  agreement with humans (accuracy) {_stat(j.human_accuracy)}")
    if check.agreement is not None:
        for p in check.agreement.pairs:
            click.echo(f"Cohen's kappa {p.a} vs {p.b}: {_stat(p.kappa)}")
        if check.agreement.alpha is not None:
            click.echo(f"Krippendorff's alpha (nominal), all judges: {_stat(check.agreement.alpha)}")
