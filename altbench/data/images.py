"""Lazy, safe image loading: an unreadable image fails its item, never the run."""

from __future__ import annotations

import os
from pathlib import Path

from altbench.data.items import Item


class ImageLoadError(Exception):
    """An item's image is missing, corrupt, unreadable or outside its split's image root.

    Not an :class:`~altbench.errors.AltbenchError`: the run records it as that item's failure and goes on.
    """


class Resolver:
    """``Path.resolve()`` for many files in few folders, each folder resolved once per resolver.

    ``realpath(folder/name) == realpath(folder)/name`` whenever ``name`` itself is not a link (nor ``.`` or
    ``..``), so only the last component needs an ``lstat`` per file; a link is resolved in full. Folders are
    remembered only for the life of one resolver (one split load, one hashing pass), so a folder that later
    becomes a link is never trusted from an old answer. Keys include the working directory for relative
    paths. 20,000 items: about 3 s of ``resolve()`` calls become a few tenths.
    """

    def __init__(self) -> None:
        self._folders: dict[tuple[str, str], Path] = {}

    def folder(self, path: Path) -> Path:
        key = (str(path), "" if path.is_absolute() else os.getcwd())
        real = self._folders.get(key)
        if real is None:
            real = self._folders[key] = path.resolve()
        return real

    def inside(self, root: Path, name: str) -> bool:
        """``self.resolve(root / name).is_relative_to(self.folder(root))``, without Path objects when
        ``name`` is a plain file name (no separator, not ``.``/``..``) that is not a link: then the resolved
        path is ``realpath(root)/name``, inside by construction. 20,000 items: ~0.15 s less of loading."""
        if name in ("", ".", "..") or os.sep in name or (os.altsep and os.altsep in name):
            return self.resolve(root / name).is_relative_to(self.folder(root))
        real = self.folder(root)
        if not os.path.islink(os.path.join(real, name)):
            return True
        return (real / name).resolve().is_relative_to(real)

    def resolve(self, path: Path) -> Path:
        if path.name in ("", ".", ".."):
            return path.resolve()
        real = self.folder(path.parent) / path.name
        return real.resolve() if real.is_symlink() else real


def image_path(item: Item, resolver: Resolver | None = None) -> Path:
    """The item's image path, checked to lie inside its split's image root."""
    resolver = resolver or Resolver()
    root = resolver.folder(item.image_root)
    path = resolver.resolve(item.image)
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


def image_bytes(item: Item, resolver: Resolver | None = None) -> bytes | None:
    """Raw bytes of the image for hashing the split; None when missing or escaping (hashed as absent)."""
    resolver = resolver or Resolver()
    name = item.image.name
    folder = str(item.image_root)
    if str(item.image) == os.path.join(folder, name) and name not in ("", ".", ".."):
        # the split readers' case, image = image_root / plain name: Resolver.inside, then the file itself
        # (the same file as the resolved path when it is not a link), without Path objects
        if not resolver.inside(item.image_root, name):
            return None
        try:
            with open(os.path.join(resolver.folder(item.image_root), name), "rb") as fh:
                return fh.read()
        except OSError:
            return None
    try:
        return image_path(item, resolver).read_bytes()
    except (ImageLoadError, OSError):
        return None
