"""Base of the transformers adapters: loading, device and dtype, batched generation, fingerprint.

:class:`HFVisionAdapter` is also the generic adapter for any ``AutoModelForImageTextToText`` checkpoint
with a chat template (``--model hf --model-arg path=ID_OR_DIR``, or ``--model path/to/checkpoint``).
Architecture adapters (LLaVA, Qwen-VL, Idefics3/SmolVLM) subclass it and override a few hooks:
:meth:`load` (model + processor), :meth:`build_prompt` and :meth:`processor_inputs`.

Batches are left-padded, so a greedy batch gives the same outputs as a batch-1 loop. Device: one GPU
(``cuda:LOCAL_RANK`` under ``accelerate launch``), all GPUs through ``device_map="auto"`` when there are
several, else CPU. dtype: float32 on CPU; bfloat16 on GPUs that support it, else float16 (the ``paper``
prompt uses float16 as the reference code did). Every one of these choices is in :meth:`fingerprint`;
library versions are not (they are in :meth:`environment`), so an upgrade keeps the run id.

torch and transformers are imported inside the methods, never at module import.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.models.base import Adapter, Generation
from altbench.models.hf_files import (
    CARD,
    checkpoint_digest,
    checkpoint_model_type,
    ensure_torchvision,
    is_local_checkpoint,
    load_config,
    local_model_type,
    peft_base,
    read_card,
    resolve_source,
    shipped_name,
    weights_digest,
)
from altbench.models.prompts import chat_messages, check_style

log = logging.getLogger(__name__)

# The checkpoint helpers live in hf_files; these names stay importable from here for existing callers.
__all__ = ["CARD", "DTYPES", "HFVisionAdapter", "checkpoint_model_type", "choose_device", "choose_dtype", "ensure_torchvision",
           "is_local_checkpoint", "load_config", "local_model_type", "peft_base", "quiet_transformers",
           "read_card", "resolve_source", "weights_digest"]

DTYPES = ("auto", "float32", "float16", "bfloat16")
DEFAULT_MAX_NEW_TOKENS = 128


class HFVisionAdapter(Adapter):
    """Any transformers image-text-to-text checkpoint with a chat template, batched and left-padded.

    path:            hub id or local folder (a full checkpoint, or a PEFT/LoRA adapter folder whose
                     ``adapter_config.json`` names its base).
    prompt:          ``chat`` (the checkpoint's chat template), ``paper`` (LLaVA only) or ``plain``.
    system:          optional system turn (``chat`` style).
    num_beams, max_new_tokens, do_sample, temperature, top_p, repetition_penalty: decoding (greedy by
                     default; all recorded in the fingerprint).
    dtype:           ``auto`` | ``float32`` | ``float16`` | ``bfloat16``.
    device:          ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` | ``mps``.
    device_map:      passed to ``from_pretrained`` (e.g. ``auto`` to spread a model over all GPUs).
    attn_implementation, revision, trust_remote_code: passed to ``from_pretrained``.
    """

    uses_images = True
    family = "generic"

    def __init__(
        self,
        path: str | None = None,
        prompt: str = "chat",
        system: str | None = None,
        num_beams: int | None = None,
        max_new_tokens: int | None = None,
        do_sample: bool = False,
        temperature: float | None = None,
        top_p: float | None = None,
        repetition_penalty: float | None = None,
        dtype: str = "auto",
        device: str = "auto",
        device_map: str | None = None,
        attn_implementation: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
        seed: int = 0,
    ) -> None:
        self.prompt = check_style(prompt)
        if prompt == "paper" and self.family not in ("llava", "llava_next"):
            raise AltbenchError(
                f"prompt=paper is the reference code's LLaVA conversation; {self.family} "
                "checkpoints take prompt=chat or prompt=plain"
            )
        if dtype not in DTYPES:
            raise AltbenchError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.source = resolve_source(path, f"{self.family} adapter", revision)
        self.system = system
        self.revision = revision
        self.trust_remote_code = bool(trust_remote_code)
        self.attn_implementation = attn_implementation
        self.seed = int(seed)
        defaults = {"num_beams": 1, "max_new_tokens": DEFAULT_MAX_NEW_TOKENS, "repetition_penalty": 1.0,
                    **self.default_decoding()}
        given = {"num_beams": num_beams, "max_new_tokens": max_new_tokens, "repetition_penalty": repetition_penalty}
        self.decoding: dict[str, Any] = {k: type(defaults[k])(v if v is not None else defaults[k])
                                         for k, v in given.items()}
        self.decoding["do_sample"] = bool(do_sample)
        if do_sample:
            self.decoding.update(
                temperature=float(temperature if temperature is not None else 1.0),
                top_p=float(top_p if top_p is not None else 1.0),
            )
        elif temperature is not None or top_p is not None:
            raise AltbenchError("temperature/top_p apply to sampling only; add --model-arg do_sample=true")
        self.device, self.device_map = choose_device(device, device_map)
        self.dtype_name = choose_dtype(dtype, self.device, self.device_map, paper=self.prompt == "paper")
        self.model, self.processor = self._load_checked()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.eval()

    # -- hooks ------------------------------------------------------------------------------------------

    def default_decoding(self) -> dict[str, Any]:
        return {}

    def load(self, source: str, dtype: Any) -> tuple[Any, Any]:
        """(model, processor) for ``source``; subclasses pick the model class or rebuild the processor."""
        from transformers import AutoModelForImageTextToText

        return self.load_model(AutoModelForImageTextToText, source, dtype), self.load_processor(source)

    def build_prompt(self, item: Item) -> str:
        if self.prompt == "plain":
            return f"{self.image_token}\n{item.question}"
        template = getattr(self.processor, "chat_template", None) or getattr(
            self.tokenizer, "chat_template", None
        )
        if not template:
            raise AltbenchError(f"{self.source} has no chat template; use --model-arg prompt=plain")
        return self.processor.apply_chat_template(
            chat_messages(item.question, self.system), add_generation_prompt=True, tokenize=False
        )

    def processor_inputs(self, prompts: list[str], images: Sequence[Any]) -> Any:
        return self.processor(text=prompts, images=list(images), return_tensors="pt", padding=True)

    def extra_fingerprint(self) -> dict[str, Any]:
        return {}

    # -- loading ----------------------------------------------------------------------------------------

    @property
    def image_token(self) -> str:
        return getattr(self.processor, "image_token", None) or "<image>"

    def _load_checked(self) -> tuple[Any, Any]:
        import torch

        dtype = getattr(torch, self.dtype_name)
        ensure_torchvision()
        try:
            return self.load(self.source, dtype)
        except OSError as exc:
            if is_local_checkpoint(self.source):
                raise MissingResourceError(
                    f"{self.family} adapter: cannot load {self.source} ({exc})"
                ) from None
            raise MissingResourceError(
                f"{self.family} adapter: cannot get {self.source} from the Hugging Face hub or its cache "
                f"({str(exc).splitlines()[0]}); on a connected machine run `hf download {self.source}`, "
                "then pass --model-arg path=DIR"
            ) from None

    def _from_pretrained_kwargs(self, dtype: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": self.trust_remote_code}
        if self.revision:
            kwargs["revision"] = self.revision
        if self.attn_implementation:
            kwargs["attn_implementation"] = self.attn_implementation
        if self.device_map:
            kwargs["device_map"] = self.device_map
        return kwargs

    def load_model(self, cls: Any, source: str, dtype: Any, **extra: Any) -> Any:
        """``cls.from_pretrained`` with this adapter's settings; a PEFT adapter folder is merged into its base."""
        kwargs = {**self._from_pretrained_kwargs(dtype), **extra}
        base = peft_base(Path(source))
        if base is None:
            model = cls.from_pretrained(source, **kwargs)
        else:
            try:
                from peft import PeftModel
            except ImportError:
                raise MissingResourceError(f"{source} is a PEFT adapter; install peft to load it") from None
            base_model = cls.from_pretrained(resolve_source(base, f"base model of {source}"), **kwargs)
            model = PeftModel.from_pretrained(base_model, source).merge_and_unload()
        return model if self.device_map else model.to(self.device)

    def load_processor(self, source: str) -> Any:
        from transformers import AutoProcessor

        folder = Path(source)
        base = peft_base(folder)
        if base is not None and not any(
            (folder / f).is_file() for f in ("processor_config.json", "preprocessor_config.json")
        ):
            source = resolve_source(base, f"base model of {source}")  # a LoRA folder saved without processor
        kwargs: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if self.revision:
            kwargs["revision"] = self.revision
        return AutoProcessor.from_pretrained(source, **kwargs)

    # -- generation -------------------------------------------------------------------------------------

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        if images is None or len(images) != len(items):
            raise AltbenchError(f"{self.family} adapter needs one image per item")
        return self._generate_split_on_oom(list(items), list(images))

    def _generate_split_on_oom(self, items: list[Item], images: list[Any]) -> list[Generation]:
        import torch

        try:
            texts = self._generate_texts(items, images)
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            if len(items) == 1:
                return [Generation(items[0].id, None, error=f"out of GPU memory: {exc}")]
            half = len(items) // 2
            log.warning(
                "out of GPU memory on a batch of %d; retrying as %d + %d", len(items), half, len(items) - half
            )
            return self._generate_split_on_oom(items[:half], images[:half]) + self._generate_split_on_oom(
                items[half:], images[half:]
            )
        return [Generation(it.id, text) for it, text in zip(items, texts)]

    def _generate_texts(self, items: list[Item], images: list[Any]) -> list[str]:
        import torch

        prompts = [self.build_prompt(item) for item in items]
        inputs = self.processor_inputs(prompts, images)
        device = self.model.device if self.device_map else self.device
        inputs = inputs.to(device)
        for key, value in inputs.items():  # pixel tensors follow the model's dtype
            if torch.is_floating_point(value):
                inputs[key] = value.to(self.model.dtype)
        if self.decoding["do_sample"]:
            torch.manual_seed(self.seed)
        with torch.inference_mode():
            out = self.model.generate(**inputs, generation_config=self._generation_config())
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        return [t.strip() for t in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    def _generation_config(self) -> Any:
        import copy

        config = copy.deepcopy(self.model.generation_config)
        if not self.decoding["do_sample"]:  # a checkpoint's sampling defaults must not leak into greedy runs
            config.temperature = config.top_p = config.top_k = None
        config.update(**self.decoding)
        if config.pad_token_id is None:
            config.pad_token_id = self.tokenizer.pad_token_id
        return config

    # -- provenance -------------------------------------------------------------------------------------

    def environment(self) -> dict[str, Any]:
        import torch
        import transformers

        return {"transformers": transformers.__version__, "torch": torch.__version__}

    def fingerprint(self) -> dict[str, Any]:
        # No library versions here: an upgrade that leaves the predictions alone must not change the run id.
        if is_local_checkpoint(self.source):
            checkpoint = {"path": shipped_name(self.source) or self.source,
                          "sha256": checkpoint_digest(Path(self.source))}
        else:
            commit = getattr(self.model.config, "_commit_hash", None)
            checkpoint = {"hub_id": self.source, "revision": self.revision, "commit": commit}
        return {
            "family": self.family,
            "class": type(self.model).__name__,
            "checkpoint": checkpoint,
            "prompt": self.prompt,
            "system": self.system,
            "decoding": dict(self.decoding),
            "seed": self.seed if self.decoding["do_sample"] else None,
            "dtype": self.dtype_name,
            "device": _device_kind(self.device, self.device_map),
            **self.extra_fingerprint(),
        }


def choose_device(device: str, device_map: str | None) -> tuple[str, str | None]:
    """(device, device_map): ``device_map`` wins; ``auto`` takes this process's GPU, all GPUs, or CPU."""
    import torch

    if device_map:
        return "cuda" if torch.cuda.is_available() else "cpu", device_map
    if device != "auto":
        return device, None
    if torch.cuda.is_available():
        local_rank = os.environ.get("LOCAL_RANK")
        if local_rank is not None:  # one process per GPU (accelerate launch, torchrun)
            return f"cuda:{int(local_rank)}", None
        return ("cuda", "auto") if torch.cuda.device_count() > 1 else ("cuda:0", None)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps", None
    return "cpu", None


def choose_dtype(dtype: str, device: str, device_map: str | None, paper: bool = False) -> str:
    import torch

    if dtype != "auto":
        return dtype
    if device.startswith("cpu") and not device_map:
        return "float32"
    if paper:
        return "float16"  # the reference code's inference dtype
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float16"


@contextlib.contextmanager
def quiet_transformers():
    """transformers' warnings (e.g. its load report of deliberately unused weights) off for a block."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _device_kind(device: str, device_map: str | None) -> str:
    return f"device_map={device_map}" if device_map else device.split(":")[0]
