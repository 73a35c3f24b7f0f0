"""A corpus of bad inputs, each through the CLI as a user would hit it: splits, predictions, images, CLI
arguments and run folders.

The rule each case checks (README, "Commands"): a fault of what the user gave (a split or predictions file,
an argument, a run folder) stops the command with ONE line naming what and where, exit status 2, no
traceback, and nothing written or changed; a fault of one item's image (missing, truncated, empty, a
decompression bomb, a folder) fails only that item, recorded with its reason, and the run goes on. An
image path that leads out of the split's image folder (absolute, ``..``, or a link) is the split file's
fault and refused when the split loads, whatever the adapter.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from altbench.cli import cli
from altbench.models.registry import REGISTRY, ModelEntry
from altbench.results import load_run

TESTS = Path(__file__).resolve().parent
Q = "Write an alt-text for the image.\nContext:\n"


@pytest.fixture(autouse=True)
def isolated(tmp_path, tmp_path_factory, monkeypatch):
    """Each case in its own folder (runs/ lands there), the demo cache outside it, the image-reading test
    adapter registered."""
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setitem(REGISTRY._entries, "flaky", ModelEntry("flaky", "adapters_for_tests:Flaky"))
    monkeypatch.chdir(tmp_path)


# ------------------------------------------------------------------------------------------------ helpers
def png(width: int = 8, height: int = 8) -> bytes:
    """A valid greyscale PNG (any declared size: the pixel data is one deflated row per line)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bomb() -> bytes:
    """A 200-byte PNG that declares 40,000 x 40,000 pixels (1.6 G, over twice PIL's bomb limit)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40_000, 40_000, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def row(idx: int, image: str = "a.png", **extra) -> dict:
    return {"image_path": image, "question": f"{Q}post number {idx}", "chosen": f"a grey square {idx}",
            "idx": idx, **extra}


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def make_split(root: Path, data: bytes | None = None, name: str = "split.jsonl") -> Path:
    """root/split.jsonl (two good items by default) and root/img/{a,b}.png."""
    (root / "img").mkdir(exist_ok=True)
    (root / "img" / "a.png").write_bytes(png())
    (root / "img" / "b.png").write_bytes(png(16, 16))
    path = root / name
    path.write_bytes(jsonl([row(1), row(2, "b.png")]) if data is None else data)
    return path


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root: relative path -> sha256 of its bytes (or what it is)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = f"link:{p.readlink()}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def assert_refused(root: Path, args: list[str], message: str, usage: bool = False) -> None:
    """Exit 2, one error line holding ``message`` (click's usage errors: one ``Error:`` line after the usage),
    no traceback, and the folder exactly as it was."""
    before = snapshot(root)
    result = invoke(args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # no exception escaped: no traceback
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    if usage:
        errors = [line for line in lines if line.startswith("Error:")]
        assert len(errors) == 1 and message in errors[0], lines
    else:
        assert len(lines) == 1 and lines[0].startswith("altbench: error: ") and message in lines[0], lines
    assert snapshot(root) == before, "a refused command wrote or changed files"


SCORE = ["--resamples", "100"]


def run_args(split: Path, *more: str) -> list[str]:
    return ["run", "--model", "context-echo", "--split", str(split), "--images", str(split.parent / "img"),
            *SCORE, *more]


# --------------------------------------------------------------------------------------- splits (exit 2)
SPLIT_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "split: non-UTF-8 byte": (
        lambda r: make_split(r, jsonl([row(1)]) + b'{"image_path": "a.png", "question": "caf\xe9", '
                                                  b'"chosen": "x", "idx": 2}\n'),
        "split.jsonl:2: not UTF-8 text (byte 0xe9 at column 41)"),
    "split: empty file": (lambda r: make_split(r, b""), "split.jsonl: no items in it"),
    "split: only blank lines": (lambda r: make_split(r, b"\n  \n\n"), "split.jsonl: no items in it"),
    "split: not JSON": (lambda r: make_split(r, jsonl([row(1)]) + b"{oops\n"), "split.jsonl:2: not a JSON object"),
    "split: a JSON array line": (lambda r: make_split(r, b"[1, 2]\n"), "split.jsonl:1: expected a JSON object"),
    "split: missing field": (
        lambda r: make_split(r, json.dumps({"image_path": "a.png", "question": Q, "idx": 1}).encode() + b"\n"),
        "split.jsonl:1: missing field(s) chosen"),
    "split: image_path not a string": (lambda r: make_split(r, jsonl([row(1, image=7)])),
                                       "split.jsonl:1: field 'image_path' must be a string"),
    "split: duplicate idx": (lambda r: make_split(r, jsonl([row(1), row(1, "b.png")])), "duplicate idx '1'"),
    "split: absolute image path": (lambda r: make_split(r, jsonl([row(1), row(2, "/etc/hostname")])),
                                   "split.jsonl:2: item 2: image_path '/etc/hostname' leads out of the split's"),
    "split: image path climbing out": (lambda r: make_split(r, jsonl([row(1, "../img/../../x.png")])),
                                       "split.jsonl:1: item 1: image_path '../img/../../x.png' leads out"),
    "split: symlink out of the image root": (lambda r: _symlink_out(r), "item 2: image_path 'link.png' leads out"),
    "split: train file not UTF-8": (lambda r: make_split(r, b'[{"image_path": "a.png", "idx": 1, "text": "\xff"}]',
                                                         name="train.json"), "train.json:1: not UTF-8 text"),
    "split: train file empty": (lambda r: make_split(r, b"", name="train.json"),
                                "train.json: no items in it"),
    "split: train file not an array of objects": (lambda r: make_split(r, b'["x"]', name="train.json"),
                                                  "train.json: element 0: expected an object"),
    "split: file does not exist": (lambda r: r / "nope.jsonl", "nope.jsonl not found"),
    "split: unknown name": (lambda r: Path("talt-sampel"), "did you mean 'talt-sample'"),
}


def _symlink_out(root: Path) -> Path:
    split = make_split(root, jsonl([row(1), row(2, "link.png")]))
    (root / "outside.png").write_bytes(png())
    (root / "img" / "link.png").symlink_to(root / "outside.png")
    return split


@pytest.mark.parametrize("case", SPLIT_CASES)
def test_bad_split_refused(case, tmp_path):
    build, message = SPLIT_CASES[case]
    split = build(tmp_path)
    assert_refused(tmp_path, run_args(split), message)


def test_split_with_bom_and_crlf_is_read(tmp_path):
    split = make_split(tmp_path, b"\xef\xbb\xbf" + jsonl([row(1), row(2, "b.png")]).replace(b"\n", b"\r\n"))
    result = invoke(run_args(split, "--out", "out"))
    assert result.exit_code == 0, result.output
    assert load_run(tmp_path / "out").headline.counts["scored"] == 2


# ---------------------------------------------------------------------------------- predictions (exit 2)
def _preds(rows: list[dict]) -> bytes:
    return jsonl(rows)


GOOD = [{"id": "1", "prediction": "a grey square", "error": None},
        {"id": "2", "prediction": "a square", "error": None}]
PREDICTION_CASES: dict[str, tuple[bytes | None, str]] = {
    "predictions: non-UTF-8 byte": (_preds(GOOD[:1]) + b'{"id": "2", "prediction": "\x80", "error": null}\n',
                                    "preds.jsonl:2: not UTF-8 text (byte 0x80"),
    "predictions: empty file": (b"", "preds.jsonl: no predictions in it"),
    "predictions: only blank lines": (b"\n\n", "preds.jsonl: no predictions in it"),
    "predictions: cut-off last line": (_preds(GOOD[:1]) + b'{"id": "2", "predic', "preds.jsonl:2: not a JSON object"),
    "predictions: neither prediction nor error": (_preds([{"id": "1", "text": "x"}]),
                                                  "preds.jsonl:1: expected fields id+prediction"),
    "predictions: prediction not a string": (_preds([{"id": "1", "prediction": 3, "error": None}]),
                                             "preds.jsonl:1: a record needs a string 'prediction'"),
    "predictions: both prediction and error": (_preds([{"id": "1", "prediction": "x", "error": "y"}]),
                                               "preds.jsonl:1: a record needs a string 'prediction'"),
    "predictions: ids not in the split": (_preds([{"id": "99", "prediction": "x", "error": None}]),
                                          "prediction id(s) are not in split split.jsonl (e.g. '99')"),
    "predictions: file does not exist": (None, "cannot read predictions"),
    "predictions: one id, two different texts": (
        _preds([*GOOD, {"id": "1", "prediction": "a grey circle", "error": None}]),
        "preds.jsonl: lines 1 and 3 give different predictions for id '1' (keep one)"),
}


@pytest.mark.parametrize("case", PREDICTION_CASES)
def test_bad_predictions_refused(case, tmp_path):
    data, message = PREDICTION_CASES[case]
    split = make_split(tmp_path)
    if data is not None:
        (tmp_path / "preds.jsonl").write_bytes(data)
    assert_refused(tmp_path, ["score", "preds.jsonl", "--split", str(split), "--out", "scored", *SCORE], message)


def test_predictions_folder_refused(tmp_path):
    split = make_split(tmp_path)
    (tmp_path / "preds.jsonl").mkdir()
    assert_refused(tmp_path, ["score", "preds.jsonl", "--split", str(split), "--out", "scored"], "is a directory",
                   usage=True)


def test_predictions_with_bom_are_read(tmp_path):
    split = make_split(tmp_path)
    (tmp_path / "preds.jsonl").write_bytes(b"\xef\xbb\xbf" + _preds(GOOD))
    result = invoke(["score", "preds.jsonl", "--split", str(split), "--out", "scored", *SCORE])
    assert result.exit_code == 0, result.output
    assert load_run(tmp_path / "scored").headline.counts["scored"] == 2


def test_retried_failures_and_repeated_predictions_are_read(tmp_path):
    """What a run's own file holds after retries: a failure, then the prediction for the same id; an
    identical repeat of a prediction is harmless too. A failure never replaces a prediction."""
    split = make_split(tmp_path)
    failed = {"id": "1", "prediction": None, "error": "TimeoutError: the endpoint did not answer"}
    (tmp_path / "preds.jsonl").write_bytes(_preds([failed, GOOD[1], GOOD[0], GOOD[0], {**failed, "id": "2"}]))
    result = invoke(["score", "preds.jsonl", "--split", str(split), "--out", "scored", *SCORE])
    assert result.exit_code == 0, result.output
    counts = load_run(tmp_path / "scored").headline.counts
    assert (counts["scored"], counts["failed"]) == (2, 0)


def test_empty_references_are_scored_as_the_reference_does_counted_and_named(tmp_path):
    """An item whose reference is empty or blank scores 0 on every overlap metric, as in get_score.py (the
    paper convention must stay equal to it), so it is not refused: it is counted and named in results.json,
    on the console and on the report page."""
    split = make_split(tmp_path, jsonl([row(1), {**row(2, "b.png"), "chosen": ""}, {**row(3), "chosen": " \t"}]))
    (tmp_path / "preds.jsonl").write_bytes(_preds([*GOOD, {"id": "3", "prediction": "a square", "error": None}]))
    result = invoke(["score", "preds.jsonl", "--split", str(split), "--out", "scored", *SCORE])
    assert result.exit_code == 0, result.output
    assert ("2 items have an empty reference (ids 2, 3): scored as the reference scorer does, 0 on every "
            "overlap metric") in " ".join(result.output.split())
    data = json.loads((tmp_path / "scored" / "results.json").read_text())
    scoring = data["scorings"][data["headline"]]
    assert scoring["counts"]["empty_reference"] == 2 and scoring["empty_references"] == ["2", "3"]
    run = load_run(tmp_path / "scored")
    assert run.headline.empty_references == ["2", "3"]
    assert [run.headline.rows()[i].scores["paper/rougeL"] for i in "23"] == [0.0, 0.0]
    report = invoke(["report", "scored", "--out", "report", "--no-images"])
    assert report.exit_code == 0, report.output
    page = " ".join((tmp_path / "report" / "index.html").read_text().split())
    assert "2 items have an empty reference (ids 2, 3)" in page
    # a results file written before the field existed still loads, with nothing counted
    del scoring["empty_references"], scoring["counts"]["empty_reference"]
    (tmp_path / "scored" / "results.json").write_text(json.dumps(data))
    old = load_run(tmp_path / "scored").headline
    assert old.empty_references == [] and old.counts.get("empty_reference", 0) == 0


# ------------------------------------------------------------------------- images (the item fails, exit 0)
IMAGE_CASES: dict[str, tuple[Callable[[Path], None] | None, str]] = {
    "image: truncated": (lambda p: p.write_bytes(png(64, 64)[:60]), "cannot decode image"),
    "image: zero bytes": (lambda p: p.write_bytes(b""), "not a readable image"),
    "image: decompression bomb": (lambda p: p.write_bytes(bomb()), "decompression bomb"),
    "image: a folder": (lambda p: p.mkdir(), "is a folder, not an image"),
    "image: missing": (None, "image not found"),
    "image: text, not an image": (lambda p: p.write_bytes(b"GIF? no, a note\n"), "not a readable image"),
}


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """One run of an image-reading adapter over a split whose item k has the k-th bad image (item 0 is
    good): returns (folder, results, input snapshot before, after)."""
    root = tmp_path_factory.mktemp("images")
    make_split(root)
    rows = [row(0, "a.png")]
    for k, (build, _) in enumerate(IMAGE_CASES.values(), 1):
        if build is not None:
            build(root / "img" / f"bad{k}.png")
        rows.append(row(k, f"bad{k}.png"))
    (root / "split.jsonl").write_bytes(jsonl(rows))
    before = snapshot(root)
    with pytest.MonkeyPatch.context() as mp:  # module scope: the autouse fixture is not set up yet
        mp.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.syspath_prepend(str(TESTS))
        mp.setitem(REGISTRY._entries, "flaky", ModelEntry("flaky", "adapters_for_tests:Flaky"))
        mp.chdir(root)
        result = CliRunner().invoke(cli, ["run", "--model", "flaky", "--split", str(root / "split.jsonl"),
                                          "--images", str(root / "img"), "--out", str(root / "out"), *SCORE])
    after = {k: v for k, v in snapshot(root).items() if not k.startswith("out")}
    return root, result, before, after


@pytest.mark.parametrize("case", IMAGE_CASES)
def test_bad_image_fails_only_its_item(case, image_run, monkeypatch):
    root, result, before, after = image_run
    assert result.exit_code == 0 and result.exception is None, result.output
    k = list(IMAGE_CASES).index(case) + 1
    scoring = load_run(root / "out").headline
    reasons = {f["id"]: f["error"] for f in scoring.failures}
    assert IMAGE_CASES[case][1] in reasons[str(k)], reasons[str(k)]
    assert "0" not in reasons and scoring.counts["scored"] == 1 and scoring.counts["failed"] == len(IMAGE_CASES)
    assert after == before  # the inputs are untouched
    preds = [json.loads(line) for line in (root / "out" / "predictions.jsonl").read_text().splitlines()]
    assert {p["id"] for p in preds} == {str(i) for i in range(len(IMAGE_CASES) + 1)}  # every item recorded


# -------------------------------------------------------------------------------- CLI arguments (exit 2)
ARG_CASES: dict[str, tuple[list[str], str, bool]] = {
    "args: --limit 0": (["--limit", "0"], "Invalid value for '--limit'", True),
    "args: --resamples too small": (["--resamples", "5"], "Invalid value for '--resamples'", True),
    "args: unknown convention": (["--convention", "nope"], "Invalid value for '--convention'", True),
    "args: --batch-size not a number": (["--batch-size", "many"], "Invalid value for '--batch-size'", True),
    "args: --model-arg without =": (["--model-arg", "novalue"], "--model-arg expects KEY=VALUE", False),
    "args: unknown model": (["--model", "context-ecco"], "did you mean 'context-echo'", False),
    "args: unknown model metric": (["--metrics", "blue"], "unknown model metric 'blue'", False),
    "args: --metric-arg without a metric": (["--metric-arg", "model=x"], "expects METRIC.KEY=VALUE", False),
    "args: --images is a file": (["--images", "split.jsonl"], "Invalid value for '--images'", True),
}


@pytest.mark.parametrize("case", ARG_CASES)
def test_bad_arguments_refused(case, tmp_path):
    more, message, usage = ARG_CASES[case]
    split = make_split(tmp_path)
    args = ["run", "--model", "context-echo", "--split", str(split), *more]
    assert_refused(tmp_path, args, message, usage=usage)


def test_unknown_command_refused(tmp_path):
    assert_refused(tmp_path, ["rn"], "No such command 'rn'", usage=True)


def test_export_subcommand_typo_is_not_taken_for_a_run_folder(finished_run, tmp_path):
    """`export RUN` is short for `export results RUN`, but a first argument that is neither a subcommand nor
    an existing path is a typo to name, not a run folder to look for."""
    assert_refused(tmp_path, ["export", "reslts", "out", "--out", "t.csv"],
                   "export: 'reslts' is neither a subcommand (results, lmms-eval) nor an existing run folder; "
                   "did you mean 'results'?")
    assert_refused(tmp_path, ["export", "ot", "--out", "t.csv"], "'ot' is neither a subcommand")


# --------------------------------------------------------------------------- run folders (CLI-visible only)
@pytest.fixture
def finished_run(tmp_path) -> Path:
    """A finished context-echo run of the two-item split in tmp_path/out."""
    split = make_split(tmp_path)
    result = invoke(run_args(split, "--out", "out"))
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def _break(path: Path, data: bytes) -> None:
    """Overwrite a run-folder file as a crash, a bad edit or another tool would leave it."""
    path.write_bytes(data)


RUN_FOLDER_CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "run folder: --out holds another run": (
        lambda out: ["run", "--model", "retrieval", "--model-arg", f"train={out.parent / 'split.jsonl'}",
                     "--split", str(out.parent / "split.jsonl"), "--images", str(out.parent / "img"), "--out", "out",
                     *SCORE],
        "out holds a different run (changed: "),
    "run folder: run.json unreadable": (
        lambda out: (_break(out / "run.json", b'{"run_id": '), run_args(out.parent / "split.jsonl", "--out", "out"))[1],
        "run.json is unreadable; remove the folder or choose another --out"),
    "run folder: predictions not UTF-8": (
        lambda out: (_break(out / "predictions.jsonl", (out / "predictions.jsonl").read_bytes() + b'{"id": "\xff"}\n'),
                     run_args(out.parent / "split.jsonl", "--out", "out"))[1],
        "predictions.jsonl:3: not UTF-8 text"),
    "run folder: results.json cut short (report)": (
        lambda out: (_break(out / "results.json", (out / "results.json").read_bytes()[:100]), ["report", "out"])[1],
        "results.json: not valid JSON"),
    "run folder: results.json of another schema (compare)": (
        lambda out: (_break(out / "results.json", b'{"schema": "other/9"}'), ["compare", "out", "out"])[1],
        "expected an altbench.results/2"),
    "run folder: no results.json (export)": (
        lambda out: ((out / "results.json").unlink(), ["export", "results", "out", "--out", "t.csv"])[1],
        "no results.json"),
    "run folder: score with the wrong split": (
        lambda out: ["score", "out/predictions.jsonl", "--split", "demo", *SCORE],
        "out/predictions.jsonl: generated on split split.jsonl (sha256 "),
}


@pytest.mark.parametrize("case", RUN_FOLDER_CASES)
def test_bad_run_folder_refused(case, finished_run, tmp_path):
    build, message = RUN_FOLDER_CASES[case]
    args = build(finished_run)
    assert_refused(tmp_path, args, message)


def test_cut_off_prediction_line_is_repaired_on_resume(finished_run, tmp_path):
    """A kill mid-write leaves a partial last line: the next run cuts exactly it and keeps every whole line."""
    pred = finished_run / "predictions.jsonl"
    whole = pred.read_bytes()
    lines = whole.splitlines(keepends=True)
    pred.write_bytes(lines[0] + lines[1][:15])  # item 2's line cut by the kill
    result = invoke(run_args(tmp_path / "split.jsonl", "--out", "out"))
    assert result.exit_code == 0, result.output
    assert pred.read_bytes() == whole  # item 1 kept as it was, item 2 regenerated identically
    assert load_run(finished_run).headline.counts["scored"] == 2
