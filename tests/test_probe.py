"""altbench probe: the counterfactuals, the known answers from the command line, resume and rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from altbench.cli import cli
from altbench.data.items import Item, context_of
from altbench.probes.counterfactuals import (
    PROBES,
    Counterfactual,
    blank_image,
    derangement,
    diffusion_coefficients,
    item_rng,
    noised_image,
    with_context,
)

TESTS = Path(__file__).resolve().parent
FAST = ["--resamples", "200", "--trials", "200"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe-cache")
    old = os.environ.get("ALTBENCH_CACHE")
    os.environ["ALTBENCH_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("ALTBENCH_CACHE", None)
    else:
        os.environ["ALTBENCH_CACHE"] = old


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# ------------------------------------------------------------------------------------ counterfactuals
def test_noise_schedule_equals_the_training_negatives_torch_schedule():
    pytest.importorskip("torch")
    from altbench.train.negatives import diffusion_coefficients as torch_coefficients

    # equal up to float32 rounding (torch's float32 linspace and cumprod round differently from numpy's; the
    # largest gap, 8e-6, is in sqrt(1 - abar) at the first steps, where abar is within 1e-4 of 1)
    for step in range(1000):
        assert diffusion_coefficients(step) == pytest.approx(torch_coefficients(step), rel=0, abs=1e-5)
    assert diffusion_coefficients(700) == pytest.approx(torch_coefficients(700), rel=1e-6)


@pytest.mark.parametrize("n", [2, 3, 5, 48, 101])
def test_derangement_is_a_seeded_single_cycle(n):
    for seed in range(5):
        perm = derangement(n, seed)
        assert sorted(perm) == list(range(n))  # every context used exactly once
        assert all(perm[i] != i for i in range(n))  # no item keeps its own
        seen, i = set(), 0
        while i not in seen:  # Sattolo: one cycle through every item
            seen.add(i)
            i = perm[i]
        assert len(seen) == n
        assert derangement(n, seed) == perm
    assert len({tuple(derangement(n, s)) for s in range(5)}) > 1 or n == 2


def _item(question: str, item_id: str = "1") -> Item:
    return Item(item_id, Path("x.png"), Path("."), question, context_of(question), ("ref",), "demo")


def test_context_is_replaced_after_the_marker_only():
    item = _item("Given an image and context, generate alt-text.\nContext:\nmy new logo")
    swapped = with_context(item, "a day at the beach")
    assert swapped.question == "Given an image and context, generate alt-text.\nContext:\na day at the beach"
    assert swapped.context == "a day at the beach"
    dropped = with_context(item, "")
    assert dropped.question == "Given an image and context, generate alt-text.\nContext:\n" and dropped.context == ""
    lower = _item("given an image, write alt-text.context:\nmy post")  # lower case, no newline before the marker
    assert with_context(lower, "other").question == "given an image, write alt-text.context:\nother"
    bare = _item("just the post")  # no instruction at all: the question is the context
    assert with_context(bare, "other").question == "other"


def test_image_noise_is_seeded_per_item_and_blank_is_the_mean_colour():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (12, 9, 3), dtype=np.uint8), "RGB")
    a = np.asarray(noised_image(image, 0, "7"))
    assert np.array_equal(a, np.asarray(noised_image(image, 0, "7")))  # rerun: identical
    assert not np.array_equal(a, np.asarray(noised_image(image, 0, "8")))  # another item: other noise
    assert not np.array_equal(a, np.asarray(noised_image(image, 1, "7")))  # another seed: other noise
    # x_t = sqrt(abar) x + sqrt(1 - abar) eps on x in [-1, 1], back to 8 bits
    x = np.asarray(image, dtype=np.float32) / np.float32(127.5) - 1
    sa, sb = diffusion_coefficients(700)
    eps = item_rng(0, "7", "image-noise").standard_normal(x.shape, dtype=np.float32)
    expected = np.clip(np.rint((np.float32(sa) * x + np.float32(sb) * eps + 1) * np.float32(127.5)), 0, 255)
    assert np.array_equal(a, expected.astype(np.uint8))
    assert 0.55 < sa < 0.65 and sa**2 + sb**2 == pytest.approx(1.0, abs=1e-6)
    blank = blank_image(image)
    assert blank.size == image.size
    mean = np.rint(np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(0))
    assert (np.asarray(blank).reshape(-1, 3) == mean).all()


def test_image_probes_leave_a_model_without_images_untouched():
    items = [_item("Context:\na", "1"), _item("Context:\nb", "2")]
    for name in ("image-noise", "image-blank"):
        got, images = Counterfactual.build(name, items).apply(items, None)
        assert got == items and images is None
    swapped, _ = Counterfactual.build("context-swap", items).apply(items, None)
    assert [it.context for it in swapped] == ["b", "a"]


# ------------------------------------------------------------------------- known answers from the CLI
@pytest.fixture(scope="module")
def probed_runs(cache, tmp_path_factory):
    """context-echo via `altbench run --probes all`; retrieval and altbench-tiny via `altbench probe`."""
    root = tmp_path_factory.mktemp("probed")
    runs = {name: root / name for name in ("context-echo", "retrieval", "altbench-tiny")}
    _cli("run", "--model", "context-echo", "--out", str(runs["context-echo"]), "--resamples", "200",
         "--probes", "all")
    _cli("run", "--model", "retrieval", "--out", str(runs["retrieval"]), "--resamples", "200")
    _cli("probe", str(runs["retrieval"]), "--probes", "image-noise,context-swap", *FAST)
    _cli("run", "--out", str(runs["altbench-tiny"]), "--resamples", "200")  # the default model
    _cli("probe", str(runs["altbench-tiny"]), "--probes", "context-swap,image-noise", *FAST)
    return runs


def _probes(folder: Path):
    import altbench

    return altbench.load_run(folder).probes


def test_context_echo_has_exactly_zero_image_reliance_and_large_significant_context_reliance(probed_runs):
    report = _probes(probed_runs["context-echo"])
    assert set(report.probes) == {"context-swap", "context-drop", "image-noise", "image-blank"}
    image = report.image_reliance
    assert image.value == 0.0 and image.ci95 == (0.0, 0.0) and not image.significant
    for name in ("image-noise", "image-blank"):
        p = report.probes[name]
        assert p.changed.value == 0.0 and p.similarity.value == 1.0
        assert all(m.delta == 0.0 and not m.significant for m in p.metrics.values())
    context = report.context_reliance
    assert context.value > 0.5 and context.significant and context.ci95[0] > 0.5
    assert report.probes["context-drop"].changed.value == 1.0


def test_retrieval_has_exactly_zero_image_reliance(probed_runs):
    report = _probes(probed_runs["retrieval"])
    assert report.image_reliance.value == 0.0 and not report.image_reliance.significant
    assert report.context_reliance.value > 0 and report.context_reliance.significant  # it retrieves by context


def test_altbench_tiny_relies_on_the_image_significantly(probed_runs):
    report = _probes(probed_runs["altbench-tiny"])
    image = report.image_reliance
    assert image.value > 0 and image.significant and image.ci95[0] > 0
    assert report.probes["image-noise"].changed.value > 0
    assert report.probes["image-noise"].counts == {"scored": 48, "failed": 0, "missing": 0}


def test_probe_folders_are_runs_comparable_with_the_original(probed_runs):
    from altbench.results import find_run_dirs, load_run

    folder = probed_runs["context-echo"]
    probe_run = load_run(folder / "probes" / "context-swap")
    original = load_run(folder)
    assert probe_run.split_sha256 == original.split_sha256
    meta = json.loads((folder / "probes" / "context-swap" / "run.json").read_text())
    base = json.loads((folder / "run.json").read_text())["fingerprint"]
    assert {k: v for k, v in meta["fingerprint"].items() if k != "probe"} == base
    assert meta["fingerprint"]["probe"]["name"] == "context-swap"
    assert find_run_dirs([folder.parent]) == sorted(probed_runs.values())  # probes are not runs of their own
    data = json.loads((folder / "probes.json").read_text())
    assert data["schema"] == "altbench.probes/1" and set(data["reliance"]) == {"context", "image"}


def test_rerun_is_identical_and_generates_nothing(probed_runs, tmp_path):
    folder = probed_runs["context-echo"]
    before = (folder / "probes.json").read_text()
    preds = {p: (folder / "probes" / p / "predictions.jsonl").read_bytes() for p in ("context-swap", "image-noise")}
    same = ["--resamples", "200"]  # as `run --probes` made them: its resamples, the default trials
    _cli("probe", str(folder), "--probes", "context-swap,image-noise", *same)
    assert (folder / "probes.json").read_text() == before
    assert all((folder / "probes" / p / "predictions.jsonl").read_bytes() == b for p, b in preds.items())
    _cli("probe", str(folder), "--probes", "context-swap", *same, "--out", str(tmp_path / "again"))
    assert (tmp_path / "again" / "probes" / "context-swap" / "predictions.jsonl").read_bytes() == preds["context-swap"]
    again = json.loads((tmp_path / "again" / "probes.json").read_text())
    assert again["probes"]["context-swap"] == json.loads(before)["probes"]["context-swap"]


def test_the_probes_of_a_run_share_one_model_instance(probed_runs, tmp_path, monkeypatch):
    """Four probes, one adapter: a model's weights are loaded once per `altbench probe`, not once per probe."""
    from altbench.models.registry import REGISTRY

    made = []
    create = REGISTRY.create

    def counting(name, overrides=None):
        made.append(name)
        return create(name, overrides)

    monkeypatch.setattr(REGISTRY, "create", counting)
    _cli("probe", str(probed_runs["altbench-tiny"]), "--out", str(tmp_path / "all"), *FAST)
    assert made == ["altbench-tiny"]
    assert sorted(p.name for p in (tmp_path / "all" / "probes").iterdir()) == sorted(PROBES)


def test_a_changed_probe_seed_never_resumes_into_stale_output(probed_runs):
    result = CliRunner().invoke(cli, ["probe", str(probed_runs["context-echo"]), "--probes", "context-swap",
                                      "--seed", "1", *FAST])
    assert result.exit_code == 2
    assert "holds a different run (changed: probe)" in result.output


def test_bad_probe_name_and_a_probe_folder_are_one_line_errors(probed_runs):
    bad = CliRunner().invoke(cli, ["probe", str(probed_runs["retrieval"]), "--probes", "context-shuffle"])
    assert bad.exit_code == 2 and "unknown probe 'context-shuffle'" in bad.output
    nested = CliRunner().invoke(cli, ["probe", str(probed_runs["retrieval"] / "probes" / "image-noise")])
    assert nested.exit_code == 2 and "is itself a probe" in nested.output


def test_compare_shows_reliance_of_two_probed_runs(probed_runs):
    out = _cli("compare", str(probed_runs["context-echo"]), str(probed_runs["altbench-tiny"]), "--json", *FAST,
               "--metric", "rougeL")
    rows = {r["reliance"]: r for r in json.loads(out)["reliance"]}
    assert rows["image"]["value_a"] == 0.0 and rows["image"]["delta"] > 0 and rows["image"]["significant"]
    assert rows["context"]["delta"] < 0  # context-echo relies on the context more than the tiny model
    table = _cli("compare", str(probed_runs["context-echo"]), str(probed_runs["altbench-tiny"]), *FAST)
    assert "Reliance (altbench probe)" in table


def test_leaderboard_and_report_show_reliance(probed_runs, tmp_path):
    _cli("leaderboard", *map(str, probed_runs.values()), "--out", str(tmp_path / "site"), "--no-images")
    split = (tmp_path / "site" / "demo" / "index.html").read_text()
    assert "Context reliance" in split and "Image reliance" in split and "probes.html" in split
    page = (tmp_path / "site" / "demo" / "probes.html").read_text()
    assert page.count("<figure>") == 2 and "context-echo" in page
    records = json.loads((tmp_path / "site" / "demo" / "data" / "index--scores.json").read_text())
    echo = next(r for r in records["rows"] if r["model"] == "context-echo")
    assert echo["image_reliance"] == 0.0 and echo["image_reliance significant"] is False
    _cli("report", str(probed_runs["altbench-tiny"]), "--out", str(tmp_path / "report"), "--no-images")
    report = (tmp_path / "report" / "index.html").read_text()
    assert "Context-blind items" in report and "Context swapped in" in report


# ------------------------------------------------------------------------------------ resume after kill
def test_sigkill_mid_probe_resumes_with_one_record_per_id_and_the_same_numbers(cache, tmp_path):
    from altbench.models.registry import REGISTRY, ModelEntry
    from altbench.probes import ProbeSettings, probe
    from altbench.run.runner import RunConfig, run

    run_dir = tmp_path / "slow"
    REGISTRY._entries["slow-echo"] = ModelEntry("slow-echo", "adapters_for_tests:SlowEcho")
    sys.path.insert(0, str(TESTS))
    try:
        run(RunConfig(model="slow-echo", split="demo", out=run_dir, batch_size=2, resamples=200))
        script = (
            f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
            "from altbench.models.registry import REGISTRY, ModelEntry\n"
            "from altbench.probes import ProbeSettings, probe\n"
            "REGISTRY.add(ModelEntry('slow-echo', 'adapters_for_tests:SlowEcho'))\n"
            f"probe({str(run_dir)!r}, 'context-swap', ProbeSettings(resamples=200, trials=200, batch_size=2))\n")
        env = {**os.environ, "ALTBENCH_TEST_DELAY": "0.05"}
        proc = subprocess.Popen([sys.executable, "-c", script], env=env)
        preds = run_dir / "probes" / "context-swap" / "predictions.jsonl"
        deadline = time.time() + 60
        while time.time() < deadline and (not preds.exists() or len(preds.read_text().splitlines()) < 6):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = preds.read_text().splitlines()
        assert 6 <= len(before) < 48 and not (run_dir / "probes.json").exists()
        with open(preds, "a") as fh:  # a write cut by the kill
            fh.write('{"id": "47", "predic')
        resumed = probe(run_dir, "context-swap", ProbeSettings(resamples=200, trials=200, batch_size=2))
        fresh = probe(run_dir, "context-swap", ProbeSettings(resamples=200, trials=200, batch_size=2),
                      out=tmp_path / "uninterrupted")
    finally:
        del REGISTRY._entries["slow-echo"]
        sys.path.remove(str(TESTS))
    after = preds.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in after]
    assert len(ids) == len(set(ids)) == 48 and after[: len(before)] == before
    assert resumed.probes["context-swap"].to_dict() | {"folder": None} == \
        fresh.probes["context-swap"].to_dict() | {"folder": None}
    assert (tmp_path / "uninterrupted" / "probes" / "context-swap" / "predictions.jsonl").read_text().splitlines() \
        == after
