"""``altbench judge-check`` against the local judge servers with planted behaviour (tests/test_model_metrics_helpers
.py): a judge answering "A" on a known fraction of requests, one whose repeats disagree on a known fraction,
one that prefers longer text, two judges with a planted agreement; metric judges against their metric's own
pairwise wins; the judge cache shared with the arena; judge cards; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_arena import arena, length_runs, make_run
from test_model_metrics_helpers import FakeJudge

from altbench.arena import ArenaSettings, run_arena
from altbench.cli import cli
from altbench.errors import AltbenchError, DataError
from altbench.judges import stats
from altbench.judges.check import CheckSettings, run_judge_check
from altbench.judges.schema import from_dict, read_judge_check


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def demo_split(tmp_path_factory):
    import os

    os.environ.setdefault("ALTBENCH_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
    from altbench.data.splits import load_split

    return load_split("demo")


def fake(judge, model="fake-judge", **extra):
    return {"model": model, "url": judge.url, "backoff": 0.01, **extra}


def check(runs, *judges, repeats=1, resamples=300):
    return run_judge_check(CheckSettings(judges=list(judges), runs=list(runs), repeats=repeats,
                                         resamples=resamples, seed=0))


def within(stat, value):
    lo, hi = stat.ci95
    return lo <= value <= hi


# ------------------------------------------------------------------------------------- planted behaviour
def test_a_judge_that_answers_a_on_a_known_fraction_is_reported_with_that_consistency(tmp_path, demo_split):
    """Planted: "A" on 30% of requests, else the shorter text. A battle's two orders disagree exactly when the
    request showing the shorter text second was one of the 30%: position consistency 0.7."""
    runs = length_runs(tmp_path, demo_split, n=40)
    with FakeJudge() as judge:
        judge.first_fraction = 0.3
        result = check(runs.values(), fake(judge))
    report = result.judges[0]
    assert report.battles["with_outcome"] == 120 and report.position_consistency.n == 120
    assert within(report.position_consistency, 0.7), report.position_consistency
    assert report.position_consistency.ci95[1] < 1.0  # the bias is detected
    assert report.first_position_wins.value > 0.5
    with FakeJudge() as honest:
        clean = check(runs.values(), fake(honest, model="honest"))
    assert clean.judges[0].position_consistency.value == 1.0


def test_self_consistency_of_a_judge_whose_repeats_disagree(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=30)
    with FakeJudge() as judge:
        judge.repeat_flip = 0.25  # a repeated request answers "tie" on a quarter of requests
        result = check(runs.values(), fake(judge), repeats=2)
        sent = len(judge.requests)
        again = check(runs.values(), fake(judge), repeats=2)
    report = result.judges[0]
    assert within(report.self_consistency, 0.75) and report.self_consistency.ci95[1] < 1.0
    assert sent == 2 * 180 and report.battles["requests_now"] == 360  # 90 battles x 2 orders, asked twice
    assert again.judges[0].battles["requests_now"] == 0  # the repeats are cached too
    assert again.judges[0].self_consistency == report.self_consistency


def test_a_check_after_an_arena_costs_only_the_repeats(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=10)
    with FakeJudge() as judge:
        first = arena(list(runs.values()), judge)
        before = len(judge.requests)
        result = check(runs.values(), fake(judge), repeats=3)
    assert before == first["battles"]["unique_requests"] == 60
    assert len(judge.requests) - before == 2 * 60  # repeats 2 and 3 only: the first answers come from the cache
    assert result.judges[0].battles["answers_from_cache"] == 60
    assert result.judges[0].self_consistency.value == 1.0


def test_a_judge_that_prefers_longer_text_is_reported_as_length_biased(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=20)
    with FakeJudge() as judge:
        judge.prefer_longer = True
        biased = check(runs.values(), fake(judge, model="likes-long")).judges[0]
        judge.prefer_longer = False
        honest = check(runs.values(), fake(judge, model="likes-short")).judges[0]
    assert biased.length_bias.verdict == "prefers longer text"
    assert biased.length_bias.longer_wins.value == 1.0 and biased.length_bias.slope.ci95[0] > 0
    assert honest.length_bias.verdict == "prefers shorter text" and honest.length_bias.longer_wins.value == 0.0


def test_two_judges_with_planted_agreement_give_the_planted_kappa(tmp_path, demo_split):
    """x is shorter on even items, y on odd ones: the first judge (shorter wins) alternates a/b; the second
    prefers the longer text where the marker "~" is, on 4 of 20 items (2 even, 2 odd): it agrees on 16 of 20
    with both labels 10/10, so kappa = (0.8 - 0.5) / (1 - 0.5) = 0.6. A third judge copies the first."""
    items = demo_split.items[:20]
    marked = {items[k].id for k in (0, 2, 1, 3)}
    mark = {it.id: "~" if it.id in marked else "" for it in items}
    x = make_run(tmp_path / "x", "x", demo_split, {it.id: (f"a{mark[it.id]}" if k % 2 == 0 else f"a b c{mark[it.id]}")
                                                  for k, it in enumerate(items)})
    y = make_run(tmp_path / "y", "y", demo_split, {it.id: (f"a b c{mark[it.id]}" if k % 2 == 0 else f"a{mark[it.id]}")
                                                  for k, it in enumerate(items)})
    with FakeJudge() as one, FakeJudge() as two:
        two.contrary_marker = "~"
        result = check([x, y], fake(one, model="judge-1"), fake(two, model="judge-2"), fake(one, model="judge-3"))
    pairs = {(p.a, p.b): p.kappa for p in result.agreement.pairs}
    assert pairs[("judge-1", "judge-2")].value == pytest.approx(0.6)
    assert pairs[("judge-1", "judge-3")].value == pytest.approx(1.0)
    first = ["a" if k % 2 == 0 else "b" for k in range(20)]
    second = [("b" if f == "a" else "a") if items[k].id in marked else f for k, f in enumerate(first)]
    planted = stats.krippendorff_alpha_nominal(list(zip(first, second, first)))
    assert result.agreement.alpha.value == pytest.approx(planted)
    assert within(pairs[("judge-1", "judge-2")], 0.6)


# ----------------------------------------------------------------------------------------- metric judges
def _quality_runs(root, split, n=16):
    items = split.items[:n]
    texts = {
        "echo": {it.id: it.references[0] for it in items},
        "half": {it.id: " ".join(it.references[0].split()[: max(1, len(it.references[0].split()) // 2)])
                 for it in items},
        "noise": {it.id: ("a dog on the grass" if k % 3 else it.references[0]) for k, it in enumerate(items)},
    }
    return {name: make_run(root / name, name, split, t) for name, t in texts.items()}, texts


@pytest.mark.parametrize("metric", ["paper/rougeL", "paper/edit_distance"])
def test_metric_judges_rank_runs_as_their_metric_pairwise_wins_do(tmp_path, demo_split, metric):
    from altbench.run.predictions import PredictionRecord
    from altbench.run.scoring import score_split

    runs, texts = _quality_runs(tmp_path, demo_split)
    result = run_arena(ArenaSettings(runs=list(runs.values()), judge={"model": f"metric:{metric}"}, resamples=50))
    scores, higher = {}, True
    for name, t in texts.items():
        scored = score_split(demo_split, {i: PredictionRecord(i, s, None) for i, s in t.items()}, "paper",
                             list(t), resamples=1)
        scores[name] = dict(zip(scored.scored_ids, scored.metrics[metric].per_item))
        higher = scored.metrics[metric].higher_is_better
    for a in texts:
        for b in texts:
            if a == b:
                continue
            diffs = [(scores[a][i] - scores[b][i]) * (1 if higher else -1) for i in texts[a]]
            expected = {"wins": sum(d > 1e-9 for d in diffs), "ties": sum(abs(d) <= 1e-9 for d in diffs),
                        "losses": sum(d < -1e-9 for d in diffs)}
            assert result["matrix"][a][b] == expected, (a, b)
    assert [m["label"] for m in result["models"]] == ["echo", "half", "noise"]
    assert result["judge"]["backend"] == "metric" and result["battles"]["requests_now"] == 0
    assert result["position"]["position_consistency"] == 1.0


def test_metric_judge_in_pairwise_mode_against_a_baseline_run(tmp_path, demo_split):
    from altbench.metrics.model.registry import score_model_metrics

    runs, texts = _quality_runs(tmp_path, demo_split, n=6)
    items = list(demo_split.items[:6])
    preds = [texts["half"][it.id] for it in items]
    args = {"judge": {"model": "metric:paper/rougeL", "mode": "pairwise", "against": str(runs["noise"])}}
    out = score_model_metrics(["judge"], demo_split, items, preds, args)
    values = out.scores["model/judge.pairwise"].per_item
    noise = [texts["noise"][it.id] for it in items]
    assert values == tuple(0.5 if p == q else (0.0 if q == it.references[0] else 1.0)
                           for p, q, it in zip(preds, noise, items))
    card = out.models["model/judge.pairwise"]["card"]
    assert card["label"] == "metric:paper/rougeL" and card["reliability"] is None
    with pytest.raises(AltbenchError, match="cannot compare a prediction with the reference itself"):
        score_model_metrics(["judge"], demo_split, items, preds, {"judge": {"model": "metric:paper/rougeL",
                                                                              "mode": "pairwise"}})
    with pytest.raises(AltbenchError, match="pairwise verdicts only"):
        score_model_metrics(["judge"], demo_split, items, preds, {"judge": {"model": "metric:paper/rougeL"}})
    with pytest.raises(AltbenchError, match="unknown metric 'paper/rouge'"):
        score_model_metrics(["judge"], demo_split, items, preds, {"judge": {"model": "metric:paper/rouge",
                                                                              "mode": "pairwise"}})


def _pairs_file(path):
    rows = []
    for i in range(24):
        ref = f"a red circle number {i} on a blue background"
        good, bad = f"a red circle number {i}", ("a dog on grass" if i % 3 else "a red square")
        a, b = (good, bad) if i % 2 else (bad, good)
        human = ("a" if i % 2 else "b") if i % 5 else ("b" if i % 2 else "a")  # every fifth pair: the worse one
        rows.append({"id": f"p{i}", "references": [ref], "candidate_a": a, "candidate_b": b, "preference": human})
    rows.append({"id": "tie", "references": ["x y"], "candidate_a": "x", "candidate_b": "y", "preference": "tie"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_human_pairs_agreement_equals_meta_evals_for_a_metric_judge(tmp_path):
    from altbench.metaeval.evaluate import meta_evaluate
    from altbench.metaeval.records import read_jsonl

    judgments = read_jsonl(_pairs_file(tmp_path / "pairs.jsonl"))
    result = run_judge_check(CheckSettings(judges=[{"model": "metric:paper/rougeL"}], pairs=judgments,
                                           resamples=200))
    meta = meta_evaluate(judgments, metrics=["judge"], metric_args={"judge.model": "metric:paper/rougeL",
                                                                     "judge.mode": "pairwise"}, resamples=200)
    own = meta["metrics"]["paper/rougeL"]["pairwise"]["accuracy"]
    judged = meta["metrics"]["model/judge.pairwise"]
    assert result.judges[0].human_accuracy.value == own["value"] == judged["pairwise"]["accuracy"]["value"]
    assert result.judges[0].human["human_ties"] == 1 and result.input["kind"] == "pairs"
    assert judged["card"]["label"] == "metric:paper/rougeL"


# --------------------------------------------------------------------------------- cards, schema, CLI
def test_judge_cards_carry_the_last_check(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=8)
    paths = [runs["short"], runs["long"]]
    with FakeJudge() as judge:
        before = arena(paths, judge)
        assert before["judge"]["card"]["reliability"] is None
        result = check(paths, fake(judge))
        after = arena(paths, judge)
    card = after["judge"]["card"]
    assert card["fingerprint"] == before["judge"]["card"]["fingerprint"] == result.judges[0].card["fingerprint"]
    rel = card["reliability"]
    assert rel["position_consistency"]["value"] == result.judges[0].position_consistency.value
    assert rel["length_bias"]["verdict"] == "prefers shorter text" and rel["battles"] == 8
    assert rel["source"].endswith(f"{card['fingerprint']}.json")


def test_cli_runs_offline_with_metric_judges_and_writes_json_and_page(tmp_path, demo_split):
    runs, _ = _quality_runs(tmp_path, demo_split, n=8)
    out = tmp_path / "jc"
    args = ["judge-check", *map(str, runs.values()), "--judge", "metric:paper/rougeL", "--judge",
            "metric:paper/meteor", "--judge", "metric:paper/edit_distance", "--repeats", "2", "--resamples", "100",
            "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "position consistency 1.0000" in res.output and "Krippendorff's alpha" in res.output
    saved = read_judge_check(out)
    assert [j.name for j in saved.judges] == ["metric:paper/rougeL", "metric:paper/meteor",
                                              "metric:paper/edit_distance"]
    assert saved.settings["repeats"] == 2 and saved.judges[0].self_consistency.value == 1.0
    assert from_dict(saved.to_dict()) == saved  # the one reader round-trips what was written
    html = (out / "index.html").read_text()
    assert "Judge check: split demo" in html and (out / "data" / "index--judges.csv").is_file()
    res = CliRunner().invoke(cli, ["arena", *map(str, runs.values()), "--judge", "metric:paper/rougeL",
                                   "--judge-check", str(out), "--resamples", "50", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert f"judge check ({out})" in res.output
    assert "Length-controlled rating" in (tmp_path / "a" / "index.html").read_text()


def test_cli_exit_5_and_one_line_errors(tmp_path, demo_split):
    from altbench.cli import EXIT_INCOMPLETE

    runs = length_runs(tmp_path, demo_split, n=3)
    paths = [str(runs["short"]), str(runs["long"])]
    with FakeJudge() as judge:
        judge.down = True
        res = CliRunner().invoke(cli, ["judge-check", *paths, "--judge", "m", "--judge-url", judge.url,
                                       "--judge-arg", "retries=0", "--judge-arg", "backoff=0.01",
                                       "--out", str(tmp_path / "jc")])
    assert res.exit_code == EXIT_INCOMPLETE, res.output
    assert (tmp_path / "jc" / "judge-check.json").is_file()
    for extra, message in [([], "name at least one judge"),
                           (["--judge", "metric:paper/rougeL", "--judge-arg", "3:tie_tolerance=0.1"],
                            "there is no judge 3"),
                           (["--judge", "metric:paper/nope"], "unknown metric 'paper/nope'"),
                           (["--judge", "metric:paper/rougeL", "--judge-arg", "mode=absolute"],
                            "judge-check: --judge-arg mode does not apply")]:
        res = CliRunner().invoke(cli, ["judge-check", *paths, *extra])
        lines = [x for x in res.output.splitlines() if x.strip()]
        assert res.exit_code == 2 and message in lines[-1], res.output
        assert "Traceback" not in res.output


def test_per_judge_arguments_and_the_reader_refuses_other_files(tmp_path):
    from altbench.cli.judgecheck_cmd import judge_settings

    opts = judge_settings(("a", "metric:paper/rougeL"), None, ("http://127.0.0.1:9/v1",),
                          ("temperature=0.5", "2:tie_tolerance=0.01"))
    assert opts[0] == {"model": "a", "url": "http://127.0.0.1:9/v1", "temperature": 0.5}
    assert opts[1]["tie_tolerance"] == 0.01 and opts[1]["temperature"] == 0.5
    (tmp_path / "judge-check.json").write_text(json.dumps({"schema": "altbench-arena/1"}))
    with pytest.raises(DataError, match="not a judge check"):
        read_judge_check(tmp_path)
    with pytest.raises(DataError, match="no judge check there"):
        read_judge_check(tmp_path / "missing")


def test_the_released_preference_pairs_as_a_proxy(tmp_path):
    sample = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mcmdpo-sample"
    if not sample.is_dir():
        pytest.skip("the released sample is not at ../shared/data/mcmdpo-sample")
    with FakeJudge() as judge:
        res = CliRunner().invoke(cli, ["judge-check", str(sample), "--format", "mcmdpo-pairs", "--judge", "fake",
                                       "--judge-url", judge.url, "--judge-arg", "image=false", "--judge-arg",
                                       "references=true", "--resamples", "50", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    report = out["judges"][0]
    assert out["input"]["kind"] == "pairs" and out["input"]["format"] == "mcmdpo-pairs"
    assert report["battles"]["with_outcome"] == out["input"]["pairs"] > 0
    assert 0.0 <= report["human_accuracy"]["value"] <= 1.0


def test_a_model_metric_as_judge_with_its_options(tmp_path, demo_split):
    pytest.importorskip("torch")
    from test_model_metrics_helpers import build_tiny_clip

    from altbench.torch_compat import import_open_clip

    try:  # through torch_compat, as the CLIPScore tests: torchvision beside a CPU-only torch
        import_open_clip()
    except ImportError:
        pytest.skip("open_clip is not installed")

    clip = build_tiny_clip(tmp_path / "tiny-clip")
    runs, _ = _quality_runs(tmp_path, demo_split, n=4)
    judge = {"model": "metric:model/clipscore", "metric_options": f"model={clip};device=cpu"}
    result = run_arena(ArenaSettings(runs=list(runs.values()), judge=judge, resamples=20))
    assert result["battles"]["with_outcome"] == 12 and result["judge"]["metric_options"] == {
        "device": "cpu", "model": str(clip)}
    with pytest.raises(AltbenchError, match="unknown option"):
        run_arena(ArenaSettings(runs=list(runs.values()), resamples=20,
                                judge={**judge, "metric_options": "nope=1"}))


def test_a_named_check_of_another_judge_leaves_the_card_without_figures(tmp_path, demo_split):
    runs, _ = _quality_runs(tmp_path, demo_split, n=4)
    other = run_judge_check(CheckSettings(judges=[{"model": "metric:paper/meteor"}], runs=list(runs.values()),
                                          resamples=20, out=tmp_path / "jc"))
    from altbench.judges.check import write_check

    write_check(other, tmp_path / "jc")
    result = run_arena(ArenaSettings(runs=list(runs.values()), judge={"model": "metric:paper/rougeL"},
                                     resamples=20, judge_check=tmp_path / "jc"))
    assert result["judge"]["card"]["reliability"] is None
    named = run_arena(ArenaSettings(runs=list(runs.values()), judge={"model": "metric:paper/meteor"},
                                    resamples=20, judge_check=tmp_path / "jc"))
    assert named["judge"]["card"]["reliability"]["source"] == str(tmp_path / "jc")
