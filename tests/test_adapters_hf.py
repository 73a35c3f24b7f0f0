"""transformers adapters on tiny random checkpoints built offline through the real classes."""

import json
import shutil

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from click.testing import CliRunner

from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.hf_base import HFVisionAdapter, choose_dtype
from altbench.models.idefics import Idefics3Adapter
from altbench.models.llava import LlavaAdapter
from altbench.models.prompts import LLAVA_V1_SYSTEM
from altbench.models.qwen_vl import QwenVLAdapter
from altbench.models.registry import REGISTRY
from altbench.run.runner import RunConfig, run

pytest_plugins = ["tiny_models"]  # session fixtures: tiny checkpoints built offline

torch.set_num_threads(1)
CONVENTION = "paper"
NEW = 10  # new tokens per item: enough to tell outputs apart, cheap on one core


@pytest.fixture(autouse=True)
def demo_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _predictions(adapter, items, images, batch_size):
    out = []
    for start in range(0, len(items), batch_size):
        gens = adapter.generate(items[start : start + batch_size], images[start : start + batch_size])
        assert [g.item_id for g in gens] == [it.id for it in items[start : start + batch_size]]
        assert all(g.error is None and isinstance(g.prediction, str) for g in gens)
        out += [g.prediction for g in gens]
    return out


@pytest.mark.parametrize(
    "family,kwargs",
    [
        ("llava", {}),
        ("llava", {"prompt": "paper", "max_new_tokens": 6}),  # the reference decoding: 3 beams
        ("llava_next", {}),
        ("llava_next", {"image_mode": "pad"}),
        ("qwen2_vl", {}),
        ("qwen2_5_vl", {}),
        ("idefics3", {}),
    ],
)
def test_batched_outputs_equal_batch_one_loop(family, kwargs, demo_batch, request):
    path = request.getfixturevalue(
        {
            "llava": "tiny_llava",
            "llava_next": "tiny_llava_next",
            "qwen2_vl": "tiny_qwen2_vl",
            "qwen2_5_vl": "tiny_qwen2_5_vl",
            "idefics3": "tiny_idefics3",
        }[family]
    )
    entry = REGISTRY.get(str(path))  # --model PATH picks the adapter by config.model_type
    adapter = REGISTRY.create(str(path), {"max_new_tokens": NEW, **kwargs})[1]
    assert type(adapter).__name__ == entry.target.rsplit(":", 1)[1]
    items, images = demo_batch
    one = _predictions(adapter, items, images, 1)
    assert one == _predictions(adapter, items, images, 3) == _predictions(adapter, items, images, 8)
    assert len(set(one)) > 1, "a tiny model whose outputs ignore the input tests nothing"
    fp = adapter.fingerprint()
    assert fp["decoding"]["max_new_tokens"] == kwargs.get("max_new_tokens", NEW)
    assert fp["decoding"]["num_beams"] == (3 if kwargs.get("prompt") == "paper" else 1)
    assert fp["dtype"] == "float32" and fp["device"] == "cpu" and len(fp["checkpoint"]["sha256"]) == 64


def test_model_path_resolves_by_model_type(tiny_llava, tiny_llava_next, tiny_qwen2_vl, tiny_idefics3):
    targets = {
        p: REGISTRY.get(str(p)).target for p in (tiny_llava, tiny_llava_next, tiny_qwen2_vl, tiny_idefics3)
    }
    assert targets == {
        tiny_llava: "altbench.models.llava:LlavaAdapter",
        tiny_llava_next: "altbench.models.llava:LlavaAdapter",
        tiny_qwen2_vl: "altbench.models.qwen_vl:QwenVLAdapter",
        tiny_idefics3: "altbench.models.idefics:Idefics3Adapter",
    }
    assert REGISTRY.get(str(tiny_llava)).args == {"path": str(tiny_llava.resolve())}


def test_save_load_round_trip_through_registry(tiny_llava, demo_batch, tmp_path):
    """A checkpoint saved by save_pretrained (as the training recipes will) runs with --model PATH."""
    items, images = demo_batch
    first = REGISTRY.create(str(tiny_llava), {"max_new_tokens": NEW})[1]
    saved = tmp_path / "finetuned"
    first.model.save_pretrained(saved)
    first.processor.save_pretrained(saved)
    (saved / "altbench.json").write_text(
        json.dumps(
            {
                "recipe": "sft",
                "base": str(tiny_llava),
                "adapter_args": {"max_new_tokens": NEW, "system": "Be brief."},
            }
        )
    )
    entry, second = REGISTRY.create(str(saved))
    assert entry.args["system"] == "Be brief." and "recipe sft" in entry.description
    assert second.build_prompt(items[0]).startswith("Be brief. USER: <image>\n")
    plain = REGISTRY.create(str(saved), {"system": None})[1]
    assert _predictions(plain, items, images, 4) == _predictions(first, items, images, 4)
    assert (
        plain.fingerprint()["checkpoint"]["sha256"] != first.fingerprint()["checkpoint"]["sha256"]
    )  # card differs


def test_lora_adapter_folder_runs_merged(tiny_llava, demo_batch, tmp_path):
    peft = pytest.importorskip("peft")
    from transformers import LlavaForConditionalGeneration

    base = LlavaForConditionalGeneration.from_pretrained(tiny_llava)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    lora = peft.get_peft_model(base, config)
    lora.save_pretrained(tmp_path / "lora")
    assert json.loads((tmp_path / "lora" / "adapter_config.json").read_text())["base_model_name_or_path"]
    entry, adapter = REGISTRY.create(str(tmp_path / "lora"), {"max_new_tokens": NEW})
    assert entry.target == "altbench.models.llava:LlavaAdapter"
    items, images = demo_batch
    merged = _predictions(adapter, items[:4], images[:4], 4)
    plain = REGISTRY.create(str(tiny_llava), {"max_new_tokens": NEW})[1]
    assert merged != _predictions(plain, items[:4], images[:4], 4)  # the LoRA weights are applied


def test_paper_prompt_is_the_reference_conversation(tiny_llava, demo_batch):
    items, _ = demo_batch
    adapter = LlavaAdapter(path=str(tiny_llava), prompt="paper")
    assert (
        adapter.build_prompt(items[0]) == f"{LLAVA_V1_SYSTEM} USER: <image>\n{items[0].question}\n ASSISTANT:"
    )
    assert adapter.decoding == {
        "num_beams": 3,
        "max_new_tokens": 256,
        "do_sample": False,
        "repetition_penalty": 1.0,
    }
    assert adapter.image_mode == "pad"
    assert choose_dtype("auto", "cuda:0", None, paper=True) == "float16"  # fp16 on a GPU, as the reference
    assert choose_dtype("auto", "cpu", None, paper=True) == "float32"
    with pytest.raises(AltbenchError, match="prompt=paper"):
        QwenVLAdapter(path="/nonexistent/qwen", prompt="paper")


def test_llava_next_pad_mode_feeds_one_padded_image(tiny_llava_next, demo_batch):
    """image_mode=pad: one square-padded image, (64/8)^2 tokens (576 for 336 px / 14), no tiles."""
    items, images = demo_batch
    wide = images[0].resize((96, 40))
    pad = LlavaAdapter(path=str(tiny_llava_next), image_mode="pad")
    inputs = pad.processor_inputs([pad.build_prompt(items[0])], [wide])
    assert tuple(inputs["pixel_values"].shape) == (1, 3, 64, 64)
    assert int((inputs["input_ids"] == pad.model.config.image_token_id).sum()) == 64
    assert type(pad.model).__name__ == "LlavaForConditionalGeneration"
    native = LlavaAdapter(path=str(tiny_llava_next))
    tiled = native.processor_inputs([native.build_prompt(items[0])], [wide])
    assert tiled["pixel_values"].shape[1] > 1  # base image + tiles
    assert int((tiled["input_ids"] == native.model.config.image_token_id).sum()) > 64
    # the padding colour is the processor mean, as LLaVA's expand2square
    assert pad.processor.image_processor.do_pad is True


def test_original_format_llava_is_refused_with_the_conversion_hint(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps({"model_type": "llava_llama", "architectures": ["LlavaLlamaForCausalLM"]})
    )
    with pytest.raises(MissingResourceError, match="convert_llava_next_weights_to_hf"):
        LlavaAdapter(path=str(tmp_path))


def test_absent_hub_weights_explain_what_is_needed(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    entry = REGISTRY.get("llava-1.5-7b")
    assert "llava-hf/llava-1.5-7b-hf" in entry.needs
    with pytest.raises(MissingResourceError, match=r"llava-hf/llava-1\.5-7b-hf.*hf download.*path=DIR"):
        REGISTRY.create("llava-1.5-7b")
    result = CliRunner().invoke(
        __import__("altbench.cli", fromlist=["cli"]).cli, ["run", "--model", "qwen2.5-vl-7b", "--limit", "1"]
    )
    assert result.exit_code == 2
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in result.output and "Traceback" not in result.output
    with pytest.raises(MissingResourceError, match="ALTBENCH_MCMDPO_7B"):
        REGISTRY.create("mcmdpo-7b")


def test_generic_adapter_needs_a_chat_template_or_plain_prompt(tiny_llava, demo_batch, tmp_path):
    folder = tmp_path / "no-template"
    shutil.copytree(tiny_llava, folder)
    (folder / "chat_template.jinja").unlink()
    items, images = demo_batch
    adapter = HFVisionAdapter(path=str(folder), max_new_tokens=4)
    with pytest.raises(AltbenchError, match="prompt=plain"):
        adapter.generate(items[:1], images[:1])
    plain = HFVisionAdapter(path=str(folder), prompt="plain", max_new_tokens=4)
    assert plain.build_prompt(items[0]) == f"<image>\n{items[0].question}"
    assert plain.generate(items[:2], images[:2])[1].prediction is not None


def test_bad_settings_are_user_errors(tiny_llava):
    with pytest.raises(AltbenchError, match="image_mode"):
        LlavaAdapter(path=str(tiny_llava), image_mode="tiles")
    with pytest.raises(AltbenchError, match="do_sample"):
        LlavaAdapter(path=str(tiny_llava), temperature=0.7)
    with pytest.raises(MissingResourceError, match="no checkpoint at"):
        Idefics3Adapter(path="./no/such/folder")


@pytest.mark.parametrize(
    "model,args",
    [
        ("PATH:tiny_llava", {}),
        ("mcmdpo-7b", {"max_new_tokens": 6}),  # the paper checkpoint entry: llava_v1 prompt, 3 beams
        ("PATH:tiny_qwen2_vl", {}),
        ("PATH:tiny_idefics3", {}),
        ("hf", {"path": "PATH:tiny_llava_next"}),  # the generic AutoModelForImageTextToText adapter
    ],
)
def test_altbench_run_end_to_end(model, args, request, tmp_path, monkeypatch):
    def resolve(value):
        return (
            str(request.getfixturevalue(value[5:]))
            if isinstance(value, str) and value.startswith("PATH:")
            else value
        )

    monkeypatch.setenv("ALTBENCH_MCMDPO_7B", str(request.getfixturevalue("tiny_llava")))
    args = {"max_new_tokens": NEW, **{k: resolve(v) for k, v in args.items()}}
    out = run(
        RunConfig(
            model=resolve(model),
            split="demo",
            model_args=args,
            limit=6,
            batch_size=3,
            out=tmp_path / "run",
            resamples=100,
            convention=CONVENTION,
        )
    )
    assert (
        out.generated == 6 and out.results["counts"]["scored"] == 6 and out.results["counts"]["failed"] == 0
    )
    rows = [json.loads(line) for line in (out.run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(6)] and all(
        isinstance(r["prediction"], str) for r in rows
    )
    fp = out.results["model"]["fingerprint"]["adapter"]
    assert fp["decoding"]["num_beams"] == (3 if model == "mcmdpo-7b" else 1)
    if model == "mcmdpo-7b":
        assert fp["prompt"] == "paper" and fp["image_mode"] == "pad"


def test_cli_run_with_a_checkpoint_path(tiny_llava, tmp_path):
    from altbench.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--model",
            str(tiny_llava),
            "--split",
            "demo",
            "--limit",
            "4",
            "--batch-size",
            "4",
            "--model-arg",
            f"max_new_tokens={NEW}",
            "--out",
            str(tmp_path / "run"),
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "results.json").is_file()
