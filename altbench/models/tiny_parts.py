"""Parts of the tiny offline models: chat templates, a byte-level BPE tokenizer trained on the demo vocabulary,
small Llama/CLIP configs, seeded initialisation and saving. The builders are in :mod:`altbench.models.tiny`.

torch, tokenizers and transformers are imported inside the functions only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIALS = ("<unk>", "<s>", "</s>", "<pad>", "<image>")
VOCAB_SIZE = 512
IMAGE_SIZE = 64
PATCH = 8

# Vicuna / llava_v1 style: "USER: <image>\n{text} ASSISTANT: {answer}</s>". Accepts plain-string content and
# structured content ([{"type": "image"}, {"type": "text", "text": ...}]); a system message comes first.
VICUNA_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for c in message['content'] if c['type'] == 'text' -%}{{ c['text'] }}{%- endfor -%}"
    "{%- endif -%}{{ ' ' }}"
    "{%- elif message['role'] == 'user' -%}{{ 'USER: ' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}"
    "{%- for c in message['content'] if c['type'] == 'image' -%}{{ '<image>\n' }}{%- endfor -%}"
    "{%- for c in message['content'] if c['type'] == 'text' -%}{{ c['text'] }}{%- endfor -%}"
    "{%- endif -%}{{ ' ' }}"
    "{%- else -%}{{ 'ASSISTANT: ' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for c in message['content'] if c['type'] == 'text' -%}{{ c['text'] }}{%- endfor -%}"
    "{%- endif -%}{{ eos_token }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}ASSISTANT:{%- endif -%}"
)

# ChatML as Qwen2-VL uses it, with its vision markers around the image pad token.
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "<|im_start|>{{ message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for c in message['content'] -%}"
    "{%- if c['type'] == 'image' -%}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif c['type'] == 'text' -%}{{ c['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)

# Idefics3 / SmolVLM style: "User:<image>text<end_of_utterance>\nAssistant:".
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>"
    "{%- for message in messages -%}"
    "{{ message['role'] | capitalize }}{{ ':' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for c in message['content'] -%}"
    "{%- if c['type'] == 'image' -%}<image>"
    "{%- elif c['type'] == 'text' -%}{{ c['text'] }}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}{{ '<end_of_utterance>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}Assistant:{%- endif -%}"
)


def tokenizer_corpus() -> list[str]:
    """A few hundred strings in the demo split's and the prompts' vocabulary (deterministic)."""
    from altbench.data import demo
    from altbench.models.prompts import LLAVA_V1_SYSTEM

    texts = [demo.INSTRUCTION, LLAVA_V1_SYSTEM, "USER: ASSISTANT: User: Assistant: system user assistant"]
    texts += list(demo.SHAPE_CONTEXTS + demo.CHART_CONTEXTS + demo.CARD_CONTEXTS + demo.PHRASES)
    for colour in demo.COLOURS:
        for shape in demo.SHAPES:
            texts.append(f"a {colour} {shape} on a {colour} background")
        texts.append(f'text card reading "hello" in {colour} on white')
        texts.append(f"bar chart of {colour} bars for jan to jun")
    return texts * 3


def train_tokenizer(specials: tuple[str, ...] = SPECIALS, vocab_size: int = VOCAB_SIZE, **named: str):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with left padding; ``named`` maps roles to specials.

    ``specials`` must start with unk, bos, eos, pad (ids 0-3) unless ``named`` says otherwise.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=named.get("unk_token", specials[0])))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials),
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(tokenizer_corpus(), trainer)
    bos = named.get("bos_token")
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )
    kwargs = {"padding_side": "left", **named}
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)


def init_weights(model_cls: Any, config: Any, seed: int) -> Any:
    """``model_cls(config)`` with weights drawn from ``seed``, leaving the caller's RNG state alone."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return model_cls(config).eval()


def vicuna_tokenizer():
    return train_tokenizer(
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )


def save_folder(model: Any, processor: Any, path: str | Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def llama_config(vocab: int, **overrides: Any):
    from transformers import LlamaConfig

    args = {
        "vocab_size": vocab,
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "max_position_embeddings": 2048,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 3,
        "tie_word_embeddings": False,
    }
    return LlamaConfig(**{**args, **overrides})


def clip_vision_config(image_size: int = IMAGE_SIZE):
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=image_size,
        patch_size=PATCH,
        projection_dim=64,
    )
