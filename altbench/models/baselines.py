"""Offline baselines: they need no weights, so every benchmark has a floor to beat."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from altbench.data.items import Item
from altbench.errors import AltbenchError
from altbench.models.base import Adapter, Generation

ALT_TEXT_CHARS = 125  # the usual screen-reader guidance for alt-text length

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"(?<!\w)@\w+")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_SPACE = re.compile(r"\s+")


def clean_context(text: str, max_chars: int = ALT_TEXT_CHARS) -> str:
    """Post text without links and @mentions, hashtags as words, one line, cut at a word boundary."""
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _HASHTAG.sub(r"\1", text)
    text = _SPACE.sub(" ", text).strip().strip('"').strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars + 1].rsplit(" ", 1)[0]
    return (cut if cut else text[:max_chars]).rstrip(" ,;:-")


class ContextEcho(Adapter):
    """Predicts the post's context itself, cleaned and cut to alt-text length."""

    uses_images = False

    def __init__(self, max_chars: int = ALT_TEXT_CHARS) -> None:
        self.max_chars = int(max_chars)

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        return [Generation(item.id, clean_context(item.context, self.max_chars)) for item in items]


_WORD = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class TfidfIndex:
    """Cosine similarity over l2-normalised TF-IDF vectors (smooth idf, as scikit-learn's default)."""

    def __init__(self, documents: Sequence[str]) -> None:
        counts = [Counter(_tokens(d)) for d in documents]
        vocab = sorted({t for c in counts for t in c})
        self.index = {t: i for i, t in enumerate(vocab)}
        df = np.zeros(len(vocab))
        for c in counts:
            for t in c:
                df[self.index[t]] += 1
        n = len(documents)
        self.idf = np.log((1 + n) / (1 + df)) + 1.0
        self.matrix = np.stack([self._vector(c) for c in counts]) if counts else np.zeros((0, len(vocab)))

    def _vector(self, counts: Counter) -> np.ndarray:
        v = np.zeros(len(self.index))
        for t, k in counts.items():
            j = self.index.get(t)
            if j is not None:
                v[j] = k * self.idf[j]
        norm = math.sqrt(float(v @ v))
        return v / norm if norm else v

    def nearest(self, query: str) -> int:
        """Index of the most similar document; ties (and an all-zero query) go to the earliest one."""
        sims = self.matrix @ self._vector(Counter(_tokens(query)))
        return int(np.argmax(sims))


def default_train_split(split_name: str) -> str | None:
    """The train split paired with an evaluation split, if there is an obvious one."""
    if split_name == "demo":
        return "demo-train"
    for suffix, train in (("-sample", "-sample-train"), ("-test", "-train")):
        if split_name.endswith(suffix):
            return split_name[: -len(suffix)] + train
    return None


class Retrieval(Adapter):
    """Returns the reference alt-text of the training item whose context is most similar (TF-IDF)."""

    uses_images = False

    def __init__(self, train: str | None = None, data_root: str | None = None) -> None:
        self.train = train
        self.data_root = data_root
        self._index: TfidfIndex | None = None
        self._answers: list[str] = []

    def prepare(self, split_name: str, data_root: Path | None = None) -> None:
        from altbench.data.splits import load_split

        if self.train is None:
            self.train = default_train_split(split_name)
            if self.train is None:
                raise AltbenchError(
                    f"retrieval: no train split is known for {split_name!r}; pass --model-arg train=SPLIT_OR_FILE")
        # an explicit data_root argument wins over the run's --data-root
        train = load_split(self.train, Path(self.data_root) if self.data_root else data_root)
        self._index = TfidfIndex([item.context for item in train.items])
        self._answers = [item.chosen for item in train.items]
        self._train_hash = train.sha256()

    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        if self._index is None:
            raise RuntimeError("Retrieval.prepare() must run before generate()")
        return [Generation(item.id, self._answers[self._index.nearest(item.context)]) for item in items]

    def fingerprint(self) -> dict[str, Any]:
        return {"train": self.train, "train_sha256": getattr(self, "_train_hash", None)}
