"""Hugging Face datasets as splits: Parquet rows with image bytes, save_to_disk folders, hf: ids offline."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import altbench
from altbench.cli import cli
from altbench.data import hf_splits
from altbench.data.demo import INSTRUCTION
from altbench.data.splits import load_split
from altbench.errors import DataError
from altbench.models.registry import REGISTRY, ModelEntry

pa = pytest.importorskip("pyarrow", reason="Parquet splits need the frames extra (pyarrow)")
pq = pytest.importorskip("pyarrow.parquet", reason="Parquet splits need the frames extra (pyarrow)")
TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.syspath_prepend(str(TESTS))


def demo_rows(split) -> list[dict]:
    """The demo split in the reference format, each image's bytes inline as datasets' Image feature has it."""
    return [{"idx": int(it.id), "question": it.question, "chosen": it.chosen,
             "image": {"bytes": it.image.read_bytes(), "path": it.image.name}} for it in split.items]


@pytest.fixture()
def demo_parquet(tmp_path) -> Path:
    path = tmp_path / "demo.parquet"
    pq.write_table(pa.Table.from_pylist(demo_rows(load_split("demo"))), path)
    return path


def cli_run(out: Path, *args: str):
    res = CliRunner().invoke(cli, ["run", *args, "--out", str(out), "--resamples", "200"])
    assert res.exit_code == 0, res.output
    return altbench.load_run(out)


def same_numbers(a, b) -> None:
    assert {k: (m.value, m.ci95) for k, m in a.headline.metrics.items()} == \
        {k: (m.value, m.ci95) for k, m in b.headline.metrics.items()}


def test_parquet_with_image_bytes_is_the_demo_split(demo_parquet, tmp_path):
    demo = load_split("demo")
    split = load_split(str(demo_parquet))
    assert [it.id for it in split.items] == [it.id for it in demo.items]
    assert [(it.question, it.context, it.references) for it in split.items] == \
        [(it.question, it.context, it.references) for it in demo.items]
    assert split.sha256() == demo.sha256()  # the hash covers the image bytes, wherever they live
    assert split.source == str(demo_parquet.absolute()) and split.part == "test"
    ref = cli_run(tmp_path / "demo", "--model", "retrieval", "--split", "demo")
    run = cli_run(tmp_path / "pq", "--model", "retrieval", "--split", str(demo_parquet),
                  "--model-arg", "train=demo-train")
    assert run.split["sha256"] == ref.split["sha256"] and run.headline.counts["scored"] == 48
    same_numbers(run, ref)
    # the frame finds the split again from the run header (the canonical spec)
    df = run.to_pandas()
    assert df["references"].map(len).eq(1).all() and df["context"].notna().all()


def test_flattened_image_bytes_column(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "image"} | {"image.bytes": r["image"]["bytes"]}
            for r in demo_rows(load_split("demo"))]
    path = tmp_path / "flat.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert load_split(str(path)).sha256() == load_split("demo").sha256()


def test_changed_image_bytes_change_the_hash(tmp_path):
    rows = demo_rows(load_split("demo"))
    rows[3]["image"] = {"bytes": rows[4]["image"]["bytes"], "path": None}
    path = tmp_path / "changed.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    assert load_split(str(path)).sha256() != load_split("demo").sha256()


def test_save_to_disk_folders_run_end_to_end(tmp_path):
    datasets = pytest.importorskip("datasets", reason="datasets folders need the datasets package")
    demo = load_split("demo")
    ds = datasets.Dataset.from_list(demo_rows(demo)).cast_column("image", datasets.Image())
    ds.save_to_disk(str(tmp_path / "ds"))
    datasets.DatasetDict({"train": ds.select(range(4)), "test": ds}).save_to_disk(str(tmp_path / "dd"))
    for spec in (tmp_path / "ds", f"{tmp_path / 'dd'}:test", tmp_path / "dd"):  # a DatasetDict: test by default
        assert load_split(str(spec)).sha256() == demo.sha256(), spec
    assert len(load_split(f"{tmp_path / 'dd'}:train")) == 4
    with pytest.raises(DataError, match="no split 'validation'"):
        load_split(f"{tmp_path / 'dd'}:validation")
    ref = cli_run(tmp_path / "demo", "--model", "retrieval", "--split", "demo")
    run = cli_run(tmp_path / "run", "--model", "retrieval", "--split", str(tmp_path / "ds"),
                  "--model-arg", "train=demo-train")
    same_numbers(run, ref)


def test_images_from_bytes_feed_a_model_like_files(demo_parquet, tmp_path):
    """The tiny LLaVA writes the same alt-text from the Parquet bytes as from the demo's image files."""
    pytest.importorskip("torch", reason="the shipped tiny model needs the hf extra (torch)")
    from altbench.torch_compat import import_torchvision

    import_torchvision()  # transformers imports torchvision, whose C++ ops cannot load beside a CPU-only torch
    ref = cli_run(tmp_path / "demo", "--model", "altbench-tiny", "--split", "demo", "--limit", "6")
    run = cli_run(tmp_path / "pq", "--model", "altbench-tiny", "--split", str(demo_parquet), "--limit", "6")
    preds = [(tmp_path / d / "predictions.jsonl").read_text() for d in ("demo", "pq")]
    assert preds[0] == preds[1]
    same_numbers(run, ref)


def test_corrupt_bytes_and_decompression_bombs_fail_their_item(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setitem(REGISTRY._entries, "flaky", ModelEntry("flaky", "adapters_for_tests:Flaky"))
    rows = demo_rows(load_split("demo"))[:4]
    rows[1]["image"] = {"bytes": b"\x89PNG\r\n\x1a\n this is not an image", "path": "x.png"}
    big = io.BytesIO()
    Image.new("1", (300, 300)).save(big, format="PNG")  # 90,000 pixels: a bomb under the limit set below
    rows[2]["image"] = {"bytes": big.getvalue(), "path": None}
    rows[3]["image"] = None  # no image at all
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # > 2x this is a DecompressionBombError in PIL
    run = cli_run(tmp_path / "run", "--model", "flaky", "--split", str(path))
    s = run.headline
    assert s.counts["scored"] == 1 and s.counts["failed"] == 3
    errors = {f["id"]: f["error"] for f in s.failures}
    ids = [str(r["idx"]) for r in rows]
    assert "not a readable image" in errors[ids[1]]
    assert "decompression bomb" in errors[ids[2]].lower()
    assert "image not found" in errors[ids[3]]


def test_column_mapping_for_other_alt_text_datasets(tmp_path):
    demo = load_split("demo")
    rows = [{"id": f"post-{i}", "post": it.context, "alt_text": [it.chosen, "another reference"],
             "img": it.image.read_bytes(), "lang": "en"} for i, it in enumerate(demo.items[:5])]
    path = tmp_path / "other.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    spec = f"{path}?idx=id&context=post&chosen=alt_text&image=img"
    split = load_split(spec)
    first = split.items[0]
    assert first.id == "post-0" and first.question == INSTRUCTION + demo.items[0].context
    assert first.context == demo.items[0].context and first.references == (demo.items[0].chosen, "another reference")
    assert first.image.read_bytes() == demo.items[0].image.read_bytes() and first.meta == {"lang": "en"}
    assert load_split(split.source).sha256() == split.sha256()  # the recorded source reloads the same split
    with pytest.raises(DataError, match="unknown field 'caption'"):
        load_split(f"{path}?caption=alt_text")
    with pytest.raises(DataError, match="no column 'nope'"):
        load_split(f"{path}?chosen=nope")
    with pytest.raises(DataError, match=r"no column for chosen, question \(or context\)"):
        load_split(str(path))


def test_malformed_sources_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_split(str(bad))
    with pytest.raises(DataError, match="not found"):
        load_split(str(tmp_path / "absent.parquet"))
    rows = [{"idx": 1, "question": "q", "chosen": "c"}, {"idx": 1, "question": "q", "chosen": "d"}]
    dup = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_pylist(rows), dup)
    with pytest.raises(DataError, match="duplicate idx '1'"):
        load_split(str(dup))
    escape = tmp_path / "escape.parquet"
    pq.write_table(pa.Table.from_pylist([{"idx": 1, "question": "q", "chosen": "c", "image_path": "../x.png"}]),
                   escape)
    with pytest.raises(DataError, match="item '1': image path '../x.png' leads out of"):
        load_split(str(escape))
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"idx": pa.array([], pa.int64()), "question": pa.array([], pa.string()),
                             "chosen": pa.array([], pa.string())}), empty)
    with pytest.raises(DataError, match="no rows"):
        load_split(str(empty))
    with pytest.raises(DataError, match="expected hf:ORG/NAME"):
        load_split("hf:justaname")
    assert hf_splits.parse("demo") is None and hf_splits.parse("items.jsonl") is None


def test_hub_id_offline_fails_with_one_line(tmp_path):
    pytest.importorskip("datasets", reason="hub splits need the datasets package")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "altbench", "run", "--model", "retrieval", "--split",
                           "hf:altbench-test/no-such-dataset:test"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("altbench: error:")]
    assert len(lines) == 1 and "hf:altbench-test/no-such-dataset:test" in lines[0] and "hub" in lines[0]
    assert "Traceback" not in proc.stderr
    assert json.dumps(lines[0])  # one line, printable


def test_hub_unreachable_fails_fast_with_one_line(tmp_path):
    """Not in offline mode and the hub's host does not resolve: one line at once, not half a minute of retries."""
    pytest.importorskip("datasets", reason="hub splits need the datasets package")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env["HF_ENDPOINT"] = "https://altbench-no-such-host.invalid"  # .invalid never resolves (RFC 2606)
    proc = subprocess.run([sys.executable, "-m", "altbench", "run", "--model", "retrieval", "--split",
                           "hf:altbench-test/no-such-dataset"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, check=False, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # exactly one line
    assert "not reachable" in proc.stderr and "altbench-no-such-host.invalid" in proc.stderr
