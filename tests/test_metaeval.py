"""``altbench meta-eval``: Kendall tau-b / tau-c against scipy on fixtures with known values, Pascal-50S
pairwise accuracy with ties, system-level correlation, the readers on files in the real formats, the JSON
Lines reader, and the MCM-DPO preference-pair proxy (from ../shared) with the judge server and a tiny CLIP."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from click.testing import CliRunner
from test_model_metrics_helpers import FakeJudge

from altbench.cli import cli
from altbench.errors import DataError
from altbench.metaeval import agreement, formats
from altbench.metaeval.evaluate import meta_evaluate, score_units
from altbench.metaeval.records import PairJudgment, ScoreJudgment, read_jsonl, to_row

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mcmdpo-sample"


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))


# ------------------------------------------------------------------------------------------ statistics
def test_kendall_known_values_and_scipy_variants():
    # 10 concordant, 0 discordant... one swapped neighbour pair: (10 - 2 * 1) / 10 = 0.6 twice -> 0.6
    x, y = [1, 2, 3, 4, 5], [1, 3, 2, 5, 4]
    assert agreement.kendall(x, y, "b") == pytest.approx(0.6)
    # with ties tau-b and tau-c differ; both must equal scipy's
    m = [0.1, 0.4, 0.4, 0.2, 0.9, 0.3, 0.3, 0.8]
    h = [1, 3, 2, 2, 4, 1, 2, 4]
    out = agreement.item_correlation(m, h, resamples=300, seed=1)
    for v in ("b", "c"):
        assert out[f"kendall_tau_{v}"]["value"] == pytest.approx(scipy.stats.kendalltau(m, h, variant=v).statistic)
        lo, hi = out[f"kendall_tau_{v}"]["ci95"]
        assert lo <= out[f"kendall_tau_{v}"]["value"] <= hi
    assert out["kendall_tau_b"]["value"] != pytest.approx(out["kendall_tau_c"]["value"])
    # unscored items are left out and counted
    nan_out = agreement.item_correlation([*m, math.nan], [*h, 5], resamples=0)
    assert nan_out["unscored"] == 1 and nan_out["n"] == 8
    assert nan_out["kendall_tau_b"]["value"] == pytest.approx(out["kendall_tau_b"]["value"])


def test_kendall_tau_b_and_c_against_hand_counts():
    # counted pair by pair over the 28 pairs of the fixture below: 20 concordant, 1 discordant ((0.2, 2) vs
    # (0.3, 1)), 2 tied in m only, 5 tied in h only, none tied in both. Then
    #   tau-b = (P - Q) / sqrt((n0 - t_m) (n0 - t_h)) = 19 / sqrt(26 * 23)
    #   tau-c = 2 (P - Q) / (n^2 (k - 1) / k), k = min(6 distinct m, 4 distinct h) = 4: 38 / 48 = 19 / 24
    m = [0.1, 0.4, 0.4, 0.2, 0.9, 0.3, 0.3, 0.8]
    h = [1, 3, 2, 2, 4, 1, 2, 4]
    assert agreement.kendall(m, h, "b") == pytest.approx(19 / math.sqrt(26 * 23), abs=1e-12)
    assert agreement.kendall(m, h, "c") == pytest.approx(19 / 24, abs=1e-12)
    # a 4 x 2 table in perfect reverse order: P = 0, Q = 4, t_h = 2. tau-b cannot reach -1 on a non-square
    # table (-4 / sqrt(6 * 4)); tau-c can: 2 * -4 / (16 * (2 - 1) / 2) = -1
    assert agreement.kendall([1, 2, 3, 4], [2, 2, 1, 1], "b") == pytest.approx(-4 / math.sqrt(24), abs=1e-12)
    assert agreement.kendall([1, 2, 3, 4], [2, 2, 1, 1], "c") == pytest.approx(-1.0, abs=1e-12)


def test_pairwise_accuracy_ties_as_in_pascal50s():
    labels = agreement.human_labels(["a", "b", "a", "b", "tie", "tie"], seed=0)
    assert labels[:4].tolist() == [1, 0, 1, 0] and set(labels[4:].tolist()) <= {0, 1}
    points = agreement.pair_points([0.9, 0.9, 0.5, 0.1, 0.3, 0.3], [0.1, 0.2, 0.5, 0.5, 0.3, 0.3], labels)
    # right, wrong, metric tie (half), right, then the two coin-decided pairs with metric ties (half each)
    assert points.tolist() == [1.0, 0.0, 0.5, 1.0, 0.5, 0.5]
    out = agreement.pairwise_accuracy(points, ["HC", "HC", "HI", "HI", "MM", "MM"], resamples=200)
    assert out["accuracy"]["value"] == pytest.approx(3.5 / 6) and out["metric_ties"] == 3
    assert out["by_category"]["HC"]["value"] == 0.5 and out["by_category"]["HI"]["value"] == 0.75


def test_system_level_against_scipy():
    rng = np.random.default_rng(0)
    models = [f"m{k % 4}" for k in range(40)]
    human = rng.normal(size=40) + np.array([k % 4 for k in range(40)])
    metric = human + rng.normal(scale=0.5, size=40)
    out = agreement.system_correlation(metric, human, models, resamples=200)
    means_m = [np.mean([v for v, g in zip(metric, models) if g == f"m{k}"]) for k in range(4)]
    means_h = [np.mean([v for v, g in zip(human, models) if g == f"m{k}"]) for k in range(4)]
    assert out["models"] == 4
    assert out["kendall_tau_b"]["value"] == pytest.approx(scipy.stats.kendalltau(means_m, means_h).statistic)
    assert out["spearman"]["value"] == pytest.approx(scipy.stats.spearmanr(means_m, means_h).statistic)


# ---------------------------------------------------------------------------------- end to end, JSONL
OBJECTS = ["a red circle", "a blue square", "a green star", "a yellow moon", "an orange heart", "a purple ring",
           "a black cross", "a white dot"]
BACKGROUNDS = ["blue", "red", "black", "white", "gray", "pink", "green", "brown"]


def _jsonl_fixture(path: Path) -> Path:
    """Eight items, each its own reference; candidates from exact (human 4) down to unrelated (human 1)."""
    rows = []
    for i, (obj, bg) in enumerate(zip(OBJECTS, BACKGROUNDS)):
        ref = f"{obj} on a {bg} background"
        human = 4 - i % 4
        cand = {4: ref, 3: f"{obj} on {bg}", 2: obj.rsplit(" ", 1)[0] + " thing", 1: "two dogs in a park"}[human]
        rows.append({"id": f"s{i}", "references": [ref], "candidate": cand, "human": human, "model": f"m{i % 2}"})
    rows += [{"id": "p0", "references": [f"{OBJECTS[0]} on a blue background"], "candidate_a": OBJECTS[0],
              "candidate_b": "two dogs", "preference": "a", "category": "HM"},
             {"id": "p1", "references": [f"{OBJECTS[1]} on a red background"], "candidate_a": "a cat",
              "candidate_b": f"{OBJECTS[1]} on red", "votes_a": 1, "votes_b": 4, "category": "HM"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_meta_eval_of_paper_metrics_matches_scipy_on_their_scores(tmp_path):
    judgments = read_jsonl(_jsonl_fixture(tmp_path / "j.jsonl"))
    result = meta_evaluate(judgments, resamples=100)
    raw, info, _ = score_units(judgments, ["paper"], [], None)
    human = [j.human for j in judgments if isinstance(j, ScoreJudgment)]
    for key in ("paper/cider", "paper/bleu1", "paper/edit_distance"):
        scores = raw[key][:8]
        for v in ("b", "c"):
            want = scipy.stats.kendalltau(scores, human, variant=v).statistic
            assert result["metrics"][key]["item"][f"kendall_tau_{v}"]["value"] == pytest.approx(want)
    assert info["paper/edit_distance"]["negated"] is True  # lower is better: negated, so agreement is positive
    assert result["metrics"]["paper/bleu1"]["item"]["kendall_tau_b"]["value"] > 0.5
    assert result["metrics"]["paper/cider"]["pairwise"]["accuracy"]["value"] == 1.0  # both pairs right
    assert result["metrics"]["paper/cider"]["system"]["models"] == 2
    assert result["input"] == {"judgments": 10, "scores": 8, "pairs": 2, "human_ties": 0, "models": ["m0", "m1"]}
    assert not any(math.isnan(v) for v in raw["paper/cider"])


def test_jsonl_reader_errors_and_round_trip(tmp_path):
    path = _jsonl_fixture(tmp_path / "j.jsonl")
    judgments = read_jsonl(path)
    assert judgments[9].preference == "b"  # from the votes
    again = tmp_path / "again.jsonl"
    again.write_text("".join(json.dumps(to_row(j)) + "\n" for j in judgments))
    assert read_jsonl(again) == judgments
    for bad, why in [({"id": "x", "candidate": "c"}, "numeric 'human'"),
                     ({"id": "x", "candidate_a": "a", "candidate_b": "b", "preference": "A"}, "one of a, b, tie"),
                     ({"id": "x", "text": "c"}, "expected 'candidate'"), ({"candidate": "c", "human": 1}, "'id'")]:
        (tmp_path / "bad.jsonl").write_text(json.dumps(bad) + "\n")
        with pytest.raises(DataError, match=why):
            read_jsonl(tmp_path / "bad.jsonl")


GOOD_PAIR = {"id": "p", "references": ["a red circle"], "candidate_a": "a circle", "candidate_b": "a square"}
GOOD_SCORE = {"id": "s", "references": ["a red circle"], "candidate": "a circle", "human": 3}
# a bad record (written as the line after a good one) -> what its one-line error must say
BAD_RECORDS = {
    "votes_a not a number": ({**GOOD_PAIR, "votes_a": "three", "votes_b": 1}, "'votes_a' must be a number"),
    "votes_a null": ({**GOOD_PAIR, "votes_a": None, "votes_b": 1}, "'votes_a' must be a number"),
    "votes_b a boolean": ({**GOOD_PAIR, "votes_a": 1, "votes_b": True}, "'votes_b' must be a number"),
    "votes_b negative": ({**GOOD_PAIR, "votes_a": 1, "votes_b": -2}, "'votes_b' must be a count (0 or more)"),
    "votes_a NaN": ('{"id": "p", "candidate_a": "x", "candidate_b": "y", "votes_a": NaN, "votes_b": 1}',
                    "'votes_a' must be a finite number"),
    "human NaN": ('{"id": "s", "candidate": "x", "human": NaN}', "'human' must be a finite number, got NaN"),
    "human Infinity": ('{"id": "s", "candidate": "x", "human": -Infinity}', "'human' must be a finite number"),
    "human null": ({**GOOD_SCORE, "human": None}, "'human' must be a number"),
    "human a string": ({**GOOD_SCORE, "human": "4"}, "'human' must be a number"),
    "id null": ({**GOOD_SCORE, "id": None}, "'id' must be a string or an integer"),
    "id an object": ({**GOOD_SCORE, "id": {"k": 1}}, "'id' must be a string or an integer"),
    "candidate null": ({**GOOD_SCORE, "candidate": None}, "'candidate' must be a string"),
    "context a number": ({**GOOD_SCORE, "context": 5}, "'context' must be a string"),
    "model a list": ({**GOOD_SCORE, "model": ["m"]}, "'model' must be a string"),
    "group an object": ({**GOOD_SCORE, "group": {}}, "'group' must be a string"),
    "category a list": ({**GOOD_PAIR, "preference": "a", "category": ["HM"]}, "'category' must be a string"),
    "preference null": ({**GOOD_PAIR, "preference": None}, "'preference' must be one of a, b, tie"),
    "references a number": ({**GOOD_SCORE, "references": 3}, "'references' must be a list of strings"),
    "image a number": ({**GOOD_SCORE, "image": 3}, "'image' must be a path string"),
}


@pytest.mark.parametrize("case", BAD_RECORDS)
def test_bad_judgment_records_are_one_line_errors(case, tmp_path):
    """Every field of the documented format is checked: a bad value stops the command with one line naming
    the file and the line (no traceback, no NaN reported as an interval around no value)."""
    record, message = BAD_RECORDS[case]
    line = record if isinstance(record, str) else json.dumps(record)
    (tmp_path / "j.jsonl").write_text(json.dumps({**GOOD_SCORE, "id": "ok"}) + "\n" + line + "\n")
    res = CliRunner().invoke(cli, ["meta-eval", str(tmp_path / "j.jsonl"), "--resamples", "0"])
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (res.output, res.exception)
    assert len(lines) == 1 and lines[0].startswith(f"altbench: error: {tmp_path / 'j.jsonl'}:2: "), lines
    assert message in lines[0], lines


@pytest.mark.parametrize("fmt,value", [("flickr8k-expert", "nan"), ("flickr8k-cf", "inf"), ("composite", "nan")])
def test_public_set_readers_refuse_non_finite_judgments(fmt, value, tmp_path):
    if fmt == "composite":
        head = "Input.image_url;Input.text1;Input.text2;Answer.Q1Answer;Answer.Q2Answer"
        (tmp_path / "8k_correctness.csv").write_text(f"{head}\nhttp://x/1.jpg;a dog;a cat;3;{value}\n")
        where = f"{tmp_path / '8k_correctness.csv'}:2"
    else:
        (tmp_path / "Flickr8k.token.txt").write_text("1.jpg#0\ta dog\n1.jpg#1\ta cat\n")
        (tmp_path / "ExpertAnnotations.txt").write_text(f"1.jpg\t1.jpg#0\t1\t{value}\t2\n")
        (tmp_path / "CrowdFlowerAnnotations.txt").write_text(f"1.jpg\t1.jpg#0\t{value}\t1\t3\n")
        where = f"{tmp_path / ('ExpertAnnotations.txt' if fmt == 'flickr8k-expert' else 'CrowdFlowerAnnotations.txt')}:1"
    with pytest.raises(DataError, match=f"^{where}: .*not a finite number"):
        formats.read(fmt, tmp_path if fmt != "composite" else tmp_path / "8k_correctness.csv")


# ------------------------------------------------------------------------- readers, real file formats
def test_flickr8k_readers(tmp_path):
    (tmp_path / "Flickr8k.token.txt").write_text(
        "".join(f"1000_a.jpg#{k}\tcaption {k} of image a\n" for k in range(5))
        + "".join(f"2000_b.jpg#{k}\tcaption {k} of image b\n" for k in range(5)))
    (tmp_path / "ExpertAnnotations.txt").write_text("1000_a.jpg\t2000_b.jpg#2\t1\t2\t1\n1000_a.jpg\t1000_a.jpg#0\t4\t4\t3\n")
    (tmp_path / "CrowdFlowerAnnotations.txt").write_text("1000_a.jpg\t2000_b.jpg#2\t0.25\t1\t3\n")
    expert = formats.read("flickr8k-expert", tmp_path)
    assert len(expert) == 6 and [j.human for j in expert[:3]] == [1.0, 2.0, 1.0]
    assert expert[0].candidate == "caption 2 of image b" and len(expert[0].references) == 5
    assert len(expert[3].references) == 4  # the candidate is one of the image's captions: left out
    assert expert[0].image == tmp_path / "Flicker8k_Dataset" / "1000_a.jpg"
    cf = formats.read("flickr8k-cf", tmp_path)
    assert len(cf) == 1 and cf[0].human == 0.25


def test_composite_reader(tmp_path):
    header = ["HITId"] * 27 + ["Input.image_url", "Input.text1", "Input.text2", "Input.text3",
                                "Answer.Q1Answer", "Answer.Q2Answer", "Answer.Q3Answer"]
    header = [f"c{i}" if h == "HITId" else h for i, h in enumerate(header)]
    row = [""] * 27 + ["http://x/img/123_abc.jpg", "a dog runs", "a cat sits", "a dog on grass", "5", "1", "4"]
    short = [""] * 27 + ["http://x/img/9.jpg", "a", "", "c", "1", "2", "3"]  # incomplete: dropped
    (tmp_path / "8k_correctness.csv").write_text("\n".join(";".join(r) for r in (header, row, short)) + "\n")
    out = formats.read("composite", tmp_path, images=tmp_path / "imgs")
    assert [j.human for j in out] == [5.0, 1.0, 4.0]
    assert out[0].references == ("a cat sits", "a dog on grass") and out[0].image == tmp_path / "imgs" / "123_abc.jpg"


def test_pascal50s_reader(tmp_path):
    from scipy.io import savemat

    pairs = np.empty((1, 2), dtype=object)
    pairs[0, 0] = np.array([np.array(["2008_000001.jpg"]), np.array(["a man on a horse"]),
                            np.array(["a dog"])], dtype=object)
    pairs[0, 1] = np.array([np.array(["2008_000002.jpg"]), np.array(["a red car"]), np.array(["a blue car"])],
                           dtype=object)
    savemat(tmp_path / "pair_pascal.mat", {"new_input": pairs, "category": np.array([[3, 1]])})
    trip = np.empty((1, 2 * 48), dtype=object)
    for k in range(96):
        first = k < 48
        s1, s2 = ("a man on a horse", "a dog") if first else ("a red car", "a blue car")
        choice = 1 if (first and k < 40) or (not first and k % 2 == 0) else 2  # pair 1: 40-8; pair 2: 24-24
        trip[0, k] = np.array([np.array([f"ref {k}"]), np.array([s1]), np.array([s2]), np.array([[choice]])],
                              dtype=object)
    savemat(tmp_path / "consensus_pascal.mat", {"triplets": trip})
    out = formats.read("pascal50s", tmp_path, seed=0)
    assert [j.preference for j in out] == ["a", "tie"] and [j.category for j in out] == ["HM", "HC"]
    assert len(out[0].references) == 5 and all(r.startswith("ref ") and int(r[4:]) < 48 for r in out[0].references)
    assert out[0].candidate_a == "a man on a horse" and out[0].image == tmp_path / "JPEGImages" / "2008_000001.jpg"


# --------------------------------------------------------------------------------- the proxy fixture
@pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"the released sample data is not at {SAMPLE}")
def test_proxy_from_the_released_pairs_with_the_judge(tmp_path):
    pairs = formats.read("mcmdpo-pairs", SAMPLE, seed=0)
    assert len(pairs) == 20 and all(isinstance(p, PairJudgment) and not p.references for p in pairs)
    assert {p.preference for p in pairs} == {"a", "b"}  # the shown order is drawn, not always chosen-first
    assert CliRunner().invoke(cli, ["meta-eval", "--help"]).exit_code == 0
    with FakeJudge() as judge:
        res = CliRunner().invoke(cli, ["meta-eval", str(SAMPLE), "--format", "mcmdpo-pairs", "--convention", "none",
                                       "--metrics", "judge", "--metric-arg", "judge.model=fake",
                                       "--metric-arg", f"judge.url={judge.url}", "--metric-arg", "judge.backoff=0.01",
                                       "--resamples", "100", "--out", str(tmp_path / "me"), "--json"])
        assert res.exit_code == 0, res.output
        assert len(judge.requests) == 40  # each candidate judged once
    result = json.loads(res.output)
    assert result["input"]["proxy"] is True and result["input"]["pairs"] == 20
    acc = result["metrics"]["model/judge"]["pairwise"]
    assert acc["n"] == 20 and 0 <= acc["accuracy"]["value"] <= 1
    html = (tmp_path / "me" / "index.html").read_text()
    assert "proxy" in html and "Pairwise accuracy" in html
    # reference-based metrics cannot run on the proxy: a one-line error, not a wrong number
    res = CliRunner().invoke(cli, ["meta-eval", str(SAMPLE), "--format", "mcmdpo-pairs"])
    assert res.exit_code == 2 and "no metric to evaluate" in res.output


@pytest.mark.skipif(not SAMPLE.is_dir(), reason=f"the released sample data is not at {SAMPLE}")
def test_proxy_with_clipscore_reads_every_image(tmp_path):
    from test_model_metrics_helpers import build_tiny_clip

    tiny = build_tiny_clip(tmp_path / "tiny-clip")
    pairs = formats.read("mcmdpo-pairs", SAMPLE, seed=0)
    result = meta_evaluate(pairs, conventions=[], metrics=["clipscore"],
                           metric_args={"clipscore": {"model": str(tiny)}}, resamples=50)
    acc = result["metrics"]["model/clipscore"]["pairwise"]
    assert acc["n"] == 20 and acc["unscored"] == 0  # every image of the released pairs was read and scored
    assert not any(result["metrics"]["model/clipscore"]["failures"].values())
