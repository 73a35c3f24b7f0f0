"""Training data: TAlt/PAlt train files, custom train JSON, or the demo train split, as TRL rows.

Rows are built lazily (images are opened when a batch is collated), fresh dicts each time, because TRL's
vision collators rewrite the rows they are given:

- SFT:     ``{images, prompt, completion}`` (conversational; the target is ``chosen``);
- DPO:     ``{images, prompt, chosen, rejected}``;
- MCM-DPO: the DPO row plus ``neg_prompt`` (the question of another item, seeded by the item's index),
  ``neg_image_path`` (that item's image, for the ``random`` negative kind) and ``index``;
- mDPO:    the DPO row plus ``neg_image_path`` and ``index`` (the corrupted image is made by the collator).

The prompt is the chat form the evaluation adapters use: one user turn (image, then the question).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError
from altbench.train.negatives import other_index


def load_items(data: str, data_root: str | None = None, images: str | None = None, max_items: int = 0,
               need_pairs: bool = True) -> tuple[list, str]:
    """Items of a train split name or file, and a data hash (the split's sha256, prefixed)."""
    from altbench.data.splits import load_split

    split = load_split(data, Path(data_root) if data_root else None, Path(images) if images else None)
    items = list(split.items)
    if max_items > 0:
        items = items[:max_items]
    if not items:
        raise AltbenchError(f"{data}: no training items")
    if need_pairs:
        missing = sum(1 for it in items if not it.rejected)
        if missing:
            raise AltbenchError(f"{data}: {missing} of {len(items)} items lack a 'rejected' alt-text; "
                                "preference recipes need train-format data with chosen/rejected")
    h = hashlib.sha256()
    for item in items:
        h.update(f"{item.id}\0{item.question}\0{item.chosen}\0{item.rejected or ''}\0{item.image.name}\0".encode())
    return items, "sha256:" + h.hexdigest()


def _user(question: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": question}]


def _assistant(text: str) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": text}]


def _image(path: str):
    from PIL import Image

    with Image.open(path) as im:
        return im.convert("RGB")


def row_dataset(items: list, kind: str):
    """A ``datasets.Dataset`` of TRL rows over ``items`` (``kind``: sft | dpo | mcmdpo | mdpo).

    The table holds paths and texts only; images are opened by a ``set_transform`` when rows are read.
    """
    from datasets import Dataset

    if kind in ("mcmdpo", "mdpo") and len(items) < 2:
        name = {"mcmdpo": "MCM-DPO", "mdpo": "mDPO"}[kind]
        raise AltbenchError(f"{name} needs at least two training items (negatives from another item)")
    table: dict[str, list] = {"image_path": [str(it.image) for it in items],
                              "question": [it.question for it in items],
                              "chosen_text": [it.chosen for it in items],
                              "rejected_text": [it.rejected or "" for it in items],
                              "index": list(range(len(items)))}
    if kind in ("mcmdpo", "mdpo"):
        others = [items[other_index(i, len(items))] for i in range(len(items))]
        table["neg_image_path"] = [str(o.image) for o in others]
        if kind == "mcmdpo":
            table["neg_question"] = [o.question for o in others]
    dataset = Dataset.from_dict(table)
    dataset.set_transform(lambda batch: _rows(batch, kind))
    return dataset


def _rows(batch: dict[str, list], kind: str) -> dict[str, list]:
    n = len(batch["question"])
    out: dict[str, list] = {"images": [[_image(p)] for p in batch["image_path"]],
                            "prompt": [_user(q) for q in batch["question"]]}
    if kind == "sft":
        out["completion"] = [_assistant(t) for t in batch["chosen_text"]]
        return out
    out["chosen"] = [_assistant(t) for t in batch["chosen_text"]]
    out["rejected"] = [_assistant(t) for t in batch["rejected_text"]]
    if kind in ("mcmdpo", "mdpo"):
        out["neg_image_path"] = list(batch["neg_image_path"])
        out["index"] = list(batch["index"])
    if kind == "mcmdpo":
        out["neg_prompt"] = [_user(q) for q in batch["neg_question"]]
    assert all(len(v) == n for v in out.values())
    return out
