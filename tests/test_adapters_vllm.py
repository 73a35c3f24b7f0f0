"""The optional vLLM backend: a clear error where vLLM is absent, a real check where it runs (GPU).

vLLM publishes no CPU wheel on PyPI, so on CPU-only machines only the first test runs; a served vLLM model
goes through the OpenAI-compatible API adapter, which test_adapters_api.py covers.
"""

import pytest

from altbench.errors import MissingResourceError
from altbench.models.registry import REGISTRY
from altbench.models.vllm_backend import vllm_available

pytest_plugins = ["tiny_models"]  # session fixtures: tiny checkpoints built offline


def _gpu() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(vllm_available(), reason="vLLM is installed here")
def test_without_vllm_the_entry_says_what_to_do(tiny_llava):
    assert "vllm installed" in REGISTRY.get("vllm").needs
    with pytest.raises(MissingResourceError, match="pip install 'altbench\\[vllm\\]'.*openai-compatible"):
        REGISTRY.create("vllm", {"path": str(tiny_llava)})


@pytest.mark.skipif(
    not (vllm_available() and _gpu()), reason="needs vLLM and a CUDA GPU (vLLM has no CPU wheel on PyPI)"
)
def test_vllm_engine_generates_for_every_item(tiny_llava, demo_batch):
    items, images = demo_batch
    _, adapter = REGISTRY.create(
        "vllm",
        {"path": str(tiny_llava), "max_new_tokens": 8, "gpu_memory_utilization": 0.2, "max_model_len": 512},
    )
    gens = adapter.generate(items, images)
    assert [g.item_id for g in gens] == [it.id for it in items]
    assert all(isinstance(g.prediction, str) for g in gens)
    assert adapter.fingerprint()["backend"] == "vllm"
