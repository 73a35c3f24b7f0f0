"""No number depends on the worker processes (altbench.executor): ``--jobs 1``, ``2`` and ``8`` give bit-identical
results, and the numbers stored before the executor existed do not move.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from altbench.executor import Executor
from altbench.metrics.base import MetricScores
from altbench.stats.bootstrap import bootstrap_ci, chunk_count

REPO = Path(__file__).resolve().parents[1]
HAVE_JAVA = shutil.which("java") is not None


def _bench_items(n: int, seed: int):
    spec = importlib.util.spec_from_file_location("_bench_paper_for_tests", REPO / "bench" / "bench_paper.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_items(n, seed)


def _write_items(path: Path, n: int, seed: int) -> Path:
    refs, preds = _bench_items(n, seed)
    with path.open("w", encoding="utf-8") as fh:
        for i, ((ref,), pred) in enumerate(zip(refs, preds)):
            fh.write(json.dumps({"image_path": f"{i}.jpg", "idx": i, "chosen": ref, "response": pred,
                                 "question": f"Given an image and context, generate alt-text.\nContext:\n{ref[:40]}"
                                 if i % 50 == 0 else f"Context:\npost {i % 89}"}) + "\n")
    return path


def _stable(results: dict) -> dict:
    """results.json without what differs between two runs of the same scoring (when and how long)."""
    out = json.loads(json.dumps(results))
    for scoring in out["scorings"].values():
        scoring.pop("timestamps", None)
    return out


def test_jobs_1_2_8_give_bit_identical_results(tmp_path):
    """``altbench score`` of 4,000 items, each a cold process: the items come in 4 blocks, the bootstrap in 10
    chunks of resamples and (coco) the METEOR lines in 2 shards, and every number written is the same."""
    items = _write_items(tmp_path / "items.jsonl", 4000, 3)
    convention = "both" if HAVE_JAVA else "paper"
    got = {}
    for jobs in (1, 2, 8):
        out = tmp_path / f"jobs{jobs}"
        proc = subprocess.run([sys.executable, "-m", "altbench", "score", str(items), "--split", str(items),
                               "--convention", convention, "--out", str(out), "--jobs", str(jobs)],
                              capture_output=True, text=True, cwd=REPO, timeout=900, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        (scoring,) = results["scorings"].values()
        got[jobs] = (_stable(results), (out / scoring["scores_file"]).read_bytes())
    assert got[1][0]["scorings"] and len(got[1][1]) > 0
    assert got[2] == got[1] and got[8] == got[1]
    (scoring,) = got[1][0]["scorings"].values()
    assert {"paper/bleu4", "diag/length_chars"} <= set(scoring["metrics"])
    if HAVE_JAVA:
        assert {"coco/meteor", "coco/bleu4"} <= set(scoring["metrics"])


def test_unrounded_intervals_do_not_depend_on_jobs():
    """The bootstrap's chunks computed here or on 2 or 8 workers: the same intervals to the last bit, for item
    means and for corpus-level metrics re-aggregated from summed statistics."""
    rng = np.random.default_rng(5)
    n = 6000
    counts = rng.integers(0, 9, size=(n, 2)).astype(float)
    metrics = {
        "mean": MetricScores("mean", 0.0, tuple(rng.random(n)), "sig"),
        "skewed": MetricScores("skewed", 0.0, tuple(rng.pareto(1.5, n)), "sig", scale=100.0),
        "ratio": MetricScores("ratio", 0.0, tuple(counts[:, 0]), "sig", stats=counts, aggregator="ratio"),
    }
    assert chunk_count(n, 10_000) >= 10
    alone = bootstrap_ci(metrics, resamples=10_000, seed=4)
    for jobs in (2, 8):
        with Executor(jobs) as executor:
            assert bootstrap_ci(metrics, resamples=10_000, seed=4, starmap=executor.starmap) == alone
            assert executor.started


# ------------------------------------------------------------------------------------- stored numbers
BEFORE = REPO / "tests" / "fixtures" / "demo-numbers-before-executor.json"  # as the pre-executor code stored them


def test_stored_leaderboard_numbers_do_not_move(tmp_path):
    """The committed demo leaderboard as it was built before the executor (1,000 resamples and trials; its
    numbers kept in tests/fixtures, since leaderboards/ is rebuilt at today's defaults): rescoring its retrieval run (the committed baselines/regress/demo-retrieval predictions) and
    regenerating its context-echo run give the same values and intervals, and their paired test the same
    difference, interval and p-values, to the last bit."""
    from altbench.results.numbers import value_and_interval
    from altbench.run.rescore import ScoreConfig, score_file
    from altbench.run.runner import RunConfig
    from altbench.run.runner import run as run_model
    from altbench.stats.compare import compare_runs
    from altbench.stats.engine import Policy

    before = json.loads(BEFORE.read_text())
    rows = before["scores"]
    predictions = tmp_path / "retrieval.jsonl"
    shutil.copy(REPO / "baselines" / "regress" / "demo-retrieval" / "predictions.jsonl", predictions)
    with Executor(2) as executor:
        retrieval, _ = score_file(ScoreConfig(predictions, "demo", out=tmp_path / "retrieval", resamples=1000),
                                  executor)
        echo = run_model(RunConfig(model="context-echo", split="demo", out=tmp_path / "echo", resamples=1000),
                         executor=executor).run
        checked = 0
        for model, run in (("retrieval", retrieval), ("context-echo", echo)):
            row = rows[model]
            for key, m in run.headline.metrics.items():
                if f"{key} ci95_low" not in row:
                    continue
                stored = value_and_interval(row[key], (row[f"{key} ci95_low"], row[f"{key} ci95_high"]), m.decimals)
                assert (m.value, tuple(m.ci95)) == (stored[0], tuple(stored[1])), (model, key)
                checked += 1
        assert checked >= 2 * 7
        comparison = compare_runs([tmp_path / "echo", tmp_path / "retrieval"], settings=Policy(resamples=1000,
                                  trials=1000), starmap=executor.starmap)
    tested = 0
    for key in comparison.metrics:
        pair = before["pairs"][_slug(key)]
        assert (pair["model_a"], pair["model_b"]) == ("retrieval", "context-echo")
        (test,) = [r for r in comparison.rows if r.metric == key]
        got = (test.test.delta, test.test.ci_low, test.test.ci_high, test.test.p_permutation, test.p_holm)
        assert got == (pair["difference"], pair["ci95_low"], pair["ci95_high"], pair["p"], pair["p_holm"]), key
        tested += 1
    assert tested == 7


def _slug(key: str) -> str:
    return key.replace("/", "-").replace("_", "-").lower()


def test_arena_and_meta_eval_intervals_do_not_depend_on_jobs():
    """The arena's refits (plain and length-controlled) and meta-eval's Kendall taus, here or on 2 workers."""
    from altbench.arena import bradley_terry as bt
    from altbench.arena import length_control as lc
    from altbench.metaeval import agreement

    rng = np.random.default_rng(2)
    pairs = [(0, 1), (0, 2), (1, 2)]
    outcomes = rng.choice([0, 0, 1, 2, -1], size=(40, 3))  # a-wins favoured, ties, b-wins, no outcome
    point = bt.fit(3, pairs, bt.counts(outcomes))
    rows = lc.battle_rows(outcomes, pairs, rng.integers(20, 200, size=(3, 40)).astype(float))
    lc_point = lc.fit(3, rows, np.ones(40))
    metric, human = rng.random(300), rng.integers(1, 5, 300).astype(float)
    resamples = bt.REFITS_PER_TASK * 8
    alone = (bt.bootstrap(3, pairs, outcomes, point, resamples=resamples, seed=3),
             lc.bootstrap(3, rows, 40, lc_point, resamples=resamples, seed=3),
             agreement.item_correlation(metric, human, resamples=agreement.RESAMPLES_PER_TASK * 8, seed=3))
    with Executor(2) as executor:
        spread = (bt.bootstrap(3, pairs, outcomes, point, resamples=resamples, seed=3, starmap=executor.starmap),
                  lc.bootstrap(3, rows, 40, lc_point, resamples=resamples, seed=3, starmap=executor.starmap),
                  agreement.item_correlation(metric, human, resamples=agreement.RESAMPLES_PER_TASK * 8, seed=3,
                                             starmap=executor.starmap))
        assert executor.started
    for a, b in zip(alone[0], spread[0]):
        assert np.array_equal(a, b)
    assert all(np.array_equal(a, b) for a, b in zip(alone[1][:2], spread[1][:2])) and alone[1][2] == spread[1][2]
    assert alone[2] == spread[2] and alone[2]["kendall_tau_b"]["ci95"][0] is not None
