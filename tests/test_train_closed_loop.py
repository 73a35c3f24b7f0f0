"""The closed loop on CPU: SFT the tiny offline LLaVA on demo-train, evaluate it and the untrained model on
the demo test split with ``altbench run``, and show with ``altbench compare`` that SFT is significantly
better. Colour and background of the shapes must be learned (shape need not be). From that one SFT checkpoint
(trained once for the module), every preference recipe's demo config trains a checkpoint that the registry,
``altbench run`` and the leaderboard take like the others."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from click.testing import CliRunner

from altbench.cli import cli

SHAPE = re.compile(r"^an? (\w+) (\w+) on an? (\w+) background$")


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def colour_background_accuracy(run_dir, split_items) -> tuple[float, int]:
    refs = {it.id: it.chosen for it in split_items}
    hits = total = 0
    for line in (run_dir / "predictions.jsonl").read_text().splitlines():
        row = json.loads(line)
        ref = SHAPE.match(refs[row["id"]])
        if not ref:
            continue
        total += 1
        pred = SHAPE.match((row["prediction"] or "").strip())
        hits += bool(pred and pred.group(1) == ref.group(1) and pred.group(3) == ref.group(3))
    return hits / max(total, 1), total


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def sft_dir(tmp_path_factory):
    """The demo SFT checkpoint (300 steps, about 70 s of CPU time), trained once for the module's tests."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("closed-loop") / "sft"
        _invoke("train-baseline", "sft", "--config", "baselines/demo-sft.yaml", "--out", str(out))
    finally:
        torch.set_num_threads(old)
    return out


def test_sft_beats_untrained_model_significantly(sft_dir, tmp_path):
    from altbench.data.splits import load_split
    from altbench.models.tiny import build_tiny_llava

    card = json.loads((sft_dir / "altbench.json").read_text())
    assert card["recipe"] == "sft" and card["metrics"]["global_step"] == 300
    untrained = build_tiny_llava(tmp_path / "untrained", seed=0)  # the same initial weights
    (untrained / "altbench.json").write_text(json.dumps({"adapter_args": {"max_new_tokens": 24}}))
    for name, model in (("a", untrained), ("b", sft_dir)):
        _invoke("run", "--model", str(model), "--split", "demo", "--out", str(tmp_path / f"run-{name}"),
                "--resamples", "200")
    accuracy, n_shapes = colour_background_accuracy(tmp_path / "run-b", load_split("demo").items)
    assert n_shapes >= 20 and accuracy >= 0.85, accuracy  # 0.93 measured (shape: 0.21, chance)
    out = _invoke("compare", str(tmp_path / "run-a"), str(tmp_path / "run-b"), "-m", "paper/rougeL",
                  "-m", "paper/cider", "--json", "--resamples", "2000", "--trials", "2000")
    report = json.loads(out)
    for comparison in report["comparisons"]:
        assert comparison["significant"] and comparison["delta"] > 0, comparison
        assert comparison["p_permutation_holm"] < 0.01


PREFERENCE_RECIPES = ("dpo", "mcmdpo", "mdpo", "mpo")


def test_every_recipe_trains_from_the_sft_checkpoint_and_runs_beside_the_others(sft_dir, tmp_path):
    """Each preference recipe's demo config, from the demo SFT checkpoint on demo-train, gives a registry entry
    that ``altbench run`` evaluates, and the five runs share one leaderboard. Two steps on 8 items and runs on the
    first 8 demo items: this checks the loop, not what the recipes learn (test_train_recipes.py does that)."""
    from altbench.models.registry import REGISTRY

    models = {"sft": sft_dir}
    for recipe in PREFERENCE_RECIPES:
        out = tmp_path / recipe
        shown = _invoke("train-baseline", recipe, "--config", f"baselines/demo-{recipe}.yaml", "--base", str(sft_dir),
                        "--out", str(out), "--max-steps", "2", "--max-items", "8")
        assert f"saved {recipe} checkpoint" in shown and "global_step 2" in shown
        card = json.loads((out / "altbench.json").read_text())
        assert card["recipe"] == recipe and card["base"] == str(sft_dir) and card["data"] == "demo-train"
        models[recipe] = out
    for recipe, model in models.items():
        entry, _ = REGISTRY.create(str(model), {})
        assert f"recipe {recipe}" in entry.description, entry.description
        _invoke("run", "--model", str(model), "--split", "demo", "--limit", "8", "--resamples", "100",
                "--out", str(tmp_path / "runs" / recipe))
    _invoke("leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "site"), "--resamples", "100",
            "--no-images")
    summary = json.loads((tmp_path / "site" / "data" / "index--summary-demo.json").read_text())
    # each checkpoint shows under its folder's name (its display name), not the absolute path it ran from
    assert sorted(row["model"] for row in summary["rows"]) == sorted(Path(m).name for m in models.values())
    assert all(row["n_scored"] == 8 and row["failed"] == 0 for row in summary["rows"])
