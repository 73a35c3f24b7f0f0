"""Every shipped recipe config runs: ``train-baseline --smoke`` on a tiny model of its base's architecture.

Also: LLaVA-1.6 (LLaVA-NeXT) bases are trained with the reference's padded single image, so the MCM-DPO
collator gets one 4-D pixel tensor per sequence and every negative image kind works on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from altbench.models.llava_pad import trains_padded
from altbench.train.config import load_config
from altbench.train.recipes import build, train
from altbench.train.smoke import SMOKE_STEPS, smoke_config

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "baselines").glob("*.yaml"))


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    """One folder for the tiny bases, so each architecture is built once for the whole module."""
    return tmp_path_factory.mktemp("smoke-bases")


def _recipe(path: Path) -> str:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))["recipe"]


def test_every_recipe_config_is_covered():
    names = {p.name for p in CONFIGS}
    assert {"sft.yaml", "dpo.yaml", "mcmdpo.yaml", "mcmdpo-lora-1gpu.yaml", "demo-sft.yaml", "mdpo.yaml", "mpo.yaml",
            "demo-mdpo.yaml", "demo-mpo.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_smoke_runs_the_config_for_two_steps(path, tiny_dir, tmp_path):
    recipe = _recipe(path)
    original = load_config(path, recipe)
    config = smoke_config(original, tiny_dir)
    out = tmp_path / "out"
    metrics = train(config, str(out), adapter_args=config.eval_args or None)
    assert metrics["global_step"] == SMOKE_STEPS
    card = json.loads((out / "altbench.json").read_text())
    assert card["recipe"] == recipe and card["config"]["description"].startswith("SMOKE TEST")
    for key in ("use_cl_reward_num", "para_r3", "negative_image", "lora", "gradient_checkpointing", "beta"):
        assert card["config"][key] == getattr(original, key)  # the config's own settings, not the smoke's
    saved_type = json.loads((out / "config.json").read_text())["model_type"]
    if config.base_architecture == "llava_next":  # trained as the reference: one padded image
        assert card["adapter_args"]["image_mode"] == "pad" and saved_type == "llava"
        processor = json.loads((out / "processor_config.json").read_text())["image_processor"]
        assert processor["do_pad"] is True
        assert trains_padded(str(out))  # a next stage from this checkpoint pads too
    else:
        assert not trains_padded(config.base)


def test_a_padded_checkpoint_is_evaluated_the_way_it_was_trained(tiny_dir, tmp_path):
    from altbench.data.images import load_image
    from altbench.data.splits import load_split
    from altbench.models.registry import REGISTRY

    config = smoke_config(load_config(REPO / "baselines" / "sft.yaml", "sft"), tiny_dir)
    out = tmp_path / "sft"
    train(config, str(out))
    _, adapter = REGISTRY.create(str(out), {"max_new_tokens": 4})
    assert adapter.image_mode == "pad" and adapter.fingerprint()["image_mode"] == "pad"
    item = load_split("demo").items[0]
    (generation,) = adapter.generate([item], [load_image(item)])
    assert generation.error is None and isinstance(generation.prediction, str)


def test_smoke_needs_an_architecture_it_can_build(tiny_dir):
    from altbench.errors import AltbenchError

    with pytest.raises(AltbenchError, match="base_architecture"):
        smoke_config(load_config(None, "sft", base="some-org/unknown-model"), tiny_dir)
    with pytest.raises(AltbenchError, match="no tiny model"):
        smoke_config(load_config(None, "sft", base_architecture="mllama"), tiny_dir)


@pytest.mark.parametrize("recipe", ["dpo", "mdpo", "mpo"])
def test_cli_smoke_flag(tmp_path, recipe):
    from click.testing import CliRunner

    from altbench.cli import cli

    result = CliRunner().invoke(cli, ["train-baseline", recipe, "--config", f"baselines/{recipe}.yaml", "--smoke",
                                      "--out", str(tmp_path / recipe)])
    assert result.exit_code == 0, result.output
    assert "global_step 2" in result.output and (tmp_path / recipe / "model.safetensors").is_file()
    assert json.loads((tmp_path / recipe / "altbench.json").read_text())["recipe"] == recipe


@pytest.fixture(scope="module")
def next_trainer(tiny_dir, tmp_path_factory):
    """An MCM-DPO trainer on a tiny LLaVA-NeXT base (as baselines/mcmdpo.yaml, diffusion negative)."""
    from altbench.train.data import load_items

    config = smoke_config(load_config(REPO / "baselines" / "mcmdpo.yaml", "mcmdpo"), tiny_dir)
    items, _ = load_items("demo-train", max_items=4)
    trainer, _ = build(config, str(tmp_path_factory.mktemp("next-out")), items=items)
    return trainer, items


@pytest.mark.parametrize("kind", ["diffusion", "black", "crop", "rotate", "random"])
def test_llava_next_mcmdpo_batches_are_one_padded_image_per_sequence(next_trainer, kind):
    trainer, _ = next_trainer
    collator = trainer.data_collator
    assert trainer.altbench_image_mode == "pad"
    assert type(trainer.model).__name__ == "LlavaForConditionalGeneration"
    side = trainer.model.config.vision_config.image_size
    tokens = (side // trainer.model.config.vision_config.patch_size) ** 2  # 576 at 336 px / 14 px patches
    rows = [trainer.train_dataset[i] for i in range(2)]
    old = collator.kind
    collator.kind = kind
    try:
        batch = collator(rows)
    finally:
        collator.kind = old
    pixels = batch["pixel_values"]
    assert pixels.dim() == 4 and tuple(pixels.shape) == (16, 3, side, side)
    image_token = trainer.model.config.image_token_id
    assert ((batch["input_ids"] == image_token).sum(dim=1) == tokens).all()
    n = 2
    for b in range(n):  # rows by sequence_index: 4 * y + 2 * c + m; m = 1 is the negative image
        positive, negative = pixels[0 * n + b], pixels[1 * n + b]
        assert not torch.equal(positive, negative), kind
        assert torch.equal(pixels[3 * n + b], negative)  # the same negative for the context-negative rows
    with torch.no_grad():  # the model takes the batch: one forward of all 8 sequences per pair
        keys = ("input_ids", "attention_mask", "pixel_values")
        out = trainer.model(**{k: batch[k] for k in keys})
    assert torch.isfinite(out.logits).all()


def test_padded_processor_pads_with_the_clip_mean_colour(next_trainer):
    from PIL import Image
    from transformers.utils.constants import OPENAI_CLIP_MEAN

    trainer, _ = next_trainer
    processor = trainer.processing_class
    side = trainer.model.config.vision_config.image_size
    wide = Image.new("RGB", (2 * side, side), (255, 0, 0))  # pads top and bottom by side / 4 each
    pixels = processor.image_processor(wide, return_tensors="pt")["pixel_values"][0]
    ip = processor.image_processor
    mean, std = torch.tensor(ip.image_mean)[:, None], torch.tensor(ip.image_std)[:, None]
    expected_pad = (torch.tensor([int(x * 255) for x in OPENAI_CLIP_MEAN], dtype=torch.float32)[:, None] / 255
                    - mean) / std
    assert torch.allclose(pixels[:, 0, :], expected_pad.expand(3, side), atol=1e-5)  # top rows: CLIP mean
    red = (torch.tensor([1.0, 0.0, 0.0])[:, None] - mean) / std
    assert torch.allclose(pixels[:, side // 2, :], red.expand(3, side), atol=1e-5)  # the image in the middle
