"""One set of statistical defaults (altbench/stats/defaults.py) for every command and library function, one
name per option, and the consequence: compare, regress and the leaderboard decide alike at their defaults."""

import dataclasses
import inspect
import itertools
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from altbench.cli import COMMANDS, cli
from altbench.stats import defaults

STATS_OPTIONS = ("resamples", "trials", "seed", "level", "alpha")
# (command) -> {option: the constant its default must be}
EXPECTED = {
    "run": {"resamples": defaults.RESAMPLES, "seed": defaults.SEED},
    "score": {"resamples": defaults.RESAMPLES, "seed": defaults.SEED},
    "compare": {"resamples": defaults.RESAMPLES, "trials": defaults.TRIALS, "seed": defaults.SEED,
                "level": defaults.LEVEL, "alpha": defaults.ALPHA},
    "regress": {"resamples": defaults.RESAMPLES, "trials": defaults.TRIALS, "seed": defaults.SEED,
                "alpha": defaults.ALPHA},
    "leaderboard": {"resamples": defaults.RESAMPLES, "trials": defaults.TRIALS, "seed": defaults.SEED,
                    "alpha": defaults.ALPHA},
    "arena": {"resamples": defaults.ARENA_RESAMPLES, "seed": defaults.SEED},
    "meta-eval": {"resamples": defaults.METAEVAL_RESAMPLES, "seed": defaults.SEED},
    "judge-check": {"resamples": defaults.JUDGECHECK_RESAMPLES, "seed": defaults.SEED},
}
FLAG = {"resamples": "--resamples", "trials": "--trials", "seed": "--seed", "level": "--level", "alpha": "--alpha"}


def _command(name):
    return cli.get_command(None, name)


def _help(name):
    res = CliRunner().invoke(cli, [name, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_command_takes_its_statistical_defaults_from_the_defaults_module(name):
    params = {p.name: p for p in _command(name).params}
    found = {k: params[k].default for k in STATS_OPTIONS if k in params}
    assert found == EXPECTED[name], name
    text = _help(name)
    for key in EXPECTED[name]:
        assert FLAG[key] in params[key].opts, (name, key, params[key].opts)
    assert "--bootstrap" not in text  # the old name still parses (hidden), but only --resamples is documented
    assert ("--trials" in text) == ("trials" in EXPECTED[name])


def test_the_leaderboard_rebuild_script_has_the_same_defaults():
    from altbench.publish.rebuild import main

    params = {p.name: p for p in main.params}
    assert params["resamples"].default == defaults.RESAMPLES and "--resamples" in params["resamples"].opts
    assert params["trials"].default == defaults.TRIALS


def test_option_names_mean_one_thing_across_commands():
    for name in COMMANDS:
        command = _command(name)
        commands = list(command.commands.values()) if hasattr(command, "commands") else [command]
        for cmd in commands:
            for p in (p for p in cmd.params if isinstance(p, click.Option)):
                if "-m" in p.opts:  # -m is a metric wherever it exists
                    assert p.name in ("metrics", "metric"), (name, p.opts)
                if p.name in ("out", "output"):  # --out names the output wherever there is one
                    assert "--out" in p.opts, (name, cmd.name, p.opts)


def test_deprecated_aliases_still_work(tmp_path):
    """--bootstrap (resamples) and train-baseline's --output / -o still parse, as hidden aliases."""
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "0", "prediction": "a red circle", "error": None}) + "\n")
    res = CliRunner().invoke(cli, ["score", str(preds), "--split", "demo", "--bootstrap", "150",
                                   "--out", str(tmp_path / "scored")])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "scored" / "results.json").read_text())
    assert [s["bootstrap"]["resamples"] for s in results["scorings"].values()] == [150]
    out = {p.name: p for p in _command("train-baseline").params}["out"]
    assert {"--out", "--output", "-o"} <= set(out.opts) and "--output" not in _help("train-baseline")


def test_library_defaults_equal_the_defaults_module():
    import altbench
    from altbench.arena import bradley_terry
    from altbench.arena.result import ArenaSettings
    from altbench.metaeval import agreement
    from altbench.metaeval.evaluate import meta_evaluate
    from altbench.publish.pages import LeaderboardConfig
    from altbench.run.rescore import ScoreConfig
    from altbench.run.runner import RunConfig
    from altbench.run.scoring import score_split
    from altbench.stats import bootstrap, gate, paired
    from altbench.stats.compare import compare_runs
    from altbench.stats.engine import Policy

    def params(fn):
        return {k: p.default for k, p in inspect.signature(fn).parameters.items()}

    def fields(cls):
        return {f.name: f.default for f in dataclasses.fields(cls)}

    d = defaults
    assert fields(Policy) == {"resamples": d.RESAMPLES, "trials": d.TRIALS, "seed": d.SEED, "level": d.LEVEL,
                              "alpha": d.ALPHA}
    for fn in (altbench.score, altbench.evaluate):
        assert params(fn)["resamples"] == d.RESAMPLES and params(fn)["seed"] == d.SEED
    g = params(gate.regress)
    assert (g["resamples"], g["trials"], g["seed"], g["alpha"]) == (d.RESAMPLES, d.TRIALS, d.SEED, d.ALPHA)
    assert params(compare_runs)["settings"] is None  # None: Policy() above
    lb = fields(LeaderboardConfig)
    assert (lb["resamples"], lb["trials"], lb["seed"], lb["alpha"]) == (d.RESAMPLES, d.TRIALS, d.SEED, d.ALPHA)
    assert LeaderboardConfig(runs=[]).policy == Policy()
    for cls in (RunConfig, ScoreConfig):
        assert fields(cls)["resamples"] == d.RESAMPLES and fields(cls)["seed"] == d.SEED
    assert params(score_split)["resamples"] == d.RESAMPLES
    assert params(bootstrap.bootstrap_ci)["resamples"] == d.RESAMPLES
    p = params(paired.compare_pairs)
    assert (p["resamples"], p["trials"], p["seed"], p["level"]) == (d.RESAMPLES, d.TRIALS, d.SEED, d.LEVEL)
    assert fields(ArenaSettings)["resamples"] == d.ARENA_RESAMPLES
    assert params(bradley_terry.bootstrap)["resamples"] == d.ARENA_RESAMPLES
    assert params(meta_evaluate)["resamples"] == d.METAEVAL_RESAMPLES
    for fn in (agreement.item_correlation, agreement.pairwise_accuracy, agreement.system_correlation):
        assert params(fn)["resamples"] == d.METAEVAL_RESAMPLES
    from altbench.judges import figures
    from altbench.judges.check import CheckSettings
    assert fields(CheckSettings)["resamples"] == d.JUDGECHECK_RESAMPLES
    for fn in (figures.position, figures.self_consistency, figures.length_bias, figures.between_judges):
        assert params(fn)["resamples"] == d.JUDGECHECK_RESAMPLES


def test_library_errors_name_parameters_not_options(tmp_path):
    """altbench.score, regress(), compare_runs and Policy are called from Python: their messages name the
    parameter (alpha), never a CLI option (--alpha)."""
    import altbench
    from altbench.errors import AltbenchError
    from altbench.stats.compare import compare_runs
    from altbench.stats.engine import Policy
    from altbench.stats.gate import regress
    from altbench.stats.synthetic import write_run

    a = write_run(tmp_path / "a", {"paper/rougeL": [0.1, 0.5, 0.3, 0.2]}, model="a")
    b = write_run(tmp_path / "b", {"paper/rougeL": [0.2, 0.4, 0.3, 0.6]}, model="b")
    calls = {
        "resamples": lambda: altbench.score(["a"], [["a"]], resamples=0),
        "metric_args": lambda: altbench.score(["a"], [["a"]], metric_args={"clipscore.model": "x"}),
        "metric_args: unknown metric": lambda: altbench.score(["a"], [["a"]], metric_args={"clip": {}}),
        "alpha": lambda: regress(a, b, alpha=1.5),
        "on_inconclusive": lambda: regress(a, b, on_inconclusive="maybe"),
        "margin": lambda: regress(a, b, margin=-1),
        "trials": lambda: regress(a, b, trials=0),
        "familywise": lambda: regress(a, b, familywise="sidak"),
        "metric 'rougeL:x'": lambda: regress(a, b, ["rougeL:x"]),
        "no default margin for paper/other": lambda: regress(
            write_run(tmp_path / "c", {"paper/other": [0.1, 0.2]}, model="c"),
            write_run(tmp_path / "d", {"paper/other": [0.1, 0.3]}, model="d"), ["other"]),
        "level": lambda: compare_runs([a, b], settings=Policy(level=1.0)),
    }
    for expected, call in calls.items():
        with pytest.raises(AltbenchError) as err:
            call()
        message = str(err.value)
        assert message.startswith(expected) or expected in message, (expected, message)
        assert "--" not in message, message


def test_no_literal_statistical_default_is_left_in_the_code():
    """Defaults are read from altbench/stats/defaults.py, never spelled as a number elsewhere."""
    import re

    root = Path(__file__).resolve().parents[1] / "altbench"
    pattern = re.compile(r"(resamples|trials)\b[^=\n]*=\s*(1_?000|10_?000)\b")
    hits = [f"{path.relative_to(root)}:{n}: {line.strip()}" for path in root.rglob("*.py")
            if path.name != "defaults.py"
            for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


# ------------------------------------------------------------------ one decision at defaults (palt-sample)
MODELS = ("retrieval", "context-echo", "altbench-tiny")


@pytest.fixture(scope="module")
def palt_runs(tmp_path_factory, sample_root):
    """The leaderboard's three models on palt-sample, made by `altbench run` at its defaults."""
    pytest.importorskip("transformers", reason="altbench-tiny needs the hf extra")
    root = tmp_path_factory.mktemp("palt")
    folders = {}
    for model in MODELS:
        res = CliRunner().invoke(cli, ["run", "--model", model, "--split", "palt-sample", "--data-root",
                                       str(sample_root), "--out", str(root / model)])
        assert res.exit_code == 0, res.output
        folders[model] = root / model
    return root, folders


def _slug(key):
    return key.replace("/", "-").replace("_", "-").lower()


def test_compare_regress_and_leaderboard_agree_at_defaults_on_palt_sample(palt_runs):
    root, folders = palt_runs
    runs = [str(folders[m]) for m in MODELS]
    res = CliRunner().invoke(cli, ["compare", *runs, "--json"])
    assert res.exit_code == 0, res.output
    comparison = json.loads(res.output)
    keys = comparison["metrics"]
    assert "paper/rougeL" in keys
    by_compare = {(frozenset((r["a"], r["b"])), r["metric"]): (r["p_permutation_holm"], r["better"])
                  for r in comparison["comparisons"]}

    by_regress = {}
    for a, b in itertools.combinations(MODELS, 2):
        verdict_path = root / f"verdict-{a}-{b}.json"
        res = CliRunner().invoke(cli, ["regress", "--baseline", str(folders[a]), "--candidate", str(folders[b]),
                                       "--json-out", str(verdict_path), "--margin", "1",
                                       *[arg for k in keys for arg in ("-m", k)]])
        assert res.exit_code in (0, 1, 3), res.output
        for m in json.loads(verdict_path.read_text())["metrics"]:
            by_regress[(frozenset((a, b)), m["metric"])] = m["p_holm"], m["significant"]

    site = root / "site"
    res = CliRunner().invoke(cli, ["leaderboard", *runs, "--out", str(site), "--no-images"])
    assert res.exit_code == 0, res.output
    by_board = {}
    for key in keys:
        table = site / "palt-sample" / "data" / f"metric-{_slug(key)}--pairs-{_slug(key)}.json"
        for row in json.loads(table.read_text())["rows"]:
            by_board[(frozenset((row["model_a"], row["model_b"])), key)] = (row["p_holm"],
                                                                           row["significantly_better"])

    assert by_compare.keys() == by_regress.keys() == by_board.keys()
    for pair_metric, (p, better) in by_compare.items():
        assert by_board[pair_metric] == (p, better), pair_metric  # the same p-value, so the same decision
        assert by_regress[pair_metric] == (p, better is not None), pair_metric
    assert any(better for _, better in by_compare.values())  # something differs: the agreement is not vacuous
