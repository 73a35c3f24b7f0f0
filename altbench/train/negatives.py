"""Negative images and contexts for MCM-DPO, built the way the reference code builds them.

- ``diffusion``: forward-diffusion noise at step ``t`` (700 of 1000) on the *normalised* pixel tensor, with the
  schedule ``betas = sigmoid(linspace(-6, 6, 1000)) * (5e-3 - 1e-5) + 1e-5`` and
  ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` (fresh noise each call);
- ``black``: a zero normalised tensor (the reference zeroes the processed pixels, i.e. the mean colour);
- ``crop``: a random crop of at most 320 x 240 pixels (then padded to square by the processor path);
- ``rotate``: a random rotation by 10-80 degrees;
- ``random``: another training item's image.

The negative context of item ``i`` is the whole question of another item drawn with ``random.Random(i)``.
"""

from __future__ import annotations

import random
from typing import Any

NUM_DIFFUSION_STEPS = 1000
TENSOR_KINDS = ("diffusion", "black")  # applied to the processed pixel tensor
IMAGE_KINDS = ("crop", "rotate", "random")  # applied to the PIL image before processing


def diffusion_coefficients(step: int):
    """``(sqrt(abar_t), sqrt(1 - abar_t))`` of the reference schedule at ``step`` (0-based, < 1000)."""
    import torch

    betas = torch.sigmoid(torch.linspace(-6, 6, NUM_DIFFUSION_STEPS)) * (0.5e-2 - 1e-5) + 1e-5
    abar = torch.cumprod(1 - betas, dim=0)
    return torch.sqrt(abar[step]).item(), torch.sqrt(1 - abar[step]).item()


def diffusion_noise(pixels, step: int = 700, generator=None):
    """Noised copy of a normalised pixel tensor at diffusion ``step`` (fresh Gaussian noise)."""
    import torch

    a, b = diffusion_coefficients(step)
    eps = torch.randn(pixels.shape, generator=generator, dtype=torch.float32, device="cpu").to(pixels)
    return a * pixels + b * eps


def negative_pixels(pixels, kind: str, step: int = 700, generator=None):
    """The tensor-level negatives (``diffusion``, ``black``) of a normalised pixel tensor."""
    import torch

    if kind == "diffusion":
        return diffusion_noise(pixels, step, generator)
    if kind == "black":
        return torch.zeros_like(pixels)
    raise ValueError(f"{kind!r} is not a tensor-level negative")


def negative_image(image: Any, kind: str, rng: random.Random, other: Any = None):
    """The PIL-level negatives (``crop``, ``rotate``, ``random``) of ``image``, drawn from ``rng``."""
    if kind == "rotate":
        angle = rng.uniform(10, 80)
        return image.rotate(angle, expand=False)
    if kind == "crop":
        width, height = image.size
        cw, ch = min(width, 240), min(height, 320)  # the reference crops (min(h,320), min(w,240)) in PIL order
        cw, ch = min(cw, width), min(ch, height)
        if cw == width and ch == height:  # small image: crop half of it so the negative differs
            cw, ch = max(1, width // 2), max(1, height // 2)
        left, top = rng.randint(0, width - cw), rng.randint(0, height - ch)
        return image.crop((left, top, left + cw, top + ch))
    if kind == "random":
        if other is None:
            raise ValueError("the 'random' negative needs another item's image")
        return other
    raise ValueError(f"{kind!r} is not an image-level negative")


def other_index(i: int, n: int) -> int:
    """Index of another item (!= i) drawn with ``random.Random(i)``, as the reference seeds it per item."""
    if n < 2:
        raise ValueError("negative contexts need at least two training items")
    rng = random.Random(i)
    while True:
        j = rng.randrange(n)
        if j != i:
            return j
