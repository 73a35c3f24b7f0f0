"""Lazy, safe image loading: an unreadable image fails its item, never the run."""

from __future__ import annotations

from pathlib import Path

from altbench.data.items import Item


class ImageLoadError(Exception):
    """An item's image is missing, corrupt, unreadable or outside its split's image root.

    Not an :class:`~altbench.errors.AltbenchError`: the run records it as that item's failure and goes on.
    """


def image_path(item: Item) -> Path:
    """The item's image path, checked to lie inside its split's image root."""
    root = item.image_root.resolve()
    path = item.image.resolve()
    if not path.is_relative_to(root):
        raise ImageLoadError(f"image path {item.image} escapes the split's image root {item.image_root}")
    return path


def load_image(item: Item, mode: str = "RGB"):
    """The item's image as a fully decoded PIL image in ``mode``."""
    from PIL import Image, UnidentifiedImageError

    path = image_path(item)
    if path.is_dir():
        raise ImageLoadError(f"image path is a folder, not an image: {item.image}")
    try:
        with Image.open(path) as img:
            img.load()
            return img.convert(mode)
    except FileNotFoundError:
        raise ImageLoadError(f"image not found: {item.image}") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"not a readable image: {item.image}") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageLoadError(f"cannot decode image {item.image}: {exc}") from None


def image_bytes(item: Item) -> bytes | None:
    """Raw bytes of the image for hashing the split; None when missing or escaping (hashed as absent)."""
    try:
        return image_path(item).read_bytes()
    except (ImageLoadError, OSError):
        return None
