"""Results as pandas frames, and `altbench export RUN --format parquet|csv`."""

import json
import math

import pytest
from click.testing import CliRunner

import altbench
from altbench.cli import cli
from altbench.data.splits import load_split
from altbench.errors import DataError
from altbench.results.frames import FIXED_COLUMNS

pd = pytest.importorskip("pandas", reason="frames need the frames extra (pandas)")
pq = pytest.importorskip("pyarrow.parquet", reason="Parquet export needs the frames extra (pyarrow)")


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture()
def two_scorings(tmp_path):
    """A retrieval run on the demo split, scored twice (10,000- and 200-resample bootstraps)."""
    out = tmp_path / "run"
    res = invoke("run", "--model", "retrieval", "--split", "demo", "--out", str(out), "--resamples", "300")
    assert res.exit_code == 0, res.output
    res = invoke("score", str(out / "predictions.jsonl"), "--split", "demo", "--resamples", "200")
    assert res.exit_code == 0, res.output
    return altbench.load_run(out)


def test_run_frame_rows_columns_and_values(two_scorings):
    run = two_scorings
    split = load_split("demo")
    df = run.to_pandas()
    assert len(run.scorings) == 2 and len(df) == 2 * len(split)
    assert list(df.columns[: len(FIXED_COLUMNS)]) == list(FIXED_COLUMNS)
    assert list(df["scoring"].unique()) == [s.key for s in run.ordered()]  # headline first
    assert set(df["run_id"]) == {run.run_id} and set(df["model"]) == {"retrieval"} and set(df["split"]) == {"demo"}
    preds = {json.loads(line)["id"]: json.loads(line)["prediction"]
             for line in (run.path / "predictions.jsonl").read_text().splitlines()}
    head = df[df["scoring"] == run.headline.key]
    assert list(head["id"]) == [it.id for it in split.items]  # split order
    for item, (_, row) in zip(split.items, head.iterrows()):
        assert row["references"] == list(item.references) and row["context"] == item.context
        assert row["prediction"] == preds[item.id] and row["status"] == "scored"
        scores = run.headline.rows()[item.id].scores
        for key in run.headline.metrics:
            want = scores[key]
            assert (math.isnan(row[key]) if want is None else row[key] == want), (item.id, key)
    # a mean-aggregated paper metric: the column's mean is the corpus value before the paper's rounding
    rouge = run.headline.metrics["paper/rougeL"]
    assert round(head["paper/rougeL"].mean(), 5) * 100 == pytest.approx(rouge.value)
    one = run.headline.to_pandas(split=split)
    assert one.drop(columns=["run_id", "model"]).equals(
        head.drop(columns=["run_id", "model"]).reset_index(drop=True))


def test_failed_items_are_rows_with_their_reason(tmp_path):
    split = load_split("demo")
    ids = [it.id for it in split.items]
    lines = [{"id": ids[0], "prediction": "a red circle"}, {"id": ids[1], "prediction": None, "error": "model exploded"},
             {"id": ids[2], "prediction": ""}]
    preds = tmp_path / "foreign.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in lines))
    res = invoke("score", str(preds), "--split", "demo", "--out", str(tmp_path / "scored"), "--resamples", "200")
    assert res.exit_code == 0, res.output
    df = altbench.load_run(tmp_path / "scored").to_pandas()
    assert list(df["id"]) == ids[:3] and list(df["status"]) == ["scored", "failed", "scored"]
    failed = df.iloc[1]
    assert failed["error"] == "model exploded" and pd.isna(failed["prediction"])
    assert math.isnan(failed["paper/rougeL"]) and failed["references"] == list(split.items[1].references)
    assert df.iloc[2]["prediction"] == ""  # an empty prediction is a real, scored output


def test_split_with_other_content_is_refused_when_given(two_scorings, sample_root):
    with pytest.raises(DataError, match="other content"):
        two_scorings.to_pandas(split="talt-sample", data_root=sample_root)


def test_score_result_frame():
    res = altbench.score(["a red circle", "a chart"], ["a red circle on blue", ["a bar chart", "x"]], ["c1", "c2"],
                         resamples=200)
    df = res.to_pandas()
    assert list(df["id"]) == ["0", "1"] and list(df["prediction"]) == ["a red circle", "a chart"]
    assert df.iloc[1]["references"] == ["a bar chart", "x"] and df.iloc[1]["context"] == "c2"
    assert list(df["paper/rougeL"]) == res.per_item("paper/rougeL")


@pytest.mark.parametrize("form", [("export", "results"), ("export",)])
def test_export_parquet_and_csv(two_scorings, tmp_path, form):
    run = two_scorings
    expected = run.to_pandas()
    out = tmp_path / "t.parquet"
    res = invoke(*form, str(run.path), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert f"wrote {len(expected)} rows" in res.output
    table = pq.read_table(out)
    pa = pytest.importorskip("pyarrow")
    assert pa.types.is_list(table.schema.field("references").type)
    back = table.to_pandas()
    assert list(back.columns) == list(expected.columns)
    assert [list(r) for r in back["references"]] == list(expected["references"])
    for key in run.headline.metrics:
        assert back[key].equals(expected[key]), key
    csv = tmp_path / "t.csv"
    res = invoke(*form, str(run.path), "--format", "csv", "--out", str(csv), "--scoring", run.headline.key)
    assert res.exit_code == 0, res.output
    back = pd.read_csv(csv, dtype={"id": str})
    assert len(back) == 48 and list(back["id"]) == list(expected["id"][:48])
    assert [json.loads(r) for r in back["references"]] == list(expected["references"][:48])
    assert back["paper/rougeL"].tolist() == pytest.approx(expected["paper/rougeL"][:48].tolist(), rel=1e-15)


def test_export_errors_and_lmms_eval_still_there(tmp_path, two_scorings):
    res = invoke("export", str(tmp_path / "nope"), "--out", str(tmp_path / "x.parquet"))
    assert res.exit_code == 2 and "no such run folder" in res.output
    res = invoke("export", str(two_scorings.path), "--out", str(tmp_path / "x.parquet"), "--scoring", "bogus")
    assert res.exit_code == 2 and "no scoring 'bogus'" in res.output
    res = invoke("export", "lmms-eval", str(tmp_path / "tasks"), "--task", "altbench_demo=demo")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "tasks").is_dir()


def test_split_gone_leaves_texts_out_with_a_warning(tmp_path, caplog):
    split = load_split("demo")
    custom = tmp_path / "mine.jsonl"
    custom.write_text("".join(json.dumps({"image_path": str(it.image.name), "question": it.question,
                                          "chosen": it.chosen, "idx": it.id}) + "\n" for it in split.items[:3]))
    images = split.items[0].image.parent
    res = invoke("run", "--model", "context-echo", "--split", str(custom), "--images", str(images),
                 "--out", str(tmp_path / "run"), "--resamples", "200")
    assert res.exit_code == 0, res.output
    run = altbench.load_run(tmp_path / "run")
    assert run.to_pandas(images=images)["references"].notna().all()  # found again from the header's source
    custom.unlink()
    with caplog.at_level("WARNING"):
        df = run.to_pandas()
    assert len(df) == 3 and df["references"].isna().all() and df["prediction"].notna().all()
    assert "references and context left out" in caplog.text
