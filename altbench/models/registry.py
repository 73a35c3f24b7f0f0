"""A lazy registry of model entries: name -> adapter class path + arguments.

Entries name their adapter as ``"module:Class"`` and are imported only when instantiated, so listing
models or scoring never imports torch. Besides the named entries, ``--model`` takes ``lmms:MODEL`` (an
lmms-eval model wrapper), ``hf:HUB_ID`` and the path of a saved checkpoint folder. Third-party packages
add entries through the entry-point group ``altbench.adapters`` (entry-point name = model name, value =
``module:Class``).
"""

from __future__ import annotations

import difflib
import importlib
import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.extras import require
from altbench.models.base import Adapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    """A named model.

    name:   what users type after ``--model``.
    target: ``"module:Class"`` of an :class:`Adapter` subclass.
    args:   keyword arguments for the class (``--model-arg k=v`` overrides them).
    needs:  what must be present to run it (weights at a path, an API key...), shown by ``altbench models``.
    description: one line for listings.
    extra:  the ``pip install 'altbench[EXTRA]'`` its adapter needs (None: the core install); by default
            looked up from the target (:data:`TARGET_EXTRAS`), checked before the adapter is imported.
    """

    name: str
    target: str
    args: dict[str, Any] = field(default_factory=dict)
    needs: str = "nothing (offline)"
    description: str = ""
    extra: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.extra is None:
            object.__setattr__(self, "extra", TARGET_EXTRAS.get(self.target))


class UnknownModelError(AltbenchError):
    pass


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, ModelEntry] = {}
        self._plugins_loaded = False

    def add(self, entry: ModelEntry) -> None:
        if entry.name in self._entries:
            raise ValueError(f"model {entry.name!r} is registered twice")
        self._entries[entry.name] = entry

    def entries(self) -> list[ModelEntry]:
        self._load_plugins()
        return list(self._entries.values())

    def get(self, name: str) -> ModelEntry:
        """The entry called ``name``; also ``lmms:MODEL``, ``hf:HUB_ID`` and a checkpoint folder's path."""
        self._load_plugins()
        if name in self._entries:
            return self._entries[name]
        dynamic = dynamic_entry(name)
        if dynamic is not None:
            return dynamic
        close = difflib.get_close_matches(name, self._entries, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else "; `altbench models` lists them"
        if "/" in name or name.startswith((".", "~")):
            hint += " (a checkpoint folder needs its config.json; a hub id takes the prefix hf:, as hf:org/name)"
        raise UnknownModelError(f"unknown model {name!r}{hint}")

    def create(self, name: str, overrides: dict[str, Any] | None = None) -> tuple[ModelEntry, Adapter]:
        """The entry and an instance of its adapter with ``args`` updated by ``overrides``."""
        entry = self.get(name)
        if entry.extra:  # one line naming the extra, not a ModuleNotFoundError from inside the adapter
            require(entry.extra, what=f"--model {name}")
        cls = load_target(entry.target)
        args = {**entry.args, **(overrides or {})}
        try:
            return entry, cls(**args)
        except TypeError as exc:
            raise AltbenchError(f"model {name}: bad arguments {sorted(args)} for {entry.target} ({exc})") from None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group="altbench.adapters"):
            if ep.name in self._entries:
                log.warning("plugin model %s ignored: the name is taken by a built-in entry", ep.name)
                continue
            self._entries[ep.name] = ModelEntry(ep.name, ep.value, needs="see the plugin",
                                                description=f"plugin from {ep.dist.name if ep.dist else '?'}")


def dynamic_entry(name: str) -> ModelEntry | None:
    """Entries made on demand: ``lmms:MODEL``, ``hf:HUB_ID`` and a local checkpoint folder (see below)."""
    if name.startswith("lmms:") and len(name) > 5:
        return ModelEntry(name, LMMS_TARGET, {"model": name[5:]}, needs=LMMS_NEEDS,
                          description=f"lmms-eval's {name[5:]!r} model wrapper, in a worker process")
    if name.startswith("hf:") and len(name) > 3:
        return ModelEntry(name, GENERIC_TARGET, {"path": name[3:]},
                          needs=f"weights: {name[3:]} (hub or cache)",
                          description="any transformers image-text-to-text checkpoint with a chat template")
    return checkpoint_entry(name)


def checkpoint_entry(name: str) -> ModelEntry | None:
    """A saved checkpoint folder as an entry: the adapter by its config's ``model_type``, or by its card.

    An ``altbench.json`` card beside the weights (written by the training recipes) may name ``adapter``
    (an entry name or ``module:Class``) and ``adapter_args`` (merged into the arguments); ``recipe`` and
    ``base`` go into the description. A PEFT adapter folder resolves through the base it names.
    """

    from altbench.models.hf_base import CARD, local_model_type, read_card

    folder = Path(name).expanduser()
    markers = ("config.json", "adapter_config.json", CARD)
    if not folder.is_dir() or not any((folder / f).is_file() for f in markers):
        return None
    card = read_card(folder)
    model_type = local_model_type(folder)
    target = MODEL_TYPE_TARGETS.get(model_type or "", GENERIC_TARGET)
    args: dict[str, Any] = {"path": str(folder.resolve())}
    adapter = card.get("adapter")
    if isinstance(adapter, str) and adapter:
        if ":" in adapter and not adapter.startswith(("lmms:", "hf:")):
            target = adapter
        else:
            named = REGISTRY.get(adapter)
            target, args = named.target, {**named.args, **args}
    card_args = card.get("adapter_args") or {}
    if not isinstance(card_args, dict):
        raise AltbenchError(f"{folder}/{CARD}: adapter_args must be a JSON object")
    args.update(card_args)
    described = ", ".join(f"{k} {card[k]}" for k in ("recipe", "base") if card.get(k))
    description = f"local {model_type or 'transformers'} checkpoint" + (f" ({described})" if described else "")
    return ModelEntry(name, target, args, needs=f"the checkpoint at {folder}", description=description)


def load_target(target: str) -> type[Adapter]:
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AltbenchError(f"cannot import adapter {target} ({exc})") from None
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise AltbenchError(f"{target} is not an altbench Adapter subclass")
    return cls


LLAVA = "altbench.models.llava:LlavaAdapter"
QWEN = "altbench.models.qwen_vl:QwenVLAdapter"
IDEFICS = "altbench.models.idefics:Idefics3Adapter"
GENERIC_TARGET = "altbench.models.hf_base:HFVisionAdapter"
OPENAI_TARGET = "altbench.models.openai_api:OpenAIChatAdapter"
LMMS_TARGET = "altbench.models.lmms_bridge:LmmsAdapter"
VLLM_TARGET = "altbench.models.vllm_backend:VLLMAdapter"
LMMS_NEEDS = "lmms-eval in this or another interpreter (--model-arg python=VENV/bin/python), and weights"
# adapter -> the extra it imports (baselines and the API adapter need only the core; lmms-eval runs in its
# own interpreter, which the bridge checks itself)
TARGET_EXTRAS = {LLAVA: "hf", QWEN: "hf", IDEFICS: "hf", GENERIC_TARGET: "hf", VLLM_TARGET: "vllm",
                 "altbench.models.checkpoints:PaperCheckpoint": "hf"}
# config.json model_type -> adapter, for `--model path/to/checkpoint`
MODEL_TYPE_TARGETS = {"llava": LLAVA, "llava_next": LLAVA, "qwen2_vl": QWEN, "qwen2_5_vl": QWEN,
                      "idefics3": IDEFICS, "smolvlm": IDEFICS}

# (name, target, hub id, size note, description)
_HUB_MODELS = (
    ("llava-1.5-7b", LLAVA, "llava-hf/llava-1.5-7b-hf", "14 GB", "LLaVA-1.5 7B (Vicuna)"),
    ("llava-1.5-13b", LLAVA, "llava-hf/llava-1.5-13b-hf", "26 GB", "LLaVA-1.5 13B (Vicuna)"),
    ("llava-1.6-7b", LLAVA, "llava-hf/llava-v1.6-vicuna-7b-hf", "14 GB",
     "LLaVA-1.6 7B (Vicuna), the reference work's base; image_mode=pad for its one-image input"),
    ("llava-1.6-mistral-7b", LLAVA, "llava-hf/llava-v1.6-mistral-7b-hf", "15 GB", "LLaVA-1.6 7B (Mistral)"),
    ("llava-1.6-13b", LLAVA, "llava-hf/llava-v1.6-vicuna-13b-hf", "27 GB", "LLaVA-1.6 13B (Vicuna)"),
    ("qwen2-vl-2b", QWEN, "Qwen/Qwen2-VL-2B-Instruct", "4.5 GB", "Qwen2-VL 2B Instruct"),
    ("qwen2-vl-7b", QWEN, "Qwen/Qwen2-VL-7B-Instruct", "16 GB", "Qwen2-VL 7B Instruct"),
    ("qwen2.5-vl-3b", QWEN, "Qwen/Qwen2.5-VL-3B-Instruct", "7.5 GB", "Qwen2.5-VL 3B Instruct"),
    ("qwen2.5-vl-7b", QWEN, "Qwen/Qwen2.5-VL-7B-Instruct", "16.6 GB", "Qwen2.5-VL 7B Instruct"),
    ("smolvlm", IDEFICS, "HuggingFaceTB/SmolVLM-Instruct", "4.5 GB", "SmolVLM 2B Instruct (needs num2words)"),
    ("smolvlm-256m", IDEFICS, "HuggingFaceTB/SmolVLM-256M-Instruct", "0.5 GB", "SmolVLM 256M Instruct"),
    ("smolvlm-500m", IDEFICS, "HuggingFaceTB/SmolVLM-500M-Instruct", "1 GB", "SmolVLM 500M Instruct"),
    ("idefics3-8b", IDEFICS, "HuggingFaceM4/Idefics3-8B-Llama3", "17 GB", "Idefics3 8B (Llama 3)"),
)
# (name, model, base_url, key variable, description)
_API_MODELS = (
    ("gpt-4o", "gpt-4o", "https://api.openai.com/v1", "OPENAI_API_KEY", "OpenAI GPT-4o, zero-shot"),
    ("gpt-4o-mini", "gpt-4o-mini", "https://api.openai.com/v1", "OPENAI_API_KEY", "OpenAI GPT-4o mini"),
    ("gemini-2.0-flash", "gemini-2.0-flash", "https://generativelanguage.googleapis.com/v1beta/openai",
     "GEMINI_API_KEY", "Gemini 2.0 Flash through its OpenAI-compatible endpoint"),
)

REGISTRY = Registry()
for _entry in (
    ModelEntry("context-echo", "altbench.models.baselines:ContextEcho",
               description="the post's context, cleaned and cut to alt-text length"),
    ModelEntry("retrieval", "altbench.models.baselines:Retrieval",
               description="reference alt-text of the most similar training context (TF-IDF)",
               needs="the split's train split (demo-train, *-sample-train, *-train) or --model-arg train=..."),
    *(
        ModelEntry(name, "altbench.models.checkpoints:PaperCheckpoint", {"checkpoint": name},
                   needs=f"weights: --model-arg path=DIR or ALTBENCH_{name.upper().replace('-', '_')}=DIR",
                   description=f"the reference work's {label} LLaVA-1.6-7B checkpoint")
        for name, label in (("sft-7b", "SFT"), ("dpo-7b", "DPO"), ("mcmdpo-7b", "MCM-DPO"))
    ),
    *(
        ModelEntry(name, target, {"path": hub_id},
                   needs=f"weights: {hub_id} ({size}; fetched on first use when online, or --model-arg path=DIR)",
                   description=description)
        for name, target, hub_id, size, description in _HUB_MODELS
    ),
    ModelEntry("hf", GENERIC_TARGET, needs="--model-arg path=HUB_ID_OR_DIR (or --model hf:HUB_ID, --model DIR)",
               description="any transformers image-text-to-text checkpoint with a chat template"),
    *(
        ModelEntry(name, OPENAI_TARGET, {"model": model, "base_url": url, "api_key_env": var},
                   needs=f"network access and an API key in ${var}", description=description)
        for name, model, url, var, description in _API_MODELS
    ),
    ModelEntry("openai-compatible", OPENAI_TARGET,
               needs="--model-arg base_url=URL model=NAME (a vLLM, llama.cpp... server); key: $OPENAI_API_KEY",
               description="any OpenAI-compatible chat-completions server with image input"),
    ModelEntry("vllm", VLLM_TARGET, needs="vllm installed, a GPU, and --model-arg path=HUB_ID_OR_DIR",
               description="vLLM's offline engine (LLaVA, LLaVA-NeXT, Qwen-VL, ...) for GPU throughput"),
    ModelEntry("altbench-tiny", LLAVA,
               {"path": "altbench:altbench-tiny",
                "max_new_tokens": 24},
               needs="nothing more (weights shipped with altbench, 2.3 MB; offline, CPU)",
               description="tiny LLaVA SFT-trained on demo-train by baselines/demo-sft.yaml (offline, CPU)"),
):
    REGISTRY.add(_entry)
