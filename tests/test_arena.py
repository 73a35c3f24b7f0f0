"""``altbench arena`` against the local fault-injecting judge server (tests/test_model_metrics_helpers.py):
a judge with a known preference gives the known Bradley-Terry order; a position-biased judge gives ties; an
outage resumes from the cache with no battle judged twice; failures are counted; anchors mode; the Davidson
fit against an independent likelihood; demo runs made by ``altbench run`` through the CLI, with the page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from test_model_metrics_helpers import FakeJudge

from altbench.arena import ArenaSettings, run_arena
from altbench.arena import bradley_terry as bt
from altbench.cli import cli
from altbench.errors import AltbenchError

# FakeJudge's pairwise rule: the shorter alt-text wins. These runs' texts are strictly ordered by length on
# every item, so the known order is short > medium > long, every battle decisive.
LENGTHS = {"short": "a", "medium": "a b c", "long": "a b c d e f g"}


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def demo_split(tmp_path_factory):
    import os

    os.environ.setdefault("ALTBENCH_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
    from altbench.data.splits import load_split

    return load_split("demo")


def make_run(folder: Path, model: str, split, texts: dict[str, str | None]) -> Path:
    """A run folder as ``altbench run`` leaves it (run.json fingerprint and predictions.jsonl)."""
    folder.mkdir(parents=True, exist_ok=True)
    fp = {"model": model, "split": split.name, "split_sha256": split.sha256()}
    (folder / "run.json").write_text(json.dumps({"run_id": model, "fingerprint": fp}))
    rows = [{"id": i, "prediction": t, "error": None} if t is not None else {"id": i, "prediction": None,
                                                                               "error": "generation failed"}
            for i, t in texts.items()]
    (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def length_runs(root: Path, split, n: int = 12, **overrides: dict[str, str | None]) -> dict[str, Path]:
    items = split.items[:n]
    runs = {}
    for name, words in LENGTHS.items():
        texts = {it.id: f"{words} {it.id}" for it in items}
        texts.update(overrides.get(name, {}))
        runs[name] = make_run(root / name, name, split, texts)
    return runs


def arena(runs, judge, anchors=(), **judge_args):
    opts = {"model": "fake-judge", "url": judge.url, "backoff": 0.01, **judge_args}
    return run_arena(ArenaSettings(runs=list(runs), anchors=list(anchors), judge=opts, resamples=200, seed=0))


def by_label(result):
    return {m["label"]: m for m in result["models"]}


def test_known_preference_gives_the_known_order(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split)
    with FakeJudge() as judge:
        result = arena([runs["long"], runs["short"], runs["medium"]], judge)
    assert [m["label"] for m in result["models"]] == ["short", "medium", "long"]
    m = by_label(result)
    # symmetric data (short beats both on every item, medium beats long): medium sits at the anchor, 1000
    assert m["medium"]["rating"] == pytest.approx(1000, abs=1e-3)
    assert m["short"]["rating"] - 1000 == pytest.approx(1000 - m["long"]["rating"], abs=1e-3)
    assert m["short"]["rating"] > 1300
    assert result["matrix"]["short"]["long"] == {"wins": 12, "ties": 0, "losses": 0}
    assert result["matrix"]["long"]["medium"] == {"wins": 0, "ties": 0, "losses": 12}
    for row in result["models"]:
        lo, hi = row["ci95"]
        assert lo <= row["rating"] + 1e-6 and row["rating"] - 1e-6 <= hi
    b = result["battles"]
    assert b["possible"] == 36 and b["with_outcome"] == 36 and b["without_outcome"] == 0
    assert b["unique_requests"] == 72 and result["judge"]["usage"]["requests"]["answers"] == 72
    assert result["judge"]["usage"]["requests"]["prompt_tokens"] == 7200  # the server reports 100 per answer
    assert result["position"]["position_consistency"] == 1.0


def test_position_bias_cancels_into_ties(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=6)
    with FakeJudge() as judge:
        judge.position_bias = True  # always "A": the two orders disagree on every battle
        result = arena([runs["short"], runs["long"]], judge)
    assert result["pairs"][0]["ties"] == 6 and result["pairs"][0]["orders"]["disagreed"] == 6
    ratings = [m["rating"] for m in result["models"]]
    assert ratings == pytest.approx([1000, 1000], abs=1e-6)
    assert result["position"]["first_position_wins"] == 1.0


def test_an_outage_resumes_from_the_cache_and_no_battle_is_judged_twice(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=10)
    paths = [runs["short"], runs["medium"], runs["long"]]
    with FakeJudge() as judge:
        judge.down_after = 25  # 25 answers, then HTTP 503 for everything
        first = arena(paths, judge, retries=0, max_consecutive_failures=3)
        assert judge.answered == 25
        assert first["battles"]["failures"]["api"] > 0 and first["battles"]["with_outcome"] < 30
        judge.down_after = None
        second = arena(paths, judge)
    # every distinct request was answered exactly once over the two runs
    assert judge.answered == second["battles"]["unique_requests"] == 60
    assert second["battles"]["answers_from_cache"] == 25
    assert second["battles"]["failures"]["api"] == 0 and second["battles"]["with_outcome"] == 30
    assert [m["label"] for m in second["models"]] == ["short", "medium", "long"]
    bodies = [json.dumps(r["messages"]) for r in judge.requests]
    answered_twice = len(bodies) - len(set(bodies))
    assert answered_twice == len(judge.requests) - 60  # repeats are only the requests refused during the outage


def test_requests_now_counts_only_requests_sent(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=10)
    with FakeJudge() as judge:
        judge.down = True  # down from the start: after three failures in a row the rest is never sent
        result = arena([runs["short"], runs["long"]], judge, retries=0, max_consecutive_failures=3, concurrency=1)
    b = result["battles"]
    assert len(judge.requests) == 3 and b["unique_requests"] == 20
    assert b["requests_now"] == 3 and b["requests_not_sent"] == 17
    assert b["with_outcome"] == 0 and b["failures"]["api"] == 10


def test_an_arena_that_judged_nothing_exits_5_after_writing_its_result(tmp_path, demo_split):
    from altbench.cli import EXIT_INCOMPLETE

    runs = length_runs(tmp_path, demo_split, n=4)
    with FakeJudge() as judge:
        judge.down = True
        args = ["arena", str(runs["short"]), str(runs["long"]), "--judge", "fake-judge", "--judge-url", judge.url,
                "--judge-arg", "retries=0", "--judge-arg", "backoff=0.01", "--out", str(tmp_path / "arena")]
        res = CliRunner().invoke(cli, args)
    assert res.exit_code == EXIT_INCOMPLETE, res.output
    assert "battles: 0 with an outcome of 4" in res.stdout
    lines = [line for line in res.stderr.splitlines() if line.startswith("altbench: error:")]
    assert "Traceback" not in res.stderr
    assert len(lines) == 1 and lines[0].startswith("altbench: error: no battle was judged (api: 4); "), lines
    saved = json.loads((tmp_path / "arena" / "arena.json").read_text())  # written all the same
    assert saved["battles"]["with_outcome"] == 0 and saved["battles"]["failures"]["api"] == 4


def test_failures_are_counted_never_dropped(tmp_path, demo_split):
    items = demo_split.items[:6]
    runs = length_runs(tmp_path, demo_split, n=6, long={items[0].id: None, items[1].id: "BADBODY a b c d e f g"})
    with FakeJudge() as judge:
        result = arena([runs["short"], runs["long"]], judge, retries=1)
    pair = result["pairs"][0]
    assert pair["failures"]["no_prediction"] == 1 and pair["failures"]["api"] == 1
    assert pair["a_wins"] + pair["ties"] + pair["b_wins"] == 4
    assert result["battles"]["without_outcome"] == 2


def test_anchors_mode_battles_only_the_anchors(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=5)
    extra = make_run(tmp_path / "other", "other", demo_split, {it.id: f"a b {it.id}" for it in demo_split.items[:5]})
    with FakeJudge() as judge:
        result = arena([runs["short"], extra], judge, anchors=[runs["medium"], runs["long"]])
    pairs = {(p["a"], p["b"]) for p in result["pairs"]}
    assert pairs == {("medium", "long"), ("short", "medium"), ("short", "long"), ("other", "medium"),
                     ("other", "long")}
    m = by_label(result)
    assert result["mode"] == "anchors" and m["medium"]["role"] == "anchor" and m["short"]["role"] == "contender"
    assert m["short"]["anchor_score"] == 100.0  # won every battle against the anchors
    assert "anchor_score" not in m["long"]
    assert (m["medium"]["rating"] + m["long"]["rating"]) / 2 == pytest.approx(1000, abs=1e-6)  # anchored scale


def _nll_reference(theta, log_nu, pairs, c):
    """The Davidson likelihood plus the prior, written out term by term (no shared code with the module)."""
    total = 0.0
    for (i, j), (w, t, lo) in zip(pairs, c):
        pi, pj, nu = math.exp(theta[i]), math.exp(theta[j]), math.exp(log_nu)
        d = pi + pj + nu * math.sqrt(pi * pj)
        total += w * math.log(pi / d) + lo * math.log(pj / d) + t * math.log(nu * math.sqrt(pi * pj) / d)
        total -= (theta[i] - theta[j]) ** 2 / (2 * bt.PRIOR_SD**2)
    return -total


def test_davidson_fit_matches_an_independent_likelihood():
    from scipy.optimize import minimize

    pairs = [(0, 1), (0, 2), (1, 2), (2, 3), (0, 3)]
    c = np.array([[30, 10, 12], [25, 5, 20], [14, 9, 15], [8, 2, 30], [40, 6, 3]], dtype=float)
    fit = bt.fit(4, pairs, c)
    ref = minimize(lambda x: _nll_reference(np.r_[0.0, x[:3]], x[3], pairs, c), np.zeros(4), method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000})
    theta = np.r_[0.0, ref.x[:3]]
    theta -= theta.mean()
    assert fit.theta == pytest.approx(theta, abs=1e-4)
    assert fit.nu == pytest.approx(math.exp(ref.x[3]), rel=1e-4)
    # the analytic gradient used by the fit agrees with finite differences
    x = np.array([0.3, -0.2, 0.1, 0.05, -0.7])
    _, grad = bt._objective(x, np.array(pairs), c, 4)
    eps = 1e-6
    numeric = [(bt._objective(x + eps * e, np.array(pairs), c, 4)[0] - bt._objective(x - eps * e, np.array(pairs),
                                                                                     c, 4)[0]) / (2 * eps)
               for e in np.eye(5)]
    assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_elo_scale_without_ties():
    # 2 models, 300 wins to 100: 400 * log10(3) = 190.8 points apart (the weak prior moves it by < 0.5)
    fit = bt.fit(2, [(0, 1)], np.array([[300.0, 0.0, 100.0]]))
    assert fit.ratings[0] - fit.ratings[1] == pytest.approx(400 * math.log10(3), abs=0.5)
    assert fit.ratings.mean() == pytest.approx(1000)
    p_win, p_tie, _ = bt.win_probability(fit.theta[0], fit.theta[1], fit.nu)
    assert p_win == pytest.approx(0.75, abs=2e-3) and p_tie < 1e-3


def test_errors_are_one_line(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=3)
    with pytest.raises(AltbenchError, match="at least two runs"):
        run_arena(ArenaSettings(runs=[runs["short"]], judge={"model": "x", "url": "http://127.0.0.1:9/v1"}))
    with pytest.raises(AltbenchError, match="given twice"):
        run_arena(ArenaSettings(runs=[runs["short"], runs["short"]], judge={"model": "x"}))
    with pytest.raises(AltbenchError, match=r"arena: judge\['mode'\] does not apply"):
        run_arena(ArenaSettings(runs=[runs["short"], runs["long"]], judge={"model": "x", "mode": "absolute",
                                                                            "url": "http://127.0.0.1:9/v1"}))
    with pytest.raises(AltbenchError, match="not a run folder"):
        run_arena(ArenaSettings(runs=[tmp_path, runs["long"]], judge={"model": "x"}))


# ------------------------------------------------------------------------------ demo runs, through the CLI
@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("arena-demo")
    runner = CliRunner()
    out = {}
    for model in ("retrieval", "context-echo"):
        res = runner.invoke(cli, ["run", "--model", model, "--split", "demo", "--out", str(root / model),
                                  "--resamples", "100"])
        assert res.exit_code == 0, res.output
        out[model] = root / model
    return out


def test_cli_on_demo_runs_writes_json_and_page(demo_runs, tmp_path):
    assert CliRunner().invoke(cli, ["arena", "--help"]).exit_code == 0
    with FakeJudge() as judge:
        args = ["arena", str(demo_runs["retrieval"]), str(demo_runs["context-echo"]), "--judge", "fake-judge",
                "--judge-url", judge.url, "--judge-arg", "backoff=0.01", "--resamples", "100",
                "--out", str(tmp_path / "arena")]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        again = CliRunner().invoke(cli, [*args, "--json"])
    assert "W/T/L" in res.output and "from the cache" in res.output
    result = json.loads(again.output)
    assert result["battles"]["answers_from_cache"] == result["battles"]["unique_requests"] > 0
    saved = json.loads((tmp_path / "arena" / "arena.json").read_text())
    assert saved["matrix"] == result["matrix"] and saved["split"]["name"] == "demo"
    assert result["battles"]["possible"] == 48
    html = (tmp_path / "arena" / "index.html").read_text()
    assert "Arena: split demo" in html and "retrieval" in html and "context-echo" in html
    assert (tmp_path / "arena" / "data" / "index--ratings.csv").is_file()


@pytest.mark.parametrize("extra, message", [
    ([], "judge: no judge model; pass --judge MODEL"),
    (["--judge", "m", "--judge-arg", "mode=absolute"], "arena: --judge-arg mode does not apply"),
    (["--judge", "m", "--judge-arg", "api_key=sk-x"],
     "unknown option --judge-arg api_key; did you mean --judge-arg api_key_env?"),
    (["--judge", "m", "--judge-arg", "image=false", "--judge-url", "http://127.0.0.1:9/v1"],
     "--judge-arg image=false (a text-only judge) needs --judge-arg references=true"),
    (["--judge", "m", "--judge-backend", "nope"], "Invalid value for '--judge-backend'"),
])
def test_cli_errors_name_the_arena_options(demo_runs, tmp_path, extra, message):
    """The arena sets the judge with --judge / --judge-url / --judge-arg: its messages name those, never the
    --metric-arg of the scoring commands, which the arena does not have."""
    res = CliRunner().invoke(cli, ["arena", str(demo_runs["retrieval"]), str(demo_runs["context-echo"]), *extra])
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert res.exit_code == 2 and message in lines[-1], res.output
    assert "--metric-arg" not in res.output and "Traceback" not in res.output


def test_local_vlm_judge_and_a_judge_that_never_answers_in_form(tmp_path, demo_split):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    torch.set_num_threads(1)
    from altbench.models.tiny import build_tiny_llava

    folder = build_tiny_llava(tmp_path / "tiny-llava")
    runs = length_runs(tmp_path, demo_split, n=2)
    opts = {"backend": "transformers", "model": str(folder), "max_tokens": 12, "device": "cpu"}
    result = run_arena(ArenaSettings(runs=[runs["short"], runs["long"]], judge=opts, resamples=50))
    # an untrained model answers noise: every battle is a parse failure, counted; no ratings are made up
    assert result["battles"]["failures"]["parse"] == 2 and result["battles"]["with_outcome"] == 0
    assert all(m["rating"] is None for m in result["models"]) and result["fit"]["nu"] is None
    assert result["judge"]["backend"] == "transformers" and result["judge"]["usage"]["requests"]["answers"] == 4
    from altbench.publish.arena_page import render_arena_page

    page = render_arena_page(result, tmp_path / "page").read_text()
    assert "parse: 2" in page and "n/a" in page


def test_split_from_run_json_or_option(tmp_path, demo_split):
    runs = length_runs(tmp_path, demo_split, n=3)
    (runs["long"] / "run.json").unlink()
    with pytest.raises(AltbenchError, match="pass --split"):
        run_arena(ArenaSettings(runs=[runs["short"], runs["long"]], judge={"model": "x"}))
    meta = json.loads((runs["medium"] / "run.json").read_text())
    meta["fingerprint"]["split_sha256"] = "0" * 64
    (runs["medium"] / "run.json").write_text(json.dumps(meta))
    with pytest.raises(AltbenchError, match="another version of split demo"):
        run_arena(ArenaSettings(runs=[runs["short"], runs["medium"]], judge={"model": "x"}))
    with FakeJudge() as judge:
        result = run_arena(ArenaSettings(runs=[runs["short"], runs["long"]], split="demo", resamples=20,
                                         judge={"model": "fake-judge", "url": judge.url}))
    assert result["split"]["name"] == "demo" and result["battles"]["with_outcome"] == 3
