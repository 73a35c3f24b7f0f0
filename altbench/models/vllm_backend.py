"""Optional vLLM backend (GPU throughput): ``--model vllm --model-arg path=HUB_ID_OR_DIR``.

vLLM's offline ``LLM`` engine batches continuously and pages its KV cache, so on a GPU it generates many
times faster than a transformers ``generate`` loop. It serves LLaVA-1.5, LLaVA-NeXT, Qwen2/2.5-VL,
Idefics3/SmolVLM and more, including checkpoints saved by ``save_pretrained`` (the training recipes').
vLLM has no CPU wheel on PyPI: without it this adapter says how to install it, or to use a served model
through the API adapter instead (``vllm serve DIR`` and ``--model openai-compatible --model-arg
base_url=http://HOST:8000/v1 model=DIR``).

Prompts are built exactly as the transformers adapters build them (the checkpoint's chat template, or the
reference code's ``llava_v1`` string with ``prompt=paper``), so the two backends differ only in kernels.
Note that vLLM feeds LLaVA-1.6 tiled images (its own any-resolution processing): the reference code's
single padded image (``image_mode=pad``) exists in the transformers adapter only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.base import Adapter, Generation
from altbench.models.prompts import PAPER_DECODING, chat_messages, check_style, llava_v1_prompt

INSTALL_HINT = (
    "vLLM is not installed: pip install 'altbench[vllm]' on a Linux machine with a CUDA GPU; "
    "or serve the model (vllm serve DIR) and use --model openai-compatible "
    "--model-arg base_url=http://HOST:8000/v1 model=DIR"
)


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


def beam_completion(sequence: Any, tokenizer: Any, prompt: str) -> str:
    """The completion of a ``BeamSearchSequence``, cut from its token ids.

    vLLM's ``LLM.beam_search`` returns ``BeamSearchOutput.sequences`` whose ``tokens`` are prompt + completion
    and whose ``text`` is ``tokenizer.decode(tokens)`` (special tokens and the expanded image placeholders
    included), so the prompt string is not a prefix of ``text``. The prompt's token count comes from the
    sequence's ``orig_prompt["prompt_token_ids"]`` (vLLM >= 0.11; the decoder prompt of an encoder-decoder
    input), else from ``tokenizer.encode(prompt)``, which older versions started the beams from (checked).
    A final end-of-sequence token is dropped, as vLLM drops it from the text.
    """
    tokens = list(sequence.tokens)
    orig = getattr(sequence, "orig_prompt", None)
    if orig is not None:
        decoder = orig["decoder_prompt"] if orig.get("type") == "enc_dec" else orig
        n = len(decoder["prompt_token_ids"])
    else:
        ids = list(tokenizer.encode(prompt))
        if tokens[: len(ids)] != ids:
            raise AltbenchError("vllm: a beam does not start with its prompt's tokens; cannot cut the completion")
        n = len(ids)
    completion = tokens[n:]
    if completion and completion[-1] == tokenizer.eos_token_id:
        completion = completion[:-1]
    return tokenizer.decode(completion, skip_special_tokens=True)


class VLLMAdapter(Adapter):
    """A vision-language checkpoint on vLLM's offline engine (greedy, sampling, or beam search)."""

    uses_images = True

    def __init__(
        self,
        path: str | None = None,
        prompt: str = "chat",
        system: str | None = None,
        max_new_tokens: int | None = None,
        num_beams: int | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
        repetition_penalty: float | None = None,
        seed: int = 0,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        if not path:
            raise MissingResourceError("vllm: pass --model-arg path=HUB_ID_OR_DIR")
        self.prompt = check_style(prompt)
        defaults = PAPER_DECODING if prompt == "paper" else {}
        self.path, self.system, self.seed, self.dtype = str(path), system, int(seed), dtype
        self.decoding = {
            "max_new_tokens": int(max_new_tokens or defaults.get("max_new_tokens", 128)),
            "num_beams": int(num_beams or defaults.get("num_beams", 1)),
            "temperature": float(temperature),
            "top_p": float(top_p),
            "repetition_penalty": float(repetition_penalty or defaults.get("repetition_penalty", 1.0)),
        }
        if self.decoding["num_beams"] > 1 and self.decoding["temperature"] > 0:
            raise AltbenchError("vllm: beam search is deterministic; use temperature=0 with num_beams > 1")
        try:
            import vllm
            from transformers import AutoProcessor

            from altbench.models.hf_files import ensure_torchvision
        except ImportError:
            raise MissingResourceError(INSTALL_HINT) from None
        self._vllm = vllm
        ensure_torchvision()  # processors import torchvision beside torch
        self.processor = AutoProcessor.from_pretrained(self.path, trust_remote_code=trust_remote_code)
        kwargs: dict[str, Any] = {
            "model": self.path,
            "dtype": dtype,
            "seed": self.seed,
            "tensor_parallel_size": int(tensor_parallel_size),
            "gpu_memory_utilization": float(gpu_memory_utilization),
            "limit_mm_per_prompt": {"image": 1},
            "trust_remote_code": trust_remote_code,
        }
        if max_model_len:
            kwargs["max_model_len"] = int(max_model_len)
        self.llm = vllm.LLM(**kwargs)

    def _prompt(self, item: Item) -> str:
        if self.prompt == "paper":
            return llava_v1_prompt(item.question, getattr(self.processor, "image_token", "<image>"))
        if self.prompt == "plain":
            return f"{getattr(self.processor, 'image_token', '<image>')}\n{item.question}"
        return self.processor.apply_chat_template(
            chat_messages(item.question, self.system), add_generation_prompt=True, tokenize=False
        )

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        if images is None:
            raise AltbenchError("vllm adapter needs one image per item")
        requests = [
            {"prompt": self._prompt(it), "multi_modal_data": {"image": img}} for it, img in zip(items, images)
        ]
        d = self.decoding
        if d["num_beams"] > 1:
            from vllm.sampling_params import BeamSearchParams

            outs = self.llm.beam_search(
                requests, BeamSearchParams(beam_width=d["num_beams"], max_tokens=d["max_new_tokens"])
            )
            tokenizer = getattr(self.processor, "tokenizer", self.processor)
            texts = [beam_completion(o.sequences[0], tokenizer, r["prompt"]) for o, r in zip(outs, requests)]
        else:
            params = self._vllm.SamplingParams(
                temperature=d["temperature"],
                top_p=d["top_p"],
                max_tokens=d["max_new_tokens"],
                repetition_penalty=d["repetition_penalty"],
                seed=self.seed,
            )
            outs = self.llm.generate(requests, params, use_tqdm=False)
            texts = [o.outputs[0].text for o in outs]  # RequestOutput: CompletionOutput.text is the completion
        return [Generation(it.id, t.strip()) for it, t in zip(items, texts)]

    def environment(self) -> dict[str, Any]:
        return {"vllm": getattr(self._vllm, "__version__", None)}

    def fingerprint(self) -> dict[str, Any]:
        return {  # the vLLM version is in environment(), not in the run id
            "backend": "vllm",
            "path": self.path,
            "prompt": self.prompt,
            "system": self.system,
            "decoding": dict(self.decoding),
            "seed": self.seed,
            "dtype": self.dtype,
        }
