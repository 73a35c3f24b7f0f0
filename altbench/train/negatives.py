"""Negative images and contexts for MCM-DPO and mDPO, built the way the reference codes build them.

- ``diffusion``: forward-diffusion noise at step ``t`` (700 of 1000) on the *normalised* pixel tensor, with the
  schedule ``betas = sigmoid(linspace(-6, 6, 1000)) * (5e-3 - 1e-5) + 1e-5`` and
  ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` (fresh noise each call);
- ``black``: a zero normalised tensor (the reference zeroes the processed pixels, i.e. the mean colour);
- ``crop``: a random crop of at most 320 x 240 pixels (then padded to square by the processor path);
- ``rotate``: a random rotation by 10-80 degrees;
- ``random``: another training item's image;
- ``resized_crop`` (mDPO's corruption): a random crop keeping 1-20% of the area (aspect ratio 3/4..4/3) of the
  *normalised* pixel tensor, resized back to its size (bilinear), as the mDPO reference's ``crop_images``
  (torchvision ``v2.RandomResizedCrop(size, scale=(0.01, 0.2))`` on the processed tensor).

The negative context of item ``i`` is the whole question of another item drawn with ``random.Random(i)``.
"""

from __future__ import annotations

import random
from typing import Any

NUM_DIFFUSION_STEPS = 1000
TENSOR_KINDS = ("diffusion", "black", "resized_crop")  # applied to the processed pixel tensor
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


# mDPO reference (luka-group/mDPO, bunny/modeling_bunny_phi.py, mDPOBunnyPhiForCausalLM.crop_images):
# v2.RandomResizedCrop(size=image.size()[-2:], scale=(0.01, 0.2)), torchvision's default ratio (3/4, 4/3).
RESIZED_CROP_SCALE = (0.01, 0.2)
RESIZED_CROP_RATIO = (3 / 4, 4 / 3)


def resized_crop_box(height: int, width: int, scale=RESIZED_CROP_SCALE, ratio=RESIZED_CROP_RATIO,
                     generator=None) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` of a random crop as torchvision's ``RandomResizedCrop.get_params`` draws it: up to 10
    tries of an area fraction in ``scale`` and a log-uniform aspect ratio in ``ratio``, else a central crop
    (reimplemented: torchvision does not import beside a CPU-only torch here)."""
    import math

    import torch

    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1], generator=generator).item()
        aspect = math.exp(torch.empty(1).uniform_(log_lo, log_hi, generator=generator).item())
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,), generator=generator).item())
            left = int(torch.randint(0, width - w + 1, (1,), generator=generator).item())
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        h, w = height, round(height * max(ratio))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def resized_crop(pixels, scale=RESIZED_CROP_SCALE, generator=None):
    """mDPO's corrupted image: a random crop of a ``(C, H, W)`` pixel tensor resized back to ``H x W``
    (bilinear, antialiased, as torchvision's tensor resize)."""
    import torch.nn.functional as F

    height, width = pixels.shape[-2:]
    top, left, h, w = resized_crop_box(height, width, scale, generator=generator)
    crop = pixels[..., top:top + h, left:left + w].float().unsqueeze(0)
    out = F.interpolate(crop, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return out[0].to(pixels.dtype)


def negative_pixels(pixels, kind: str, step: int = 700, generator=None):
    """The tensor-level negatives (``diffusion``, ``black``, ``resized_crop``) of a normalised pixel tensor."""
    import torch

    if kind == "diffusion":
        return diffusion_noise(pixels, step, generator)
    if kind == "black":
        return torch.zeros_like(pixels)
    if kind == "resized_crop":
        return resized_crop(pixels, generator=generator)
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
