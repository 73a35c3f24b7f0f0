"""Registry entries of the model adapters, and `--model` forms; none of this may import torch."""

import json
import subprocess
import sys

import pytest

from altbench.errors import MissingResourceError
from altbench.models.checkpoints import resolve_weights
from altbench.models.registry import REGISTRY, UnknownModelError

LLAVA = "altbench.models.llava:LlavaAdapter"


def test_named_entries_exist_with_what_they_need():
    for name, target, needs in [
        ("llava-1.5-7b", LLAVA, "llava-hf/llava-1.5-7b-hf"),
        ("llava-1.6-7b", LLAVA, "llava-hf/llava-v1.6-vicuna-7b-hf"),
        ("qwen2.5-vl-7b", "altbench.models.qwen_vl:QwenVLAdapter", "Qwen/Qwen2.5-VL-7B-Instruct"),
        ("smolvlm", "altbench.models.idefics:Idefics3Adapter", "HuggingFaceTB/SmolVLM-Instruct"),
        ("mcmdpo-7b", "altbench.models.checkpoints:PaperCheckpoint", "ALTBENCH_MCMDPO_7B"),
        ("gpt-4o", "altbench.models.openai_api:OpenAIChatAdapter", "OPENAI_API_KEY"),
        ("gemini-2.0-flash", "altbench.models.openai_api:OpenAIChatAdapter", "GEMINI_API_KEY"),
        ("hf", "altbench.models.hf_base:HFVisionAdapter", "path=HUB_ID_OR_DIR"),
        ("vllm", "altbench.models.vllm_backend:VLLMAdapter", "GPU"),
    ]:
        entry = REGISTRY.get(name)
        assert entry.target == target and needs in entry.needs, name


def test_model_forms_lmms_hf_and_paths(tmp_path):
    assert REGISTRY.get("lmms:qwen2_5_vl").args == {"model": "qwen2_5_vl"}
    assert REGISTRY.get("hf:org/some-vlm").args == {"path": "org/some-vlm"}
    with pytest.raises(UnknownModelError, match="hf:org/name"):
        REGISTRY.get("org/some-vlm")
    with pytest.raises(UnknownModelError, match="did you mean 'llava-1.6-7b'"):
        REGISTRY.get("llava-1.6-7")
    folder = tmp_path / "mcmdpo-run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llava_next"}))
    (folder / "altbench.json").write_text(
        json.dumps(
            {
                "recipe": "mcm-dpo",
                "base": "sft-7b",
                "adapter": "llava-1.6-7b",
                "adapter_args": {"prompt": "paper", "image_mode": "pad"},
            }
        )
    )
    entry = REGISTRY.get(str(folder))
    assert entry.target == LLAVA
    assert entry.args == {"path": str(folder.resolve()), "prompt": "paper", "image_mode": "pad"}
    assert "mcm-dpo" in entry.description and "sft-7b" in entry.description


def test_paper_checkpoints_take_folders_or_hub_ids(tmp_path, monkeypatch):
    monkeypatch.delenv("ALTBENCH_DPO_7B", raising=False)
    assert resolve_weights("dpo-7b", "someone/mcmdpo-7b-hf") == "someone/mcmdpo-7b-hf"
    with pytest.raises(MissingResourceError, match="no checkpoint at"):
        resolve_weights("dpo-7b", str(tmp_path))
    with pytest.raises(MissingResourceError, match="ALTBENCH_DPO_7B"):
        resolve_weights("dpo-7b", None)


def test_listing_and_resolving_import_no_heavy_library(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    code = (
        "import sys; from altbench.models.registry import REGISTRY; REGISTRY.entries(); "
        f"REGISTRY.get({str(tmp_path)!r}); REGISTRY.get('lmms:x'); "
        "print(sorted(m for m in ('torch', 'transformers', 'lmms_eval', 'accelerate') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
