"""Length-controlled arena ratings (altbench/arena/length_control.py): the fit reduces to the plain Davidson fit
without length differences, its gradient is right, and a judge planted to prefer the longer text is caught:
its length term is positive and the length-controlled ratings close the gap that length alone opened."""

from __future__ import annotations

import numpy as np
import pytest
from test_arena import arena, by_label, make_run
from test_model_metrics_helpers import FakeJudge

from altbench.arena import bradley_terry as bt
from altbench.arena import length_control as lc


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def demo_split(tmp_path_factory):
    import os

    os.environ.setdefault("ALTBENCH_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
    from altbench.data.splits import load_split

    return load_split("demo")


def _outcomes(rng, n_items, pairs):
    return rng.choice([0, 1, 2], size=(n_items, len(pairs)), p=[0.5, 0.15, 0.35]).astype(np.int8)


def test_without_length_differences_it_is_the_plain_fit():
    rng = np.random.default_rng(3)
    pairs = [(0, 1), (0, 2), (1, 2)]
    outcomes = _outcomes(rng, 40, pairs)
    chars = np.full((3, 40), 50.0)  # every text as long as every other: x = 0 on every battle
    rows = lc.battle_rows(outcomes, pairs, chars)
    assert np.all(rows.x == 0)
    plain = bt.fit(3, pairs, bt.counts(outcomes))
    controlled = lc.fit(3, rows, np.ones(40))
    assert controlled.theta == pytest.approx(plain.theta, abs=1e-5)
    assert controlled.nu == pytest.approx(plain.nu, rel=1e-4)
    assert controlled.beta == pytest.approx(0.0, abs=1e-6)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    pairs = [(0, 1), (0, 2), (1, 2), (2, 3)]
    outcomes = _outcomes(rng, 25, pairs)
    chars = rng.integers(10, 200, size=(4, 25)).astype(float)
    rows = lc.battle_rows(outcomes, pairs, chars)
    w = rng.integers(0, 3, size=25).astype(float)[rows.item]
    x = np.array([0.3, -0.2, 0.1, 0.05, -0.7, 0.4])
    _, grad = lc._objective(x, rows, w, 4)
    eps = 1e-6
    numeric = [(lc._objective(x + eps * e, rows, w, 4)[0] - lc._objective(x - eps * e, rows, w, 4)[0]) / (2 * eps)
               for e in np.eye(6)]
    assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_a_judge_that_prefers_longer_text_is_caught_and_the_gap_closes(tmp_path, demo_split):
    """Planted: the judge picks the longer text, whatever it says (equal lengths: a tie). "verbose" is always
    long, "concise" always short, "mixed" as long as verbose on every other item and as short as concise on the
    rest: length explains every verdict, so after controlling for it the models are close, while the plain
    ratings put verbose far above concise."""
    items = demo_split.items[:24]
    texts = {
        "verbose": {it.id: f"a long and wordy description of the image {it.id:>3} with many extra words"
                    for it in items},
        "concise": {it.id: f"a short one {it.id:>3}" for it in items},
        "mixed": {it.id: (f"a long and lofty description of the image {it.id:>3} with many extra words" if k % 2
                          else f"a brief one {it.id:>3}") for k, it in enumerate(items)},
    }
    runs = [make_run(tmp_path / name, name, demo_split, t) for name, t in texts.items()]
    with FakeJudge() as judge:
        judge.prefer_longer = True
        result = arena(runs, judge)
    m = by_label(result)
    plain_gap = m["verbose"]["rating"] - m["concise"]["rating"]
    controlled_gap = m["verbose"]["lc_rating"] - m["concise"]["lc_rating"]
    assert plain_gap > 400  # length alone: verbose wins every battle against concise
    assert abs(controlled_gap) < plain_gap / 2  # the length term takes the verdicts over
    beta = result["length_control"]["beta"]
    assert beta["value"] > 0 and beta["ci95"][0] > 0  # the judge prefers the longer text, interval above 0
    assert m["verbose"]["mean_length"]["chars"] > 3 * m["concise"]["mean_length"]["chars"]
    assert m["concise"]["mean_length"]["words"] == 4.0
    for row in result["models"]:
        lo, hi = row["lc_ci95"]
        assert lo <= row["lc_rating"] + 1e-6 and row["lc_rating"] - 1e-6 <= hi


def test_an_honest_judge_keeps_its_ratings_under_length_control(tmp_path, demo_split):
    """FakeJudge's own rule is "shorter wins"; lengths are the quality here, so the length term is negative and
    the order is kept."""
    from test_arena import length_runs

    runs = length_runs(tmp_path, demo_split, n=12)
    with FakeJudge() as judge:
        result = arena([runs["short"], runs["medium"], runs["long"]], judge)
    assert [m["label"] for m in sorted(result["models"], key=lambda m: m["lc_rank"])] == ["short", "medium", "long"]
    assert result["length_control"]["beta"]["value"] < 0
