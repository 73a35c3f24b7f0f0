"""Small inlined thumbnails: the split's images downscaled to ``data:`` URLs (never the original files)."""

from __future__ import annotations

import io

from altbench.data.images import ImageLoadError, load_image
from altbench.data.items import Item
from altbench.publish.html import data_url

THUMB_PX = 96
JPEG_QUALITY = 70


class Thumbnails:
    """Thumbnails by item id, made once per split and shared by its pages (None: no readable image)."""

    def __init__(self, size: int = THUMB_PX, enabled: bool = True) -> None:
        self.size = size
        self.enabled = enabled
        self._cache: dict[tuple[str, str], str | None] = {}

    def get(self, item: Item | None) -> str | None:
        if item is None or not self.enabled:
            return None
        key = (str(item.image_root), item.id)
        if key not in self._cache:
            self._cache[key] = thumbnail(item, self.size)
        return self._cache[key]


def thumbnail(item: Item, size: int = THUMB_PX) -> str | None:
    try:
        img = load_image(item)
    except ImageLoadError:
        return None
    from PIL import Image

    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=False)
    best = ("image/jpeg", buf.getvalue())
    png = _palette_png(img)
    if png is not None and len(png) < len(best[1]):
        best = ("image/png", png)
    return data_url(*best)


def _palette_png(img) -> bytes | None:
    """A lossless palette PNG when the thumbnail has at most 256 colours (drawings, charts, text cards)."""
    from PIL import Image

    colours = img.getcolors(256)
    if colours is None:
        return None
    pal = img.quantize(colors=len(colours), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    if pal.convert("RGB").tobytes() != img.tobytes():
        return None
    buf = io.BytesIO()
    pal.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
