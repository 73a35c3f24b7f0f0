"""The four counterfactual inputs of ``altbench probe``: pure, seeded functions of an item and its image.

- ``context-swap``: the post's context replaced by another evaluated item's, through a seeded derangement
  (Sattolo's algorithm: one random cycle through all items, so no item keeps its own context and every
  context is used exactly once). The training negatives (:func:`altbench.train.negatives.other_index`) draw
  each donor independently, so some contexts would appear twice and others never; a probe wants each
  post's text shown exactly once.
- ``context-drop``: the context removed, the instruction (and its ``Context:`` marker) kept.
- ``image-noise``: forward-diffusion noise at step 700 of the reference schedule (the MCM-DPO image
  negative), applied in pixel space to the image scaled to [-1, 1], with Gaussian noise seeded per item from
  (seed, item id), then clipped back to 8 bits. numpy only: the schedule is written out here and a test
  checks it equals :func:`altbench.train.negatives.diffusion_coefficients` (torch).
- ``image-blank``: an image of the same size filled with the image's mean colour.

:class:`Counterfactual` is what the runner calls on every batch (see ``RunConfig.counterfactual``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from altbench.data.items import Item
from altbench.errors import AltbenchError

CONTEXT_SWAP, CONTEXT_DROP, IMAGE_NOISE, IMAGE_BLANK = "context-swap", "context-drop", "image-noise", "image-blank"
PROBES = (CONTEXT_SWAP, CONTEXT_DROP, IMAGE_NOISE, IMAGE_BLANK)
CONTEXT_PROBES = (CONTEXT_SWAP, CONTEXT_DROP)
IMAGE_PROBES = (IMAGE_NOISE, IMAGE_BLANK)
DESCRIPTIONS = {
    CONTEXT_SWAP: "the post's context replaced by another item's (a seeded derangement)",
    CONTEXT_DROP: "the post's context removed, the instruction kept",
    IMAGE_NOISE: "the image replaced by its diffusion-noised version (step 700 of 1000, the reference schedule)",
    IMAGE_BLANK: "the image replaced by a blank image of its mean colour",
}

NUM_DIFFUSION_STEPS = 1000
NOISE_STEP = 700
# The reference's marker (as altbench.data.items.context_of splits on it); the context is what follows it.
_CONTEXT_MARK = re.compile(r"\n?context:\n?", re.IGNORECASE)


# ------------------------------------------------------------------------------------------- contexts
def derangement(n: int, seed: int) -> list[int]:
    """Sattolo's algorithm: a uniformly random cyclic permutation of ``range(n)`` (no fixed point for n > 1).

    ``perm[i]`` is the item whose context item ``i`` gets. Seeded with numpy's PCG64, so the same (n, seed)
    gives the same permutation on every machine.
    """
    if n < 2:
        raise AltbenchError(f"context-swap needs at least two items, got {n}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x5A771E])))
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i))  # j < i: Sattolo, not Fisher-Yates (which allows j == i)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def with_context(item: Item, context: str) -> Item:
    """``item`` with its post's context replaced: ``context`` and the part of ``question`` after the
    reference's ``Context:`` marker (the instruction before it stays, byte for byte)."""
    mark = _CONTEXT_MARK.search(item.question)
    if mark is not None:
        question = item.question[: mark.end()] + context
    elif item.question == item.context:  # no instruction: the question is the context itself
        question = context
    elif item.context and item.question.count(item.context) == 1:
        question = item.question.replace(item.context, context)
    else:
        raise AltbenchError(f"item {item.id}: cannot find its context in its question (no 'Context:' marker), "
                            "so a context probe cannot replace it")
    return replace(item, question=question, context=context)


# --------------------------------------------------------------------------------------------- images
def diffusion_coefficients(step: int = NOISE_STEP) -> tuple[float, float]:
    """``(sqrt(abar_t), sqrt(1 - abar_t))`` of the reference schedule at ``step`` (0-based, < 1000):
    ``betas = sigmoid(linspace(-6, 6, 1000)) * (5e-3 - 1e-5) + 1e-5``, ``abar = cumprod(1 - betas)``.
    Computed in float32 as torch computes it in :mod:`altbench.train.negatives`."""
    if not 0 <= step < NUM_DIFFUSION_STEPS:
        raise AltbenchError(f"diffusion step must lie in 0..{NUM_DIFFUSION_STEPS - 1}, got {step}")
    x = np.linspace(-6, 6, NUM_DIFFUSION_STEPS, dtype=np.float32)
    sigmoid = (np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)
    betas = sigmoid * np.float32(0.5e-2 - 1e-5) + np.float32(1e-5)
    abar = np.cumprod((np.float32(1) - betas).astype(np.float32), dtype=np.float32)
    return float(np.sqrt(abar[step])), float(np.sqrt(np.float32(1) - abar[step]))


def item_rng(seed: int, item_id: str, probe: str) -> np.random.Generator:
    """A generator for one item of one probe: the same (seed, item id) gives the same noise on every run,
    in every batch and under every sharding."""
    digest = hashlib.sha256(f"{probe}\0{seed}\0{item_id}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "little")))


def noised_image(image: Any, seed: int, item_id: str, step: int = NOISE_STEP):
    """The image at diffusion ``step``: ``x_t = sqrt(abar_t) x + sqrt(1 - abar_t) eps`` on ``x`` in [-1, 1]."""
    from PIL import Image

    a, b = diffusion_coefficients(step)
    x = np.asarray(image.convert("RGB"), dtype=np.float32) / np.float32(127.5) - np.float32(1)
    eps = item_rng(seed, item_id, IMAGE_NOISE).standard_normal(x.shape, dtype=np.float32)
    noisy = np.float32(a) * x + np.float32(b) * eps
    pixels = np.clip(np.rint((noisy + np.float32(1)) * np.float32(127.5)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def blank_image(image: Any):
    """An image of the same size filled with the image's mean colour (per channel, rounded)."""
    from PIL import Image

    rgb = image.convert("RGB")
    mean = np.asarray(rgb, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    return Image.new("RGB", rgb.size, tuple(int(v) for v in np.rint(mean)))


# ------------------------------------------------------------------------------------ the runner hook
@dataclass(frozen=True)
class Counterfactual:
    """One probe as the runner applies it to each batch (``RunConfig.counterfactual``).

    name:     one of :data:`PROBES`.
    seed:     the probe's seed (derangement, noise).
    donors:   context-swap: item id -> the id of the item whose context it gets.
    contexts: context-swap: item id -> context, for every evaluated item (the donors' texts).
    base:     the fingerprint of the run being probed; a probe of a changed model or split is refused.
    """

    name: str
    seed: int = 0
    donors: dict[str, str] | None = None
    contexts: dict[str, str] | None = None
    base: dict[str, Any] | None = None

    @classmethod
    def build(cls, name: str, items: Sequence[Item], seed: int = 0, base: dict[str, Any] | None = None
              ) -> Counterfactual:
        """The probe ``name`` over the evaluated ``items`` (split order)."""
        if name not in PROBES:
            raise AltbenchError(f"unknown probe {name!r}; choose from {', '.join(PROBES)}")
        if name != CONTEXT_SWAP:
            return cls(name, seed, base=base)
        perm = derangement(len(items), seed)
        donors = {it.id: items[perm[i]].id for i, it in enumerate(items)}
        return cls(name, seed, donors, {it.id: it.context for it in items}, base)

    def settings(self) -> dict[str, Any]:
        """What identifies the probe's output besides the probed run (hashed into the probe's run id)."""
        out: dict[str, Any] = {"name": self.name, "seed": self.seed}
        if self.name == IMAGE_NOISE:
            out.update(step=NOISE_STEP, schedule="sigmoid(-6,6)*(5e-3-1e-5)+1e-5", space="pixels[-1,1]")
        if self.donors is not None:
            out["donors_sha256"] = hashlib.sha256(
                "\n".join(f"{k}\t{v}" for k, v in self.donors.items()).encode()).hexdigest()
        return out

    def fingerprint(self, base: dict[str, Any]) -> dict[str, Any]:
        """The probe run's fingerprint: the probed run's, plus the probe's settings."""
        if self.base is not None:
            now = json.loads(json.dumps(base, sort_keys=True, default=str))  # as run.json stores it
            changed = sorted(k for k in set(now) | set(self.base) if now.get(k) != self.base.get(k))
            if changed:
                raise AltbenchError(f"the model or split differs from the probed run's (changed: "
                                    f"{', '.join(changed)}); re-run the run first, or probe a run of this model")
        return {**base, "probe": self.settings()}

    def apply(self, items: Sequence[Item], images: Sequence[Any] | None, image_dir: Path | None = None
              ) -> tuple[list[Item], list[Any] | None]:
        """The batch as the model sees it under this probe.

        ``images`` are the loaded PIL images (None for a model that takes none: image probes then change
        nothing it reads). With ``image_dir``, for adapters that read image files themselves (lmms-eval),
        probed images are also written there as PNG and the items point at them.
        """
        items = list(items)
        if self.name == CONTEXT_SWAP:
            assert self.donors is not None and self.contexts is not None
            return [with_context(it, self.contexts[self.donors[it.id]]) for it in items], images
        if self.name == CONTEXT_DROP:
            return [with_context(it, "") for it in items], images
        if images is None:
            return items, None
        if self.name == IMAGE_NOISE:
            probed = [noised_image(img, self.seed, it.id) for it, img in zip(items, images)]
        else:
            probed = [blank_image(img) for img in images]
        if image_dir is not None:
            items = [_written(it, img, image_dir) for it, img in zip(items, probed)]
        return items, probed


def _written(item: Item, image: Any, folder: Path) -> Item:
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(item.id.encode()).hexdigest()[:16] + ".png"
    image.save(folder / name)
    return replace(item, image=folder / name, image_root=folder)
