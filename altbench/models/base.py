"""The adapter interface every model implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.data.items import Item


@dataclass(frozen=True)
class Generation:
    """The outcome for one item: a prediction, or the reason there is none.

    A failed item keeps ``prediction=None`` and says why in ``error``; it is counted and reported, never
    turned into an empty string (an empty *prediction* is a real, scorable output).
    """

    item_id: str
    prediction: str | None
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.prediction is None) == (self.error is None):
            raise ValueError("a Generation has exactly one of prediction and error")


class Adapter(ABC):
    """A model that writes alt-text.

    Subclasses set ``uses_images`` and implement :meth:`generate`. The runner loads the images (an
    unreadable image fails only its item) and calls :meth:`generate` with batches of at most
    ``batch_size`` items, in split order.
    """

    uses_images: bool = True
    reads_image_files: bool = False  # True: generate() opens ``item.image`` itself (a probe then writes files)

    def prepare(self, split_name: str, data_root: Path | None = None) -> None:
        """Called once before generation with the evaluated split's name and the run's ``--data-root``
        (e.g. to find the matching train split)."""

    @abstractmethod
    def generate(self, items: Sequence[Item], images: Sequence[Any] | None) -> list[Generation]:
        """One :class:`Generation` per item, same order.

        items:  the batch, each with ``question`` (full prompt text), ``context`` and ``image`` path.
        images: RGB PIL images aligned with ``items`` when ``uses_images``, else ``None``.
        """

    def fingerprint(self) -> dict[str, Any]:
        """Everything besides the registry arguments that changes outputs (checkpoint hash, decoding...).

        Library versions stay out (see :meth:`environment`): the run id must survive an upgrade or a rebuild
        that gives the same weights; a change that does alter outputs shows in the checkpoint hash.
        """
        return {}

    def environment(self) -> dict[str, Any]:
        """Versions of the libraries generation ran on: provenance to record, never part of the run id."""
        return {}
