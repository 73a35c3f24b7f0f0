"""The typed item every stage of altbench passes around."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# The reference work's instruction, and its "Context:" marker (Pinterest text is lower-cased, and the
# Twitter *train* questions lack the newline before it: both quirks are kept in `question`).
_CONTEXT_MARK = re.compile(r"\n?context:\n?", re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    """One image with its post and reference alt-text(s).

    id:          stable string id, unique within a split (the reference work's ``idx`` as text).
    image:       path of the image file (loaded lazily by :func:`altbench.data.images.load_image`).
    image_root:  the split's image folder; ``image`` may not escape it.
    question:    the full instruction + context exactly as the data has it (what a model is prompted with).
    context:     the post text alone, cut out of ``question``.
    references:  reference alt-text(s); the reference work has one (``chosen``).
    platform:    ``twitter``, ``pinterest``, ``demo`` or the custom file's name.
    rejected:    the dispreferred alt-text of a preference pair (train data), else ``None``.
    meta:        the row's remaining fields, kept for provenance.
    """

    id: str
    image: Path
    image_root: Path
    question: str
    context: str
    references: tuple[str, ...]
    platform: str
    rejected: str | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def chosen(self) -> str:
        return self.references[0]


def context_of(question: str) -> str:
    """The post text of a reference-format question (everything after ``Context:``)."""
    parts = _CONTEXT_MARK.split(question, maxsplit=1)
    return parts[1] if len(parts) == 2 else question
