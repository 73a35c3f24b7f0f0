"""Recipe mechanics on the tiny offline LLaVA: DPO and MCM-DPO start at ln 2, mDPO at 3 ln 2, MPO at 1.2 ln 2 plus
the chosen tokens' NLL (policy = reference); all stay finite, their margins rise, every trainable parameter
changes, and the saved checkpoint reloads through the registry."""

from __future__ import annotations

import json
import math
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from altbench.train.config import load_config
from altbench.train.recipes import build, train


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def demo_items():
    from altbench.train.data import load_items

    items, _ = load_items("demo-train", max_items=8)
    return items


def _run(recipe, tmp_path, items, steps=8, **overrides):
    config = load_config(f"baselines/demo-{recipe}.yaml", recipe, max_steps=steps, logging_steps=1,
                         per_device_train_batch_size=4, learning_rate=2e-3, warmup_ratio=0.0,
                         lr_scheduler_type="constant", **overrides)
    trainer, _ = build(config, str(tmp_path / "out"), items=items, base_dir=str(tmp_path))
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    return trainer, logs, before


LN2 = math.log(2)


def _check_common(trainer, logs, before, steps, initial=LN2):
    assert len(logs) == steps
    assert logs[0]["loss"] == pytest.approx(initial, abs=1e-5)  # policy == reference at step 1
    assert all(math.isfinite(h["loss"]) for h in logs)
    assert sum(h["loss"] for h in logs[-3:]) / 3 < initial
    # LLaVA reads the vision tower's second-to-last layer, so its last layer and post-norm get no gradient
    unused = ("vision_tower.encoder.layers.1.", "vision_tower.post_layernorm")
    unchanged = [n for n, p in trainer.model.named_parameters()
                 if p.requires_grad and torch.equal(p, before[n]) and not any(u in n for u in unused)]
    assert not unchanged, unchanged[:5]


def _rising(logs, key):
    first, last = logs[0][key], sum(h[key] for h in logs[-3:]) / 3
    assert first == pytest.approx(0.0, abs=1e-6)
    assert last > first + 1e-3, [h[key] for h in logs]


def test_dpo_mechanics(tmp_path, demo_items):
    trainer, logs, before = _run("dpo", tmp_path, demo_items)
    _check_common(trainer, logs, before, 8)
    _rising(logs, "rewards/margins")


def test_mcmdpo_mechanics_and_reload(tmp_path, demo_items):
    trainer, logs, before = _run("mcmdpo", tmp_path, demo_items)
    _check_common(trainer, logs, before, 8)
    _rising(logs, "rewards/margins")
    _rising(logs, "rewards/image_margins")
    _rising(logs, "rewards/context_margins")


def test_mdpo_mechanics(tmp_path, demo_items):
    trainer, logs, before = _run("mdpo", tmp_path, demo_items)
    _check_common(trainer, logs, before, 8, initial=3 * math.log(2))  # three sigmoids at 0
    _rising(logs, "rewards/margins")
    _rising(logs, "rewards/imageless_margins")  # the chosen answer with its image over the corrupted image


def chosen_nll(trainer, rows) -> float:
    """Mean NLL of the chosen completion tokens of ``rows`` under the model, from its plain logits (not TRL's fused
    head): the SFT term of MPO's first step, computed independently."""
    batch = trainer.data_collator(rows)
    n = len(rows)
    with torch.no_grad():
        logits = trainer.model(**{k: batch[k][:n] for k in ("input_ids", "attention_mask", "pixel_values")}).logits
    logps = logits[:, :-1].log_softmax(-1).gather(2, batch["input_ids"][:n, 1:, None]).squeeze(2)
    mask = batch["completion_mask"][:n, 1:].bool()
    return float(-logps[mask].mean())


def test_mpo_mechanics(tmp_path, demo_items):
    items = demo_items[:4]  # one batch of 4 holds every item, so step 1's tokens are known whatever the order
    config = load_config("baselines/demo-mpo.yaml", "mpo", max_steps=8, logging_steps=1,
                         per_device_train_batch_size=4, learning_rate=2e-3, warmup_ratio=0.0,
                         lr_scheduler_type="constant")
    trainer, _ = build(config, str(tmp_path / "out"), items=items, base_dir=str(tmp_path))
    nll = chosen_nll(trainer, [trainer.train_dataset[i] for i in range(4)])
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    # 0.8 ln 2 (DPO) + 0.2 * 2 ln 2 (BCO: delta is 0 while all rewards are) + 1.0 * NLL
    _check_common(trainer, logs, before, 8, initial=1.2 * math.log(2) + nll)
    assert logs[0]["loss/sft"] == pytest.approx(nll, abs=1e-5) and logs[0]["bco_delta"] == 0.0
    _rising(logs, "rewards/margins")
    assert logs[-1]["loss/sft"] < nll and logs[-1]["bco_delta"] != 0.0


@pytest.mark.parametrize("kind", ["rotate", "random", "black"])
def test_mcmdpo_other_negative_images(tmp_path, demo_items, kind):
    _, logs, _ = _run("mcmdpo", tmp_path, demo_items, steps=2, negative_image=kind, use_cl_reward_num=3)
    assert logs[0]["loss"] == pytest.approx(math.log(2), abs=1e-5) and math.isfinite(logs[1]["loss"])


def test_train_saves_checkpoint_the_registry_reads(tmp_path):
    from altbench.data.splits import load_split
    from altbench.models.registry import REGISTRY

    out = tmp_path / "mcm"
    config = load_config("baselines/demo-mcmdpo.yaml", "mcmdpo", max_steps=2, max_items=8,
                         per_device_train_batch_size=2)
    metrics = train(config, str(out), adapter_args=config.eval_args)
    card = json.loads((out / "altbench.json").read_text())
    assert card["recipe"] == "mcmdpo" and card["base"] == "tiny-llava" and card["data_hash"].startswith("sha256:")
    assert card["config"]["use_cl_reward_num"] == 7 and "train_loss" in card["metrics"] and metrics["global_step"] == 2
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert (out / "tokenizer.json").is_file()
    entry, adapter = REGISTRY.create(str(out), {})
    assert "mcmdpo" in entry.description and adapter.max_new_tokens == 24 if hasattr(adapter, "max_new_tokens") \
        else "mcmdpo" in entry.description
    from altbench.data.images import load_image

    item = load_split("demo").items[0]
    (generation,) = adapter.generate([item], [load_image(item)])
    assert generation.error is None and isinstance(generation.prediction, str)


def test_dry_run_cli_prints_paper_plan():
    from click.testing import CliRunner

    from altbench.cli import cli

    for recipe, batch, lr, epochs in (("sft", 128, "2e-05", "1"), ("dpo", 64, "5e-07", "1"),
                                      ("mcmdpo", 64, "5e-07", "2"), ("mdpo", 32, "1e-05", "3"),
                                      ("mpo", 256, "1e-06", "1")):
        result = CliRunner().invoke(cli, ["train-baseline", recipe, "--config", f"baselines/{recipe}.yaml",
                                          "--dry-run"])
        assert result.exit_code == 0, result.output
        assert f"effective batch         {batch} = " in result.output
        assert lr in result.output and f"epochs                  {epochs}" in result.output


def test_dry_run_with_demo_data_counts_items():
    from click.testing import CliRunner

    from altbench.cli import cli

    result = CliRunner().invoke(cli, ["train-baseline", "sft", "--config", "baselines/demo-sft.yaml", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "train items             640" in result.output and "optimizer steps         300" in result.output
    bad = CliRunner().invoke(cli, ["train-baseline", "sft"])
    assert bad.exit_code == 2 and "--output" in bad.output


def test_cheap_imports_do_not_load_torch():
    import subprocess
    import sys

    code = ("import sys, altbench.cli.train_cmd, altbench.train.config, altbench.train.mcmdpo, "
            "altbench.train.mdpo, altbench.train.mpo, altbench.train.negatives; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


def test_shipped_default_model_generates_offline():
    from pathlib import Path

    from altbench.data.images import load_image
    from altbench.data.splits import load_split
    from altbench.models.registry import REGISTRY

    entry, adapter = REGISTRY.create("altbench-tiny", {})
    assert entry.args["path"] == "altbench:altbench-tiny"  # install-independent, so run ids are too
    folder = Path(adapter.source)
    card = json.loads((folder / "altbench.json").read_text())
    assert card["recipe"] == "sft" and card["config"]["max_steps"] == 300
    assert sum(f.stat().st_size for f in folder.iterdir()) < 4_000_000
    items = [it for it in load_split("demo").items if it.chosen.endswith("background")][:4]
    generations = adapter.generate(items, [load_image(it) for it in items])
    assert all(g.error is None and g.prediction.endswith("background") for g in generations), generations
