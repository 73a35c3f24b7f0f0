"""The optional vLLM backend: a clear error where vLLM is absent, a real check where it runs (GPU).

vLLM publishes no CPU wheel on PyPI, so on CPU-only machines only the first test runs; a served vLLM model
goes through the OpenAI-compatible API adapter, which test_adapters_api.py covers.
"""

import dataclasses
import importlib.machinery
import sys
import types
from typing import Any

import pytest

from altbench.errors import AltbenchError
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
    with pytest.raises(AltbenchError, match="pip install 'altbench\\[vllm\\]'"):
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


# -- output handling against vLLM's documented output structures, with fakes of exactly those shapes ------------
# vllm/outputs.py: RequestOutput(request_id, prompt, prompt_token_ids, ..., outputs: list[CompletionOutput]);
# CompletionOutput(index, text, token_ids, cumulative_logprob, logprobs, finish_reason, stop_reason), text being
# the completion only. vllm/beam_search.py: BeamSearchOutput(sequences: list[BeamSearchSequence]);
# BeamSearchSequence(orig_prompt, tokens, logprobs, lora_request, cum_logprob, text, finish_reason, stop_reason),
# where tokens include the prompt and LLM.beam_search sets text = tokenizer.decode(tokens) (older versions:
# BeamSearchSequence(tokens, logprobs, cum_logprob, text, ...) started from tokenizer.encode(prompt)).



@dataclasses.dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list
    cumulative_logprob: float | None
    logprobs: Any
    finish_reason: str | None = None
    stop_reason: Any = None


@dataclasses.dataclass
class RequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list | None
    prompt_logprobs: Any
    outputs: list
    finished: bool = True


@dataclasses.dataclass
class BeamSearchSequence:
    orig_prompt: dict
    tokens: list
    logprobs: list
    lora_request: Any = None
    cum_logprob: float = 0.0
    text: str | None = None
    finish_reason: str | None = None
    stop_reason: Any = None


@dataclasses.dataclass
class OldBeamSearchSequence:  # vLLM 0.8-0.10: no orig_prompt
    tokens: list
    logprobs: list
    cum_logprob: float = 0.0
    text: str | None = None


@dataclasses.dataclass
class BeamSearchOutput:
    sequences: list


COMPLETION = "a red circle on a blue background"


class FakeLLM:
    """vLLM's LLM as far as the adapter uses it, answering COMPLETION the way vLLM structures its outputs."""

    old_beams = False
    image_tokens = 64  # vLLM expands the image placeholder into the vision tokens

    def __init__(self, model: str, **kwargs: Any) -> None:
        from transformers import AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(model)

    def _prompt_ids(self, prompt: str) -> list:
        ids = self.tok.encode(prompt)
        image = self.tok.convert_tokens_to_ids("<image>")
        return [t for i in ids for t in ([image] * self.image_tokens if i == image else [i])]

    def generate(self, requests, params, use_tqdm=False):
        gen = self.tok.encode(" " + COMPLETION, add_special_tokens=False)
        return [RequestOutput(str(n), r["prompt"], self._prompt_ids(r["prompt"]), None,
                              [CompletionOutput(0, self.tok.decode(gen), gen, -1.0, None, "stop")])
                for n, r in enumerate(requests)]

    def beam_search(self, requests, params):
        gen = self.tok.encode(" " + COMPLETION, add_special_tokens=False) + [self.tok.eos_token_id]
        outs = []
        for r in requests:
            if self.old_beams:
                prompt_ids = self.tok.encode(r["prompt"])
                tokens = prompt_ids + gen
                seq = OldBeamSearchSequence(tokens, [], -1.0, self.tok.decode(tokens))
            else:
                prompt_ids = self._prompt_ids(r["prompt"])
                tokens = prompt_ids + gen
                seq = BeamSearchSequence({"type": "multimodal", "prompt_token_ids": prompt_ids,
                                          "prompt": r["prompt"]}, tokens, [], text=self.tok.decode(tokens))
            outs.append(BeamSearchOutput([seq] * params.beam_width))
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):
    pytest.importorskip("transformers")
    vllm = types.ModuleType("vllm")
    vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)  # found by the registry's extra check
    vllm.__version__ = "0.0-fake"
    vllm.LLM = FakeLLM
    vllm.SamplingParams = lambda **kw: types.SimpleNamespace(**kw)
    sampling = types.ModuleType("vllm.sampling_params")
    sampling.BeamSearchParams = lambda **kw: types.SimpleNamespace(**kw)
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling)
    monkeypatch.setattr(FakeLLM, "old_beams", False)
    return FakeLLM


@pytest.mark.parametrize("old_beams", [False, True], ids=["orig_prompt", "pre-0.11"])
def test_beam_search_text_never_leaks_the_prompt(fake_vllm, tiny_llava, demo_batch, old_beams, monkeypatch):
    monkeypatch.setattr(fake_vllm, "old_beams", old_beams)
    items, images = demo_batch
    _, adapter = REGISTRY.create("vllm", {"path": str(tiny_llava), "prompt": "paper"})  # 3 beams
    assert adapter.decoding["num_beams"] == 3
    raw = adapter.llm.beam_search([{"prompt": adapter._prompt(items[0])}], types.SimpleNamespace(beam_width=1))
    leaked = raw[0].sequences[0].text.removeprefix(adapter._prompt(items[0])).strip()
    assert leaked != COMPLETION  # what the old removeprefix handling returned: prompt text left in
    gens = adapter.generate(items[:3], images[:3])
    assert [g.prediction for g in gens] == [COMPLETION] * 3


def test_sampling_output_is_the_completion_text(fake_vllm, tiny_llava, demo_batch):
    items, images = demo_batch
    _, adapter = REGISTRY.create("vllm", {"path": str(tiny_llava), "temperature": 0.7})
    gens = adapter.generate(items[:2], images[:2])
    assert [g.prediction for g in gens] == [COMPLETION] * 2
    fp = adapter.fingerprint()
    assert fp["backend"] == "vllm" and "vllm" not in fp  # the version is provenance, not the run id
    assert adapter.environment() == {"vllm": "0.0-fake"}


def test_a_beam_that_does_not_start_with_its_prompt_is_an_error(tiny_llava):
    from transformers import AutoTokenizer

    from altbench.errors import AltbenchError
    from altbench.models.vllm_backend import beam_completion

    tok = AutoTokenizer.from_pretrained(str(tiny_llava))
    with pytest.raises(AltbenchError, match="prompt's tokens"):
        beam_completion(OldBeamSearchSequence(tok.encode("something else entirely"), []), tok, "USER: hi")
