"""What users do after the happy path never loses or mixes results (issue: run-folder integrity).

A full run, a ``--limit 5 --convention both`` rerun of the same model and an ``altbench score`` of its
predictions in the other convention all live in one run folder as separate scorings; compare then still
sees every item, and the leaderboard lists the model once. Also: the three places that decide significance
(compare, regress, leaderboard ranks) agree, on runs where the earlier per-command policies disagreed.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner

from altbench.cli import cli
from altbench.results import load_run
from altbench.stats.comparable import label_runs
from altbench.stats.comparable import load_run as load_for_comparison
from altbench.stats.compare import compare_runs
from altbench.stats.engine import Policy
from altbench.stats.gate import regress
from altbench.stats.paired import compare_pairs, holm
from altbench.stats.synthetic import Column, write_run


def _cli(*args, cwd):
    """The CLI as a user types it, in ``cwd`` (the fixture has chdir-ed there)."""
    assert cwd.samefile(".")
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _only(folder):
    (run_dir,) = [p for p in folder.iterdir() if p.is_dir()]
    return run_dir


def test_rerun_and_rescore_add_scorings_and_never_shadow_the_full_run(workdir):
    ok = lambda r: r.exit_code == 0 or pytest.fail(r.output)
    ok(_cli("run", "--model", "retrieval", "--split", "demo", "--resamples", "200", cwd=workdir))
    ok(_cli("run", "--model", "context-echo", "--split", "demo", "--resamples", "200", cwd=workdir))
    retrieval = _only(workdir / "runs" / "retrieval")
    full = load_run(retrieval)
    (full_key,) = full.scorings
    full_metrics = full.headline.metrics

    # a subset rerun in both conventions, then a rescore of the run's predictions in the other convention
    ok(_cli("run", "--model", "retrieval", "--split", "demo", "--limit", "5", "--convention", "both",
            "--resamples", "200", cwd=workdir))
    ok(_cli("score", retrieval / "predictions.jsonl", "--split", "demo", "--convention", "coco",
            "--resamples", "200", cwd=workdir))
    run = load_run(retrieval)
    assert len(run.scorings) == 3 and run.headline.key == full_key
    assert run.headline.metrics == full_metrics  # the full result is untouched
    subset = next(s for s in run.scorings.values() if s.items.subset)
    assert subset.items.n_evaluated == 5 and subset.conventions == ["paper", "coco"]
    coco = run.scoring_for("coco/cider")
    assert coco is not None and coco.items.n_evaluated == 48 and not coco.items.subset
    assert run.scoring_for("paper/rougeL").key == full_key
    assert not list(retrieval.glob("*.scores")) and sorted(p.name for p in workdir.iterdir()) == ["runs"]

    # compare against another full run: every item, from the full scorings
    echo = _only(workdir / "runs" / "context-echo")
    result = _cli("compare", retrieval, echo, "--json", "--resamples", "200", "--trials", "200", cwd=workdir)
    ok(result)
    data = json.loads(result.output)
    assert data["n_items"] == 48 and all(c["n"] == 48 for c in data["comparisons"])
    assert "paper/rougeL" in data["metrics"] and "coco/cider" in data["skipped_metrics"]
    # the README's regress line: a short name stays unambiguous although the run holds coco metrics too
    verdict = regress(echo, retrieval, ["rougeL:1"], resamples=200)
    assert verdict.status != "not_comparable" and verdict.metrics[0].metric == "paper/rougeL"

    # the leaderboard lists each model once per split
    ok(_cli("leaderboard", "runs", "--out", "site", "--no-images", cwd=workdir))
    summary = json.loads((workdir / "site" / "data" / "index--summary-demo.json").read_text())
    models = [row["model"] for row in summary["rows"]]
    assert sorted(models) == ["context-echo", "retrieval"]
    per_metric = json.loads(next((workdir / "site" / "demo" / "data").glob("metric-coco-cider*.json")).read_text())
    assert [r["n"] for r in per_metric["rows"]] == [48]  # the coco column comes from the full coco scoring


def test_same_settings_rescored_replace_their_own_scoring_only(workdir):
    assert _cli("run", "--model", "context-echo", "--split", "demo", "--limit", "6", "--resamples", "200",
                cwd=workdir).exit_code == 0
    folder = _only(workdir / "runs" / "context-echo")
    first = load_run(folder)
    assert _cli("score", folder / "predictions.jsonl", "--split", "demo", "--resamples", "200",
                cwd=workdir).exit_code == 0
    again = load_run(folder)
    assert list(again.scorings) == list(first.scorings)  # same settings: the same key, scored again
    assert again.headline.metrics == first.headline.metrics
    assert _cli("score", folder / "predictions.jsonl", "--split", "demo", "--resamples", "300",
                cwd=workdir).exit_code == 0
    assert len(load_run(folder).scorings) == 2  # other bootstrap settings: a scoring of their own


def test_version_1_run_folder_is_read_then_converted_without_loss(workdir):
    """A folder written by an earlier altbench (results/1 + scores.jsonl) keeps its scoring."""
    assert _cli("run", "--model", "context-echo", "--split", "demo", "--limit", "6", "--resamples", "200",
                cwd=workdir).exit_code == 0
    folder = _only(workdir / "runs" / "context-echo")
    v2 = load_run(folder)
    scoring = v2.headline
    (folder / "results.json").write_text(json.dumps({**v2.flat(), "schema": "altbench.results/1"}))
    (folder / "scores.jsonl").write_bytes(scoring.scores_path.read_bytes())
    scoring.scores_path.unlink()
    v1 = load_run(folder)
    assert v1.schema == "altbench.results/1" and v1.headline.metrics == scoring.metrics
    assert _cli("score", folder / "predictions.jsonl", "--split", "demo", "--convention", "coco",
                "--resamples", "200", cwd=workdir).exit_code == 0
    converted = load_run(folder)
    assert converted.schema == "altbench.results/2" and len(converted.scorings) == 2
    assert converted.headline.metrics == scoring.metrics and not (folder / "scores.jsonl").exists()
    assert list(converted.headline.rows()) == list(scoring.rows())


# ------------------------------------------------------------------------ one significance policy
N = 40
SEED = 7  # a fixture on which the earlier policies disagreed (asserted below)


def _three_runs(tmp_path):
    rng = np.random.default_rng(SEED)
    base = rng.uniform(0.2, 0.6, N)
    shifts = {"A": 0.0, "B": 0.035, "C": 0.07}
    folders = []
    for name, shift in shifts.items():
        cols = {"paper/rougeL": Column(np.clip(base + shift + rng.normal(0, 0.08, N), 0, 1), scale=100.0),
                "paper/bleu4": Column(np.clip(base * 0.5 + shift / 2 + rng.normal(0, 0.06, N), 0, 1), scale=100.0),
                "paper/meteor": Column(np.clip(base + rng.normal(0, 0.08, N), 0, 1), scale=100.0)}
        folders.append(write_run(tmp_path / name, cols, model=name))
    return folders


def _old_policies(folders, policy):
    """What the leaderboard (bootstrap p, Holm over the pairs of a metric) and compare (permutation p, Holm
    over every pair and metric) decided before there was one engine."""
    runs = label_runs([load_for_comparison(f) for f in folders])
    keys = ["paper/rougeL", "paper/bleu4", "paper/meteor"]
    order = runs[0].ids(keys[0])
    blocks = [[r.block(k, order) for k in keys] for r in runs]
    pairs = list(itertools.combinations(range(len(runs)), 2))
    tests = compare_pairs(blocks, pairs, resamples=policy.resamples, trials=policy.trials, seed=policy.seed)
    flat = [((i, j), keys[m], t) for (i, j), per in zip(pairs, tests) for m, t in enumerate(per)]
    compare_p = holm([t.p_permutation for _, _, t in flat])
    old_compare = {(runs[i].label, runs[j].label, k) for ((i, j), k, _), p in zip(flat, compare_p) if p < policy.alpha}
    old_board = set()
    for k in keys:
        rows = [(pair, t) for pair, key, t in flat if key == k]
        for ((i, j), _), p in zip(rows, holm([t.p_bootstrap for _, t in rows])):
            if p < policy.alpha:
                old_board.add((runs[i].label, runs[j].label, k))
    return old_compare, old_board


def test_compare_regress_and_leaderboard_agree_on_significance(tmp_path):
    from altbench.publish import ranks
    from altbench.publish.runs import group_by_split
    from altbench.publish.runs import load_run as load_published

    policy = Policy(resamples=2000, trials=2000)
    folders = _three_runs(tmp_path)
    old_compare, old_board = _old_policies(folders, policy)
    assert old_compare != old_board  # the fixture is one where the earlier policies disagreed

    comparison = compare_runs(folders, settings=policy)
    by_compare = {(r.a, r.b, r.metric) for r in comparison.rows if r.significant}

    (group,) = group_by_split([load_published(f) for f in folders])
    analyses = ranks.analyse_group(group.runs, policy)
    by_board = set()
    for key in ("paper/rougeL", "paper/bleu4", "paper/meteor"):
        for pair in ranks.rank_metric(group.runs, key, analyses, policy).pairs:
            if pair.better is not None:
                by_board.add((pair.a, pair.b, key))

    by_regress = set()
    labels = {f: f.name for f in folders}
    for a, b in itertools.combinations(folders, 2):
        verdict = regress(a, b, ["rougeL:1", "bleu4:1", "meteor:1"], resamples=2000)
        by_regress |= {(labels[a], labels[b], m.metric) for m in verdict.metrics if m.significant}

    assert by_compare == by_board == by_regress
    assert by_compare  # something is significant, so the agreement is not vacuous
