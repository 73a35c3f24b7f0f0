"""The embedded demo split: synthetic images with post-like contexts, generated offline and deterministically.

Three kinds of image, each with a context a person might post and a reference alt-text that a model can
learn from pixels: coloured shapes on coloured backgrounds ("a red circle on a blue background": colour and
background are learnable by a tiny VLM in a few hundred SFT steps, shape less so), bar charts and text cards.
Contexts mention the image's content only sometimes, so a context-copying baseline is not enough.

Images are written once into a cache folder (PNG, no compression and the bitmap font, so the bytes and the
split hash do not depend on zlib or FreeType versions).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

from altbench.data.formats import read_test_jsonl, read_train_json
from altbench.data.items import Item

DEMO_VERSION = 1
TEST_SIZE = 48
TRAIN_SIZE = 640
IMAGE_SIZE = 96
INSTRUCTION = "Given an image and context, generate alt-text for the image.\nContext:\n"

COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (240, 210, 40),
    "orange": (245, 140, 30), "purple": (140, 60, 180), "white": (250, 250, 250), "black": (15, 15, 15),
}
SHAPES = ("circle", "square", "triangle", "diamond")
PHRASES = ("be kind", "stay home", "good vibes", "thank you", "vote today", "drink water", "hello world",
           "sale now on", "open late", "we are hiring")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun")

SHAPE_CONTEXTS = (
    "just finished a new logo for my shop, thoughts?",
    "my kid made this at school today and i love it",
    "minimal art print, available in the store now",
    "new sticker design dropping friday!",
    "trying out a {colour} {shape} for the club badge",
    "wallpaper of the day. {bg} is my colour this week",
    "which one should be the app icon? this is option {n}",
    "made this in five minutes and i am weirdly proud",
)
CHART_CONTEXTS = (
    "our numbers for the first half of the year. {top} was wild",
    "quarterly update for the team, see chart",
    "steps per month since i started walking",
    "newsletter signups are finally growing",
)
CARD_CONTEXTS = (
    "a little reminder for everyone today",
    "printing these for the shop window",
    "new poster for the community board",
    "this is the whole message. {phrase}.",
)


def demo_root(cache_dir: Path) -> Path:
    """Folder holding the generated demo split (created on first use)."""
    root = cache_dir / f"demo-v{DEMO_VERSION}"
    if not (root / "COMPLETE").exists():
        _generate(root)
    return root


def load_demo(cache_dir: Path, train: bool = False) -> list[Item]:
    root = demo_root(cache_dir)
    name = "demo_train" if train else "demo_test"
    if train:
        return read_train_json(root / f"{name}.json", root / "image" / name, "demo")
    return read_test_jsonl(root / f"{name}.jsonl", root / "image" / name, "demo")


def _generate(root: Path) -> None:
    # Build in a temporary sibling and rename: a killed generation never leaves a half-made split.
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=root.parent))
    try:
        test = [_make_row(random.Random(f"demo-test-{i}"), i) for i in range(TEST_SIZE)]
        train = [_make_row(random.Random(f"demo-train-{i}"), 10_000 + i) for i in range(TRAIN_SIZE)]
        for name, rows in (("demo_test", test), ("demo_train", train)):
            (tmp / "image" / name).mkdir(parents=True)
            for row in rows:
                row.pop("_image").save(tmp / "image" / name / row["image_path"], compress_level=0)
        with open(tmp / "demo_test.jsonl", "w", encoding="utf-8") as fh:
            for row in test:
                fh.write(json.dumps({k: row[k] for k in ("image_path", "question", "chosen", "idx")}) + "\n")
        train_rows = [
            {"image_path": r["image_path"], "idx": r["idx"], "ds_name": "demo",
             "text": json.dumps({"question": r["question"], "chosen": r["chosen"], "rejected": r["rejected"]})}
            for r in train
        ]
        (tmp / "demo_train.json").write_text(json.dumps(train_rows, indent=1), encoding="utf-8")
        (tmp / "COMPLETE").write_text(f"demo v{DEMO_VERSION}\n")
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _make_row(rng: random.Random, idx: int) -> dict:
    kind = rng.choices(("shape", "chart", "card"), weights=(6, 2, 2))[0]
    image, context, chosen, rejected = {"shape": _shape, "chart": _chart, "card": _card}[kind](rng)
    return {"image_path": f"demo_{idx:05d}.png", "question": INSTRUCTION + context, "chosen": chosen,
            "rejected": rejected, "idx": idx, "_image": image}


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _two_colours(rng: random.Random) -> tuple[str, str]:
    fg, bg = rng.sample(sorted(COLOURS), 2)
    return fg, bg


def _canvas(bg: str):
    from PIL import Image

    return Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), COLOURS[bg])


def _shape(rng: random.Random):
    from PIL import ImageDraw

    colour, bg = _two_colours(rng)
    shape = rng.choice(SHAPES)
    img = _canvas(bg)
    draw = ImageDraw.Draw(img)
    size = rng.randint(IMAGE_SIZE // 3, IMAGE_SIZE // 2)
    cx = rng.randint(size // 2 + 4, IMAGE_SIZE - size // 2 - 4)
    cy = rng.randint(size // 2 + 4, IMAGE_SIZE - size // 2 - 4)
    h = size // 2
    fill = COLOURS[colour]
    if shape == "circle":
        draw.ellipse((cx - h, cy - h, cx + h, cy + h), fill=fill)
    elif shape == "square":
        draw.rectangle((cx - h, cy - h, cx + h, cy + h), fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - h), (cx - h, cy + h), (cx + h, cy + h)], fill=fill)
    else:
        draw.polygon([(cx, cy - h), (cx + h, cy), (cx, cy + h), (cx - h, cy)], fill=fill)
    context = rng.choice(SHAPE_CONTEXTS).format(colour=colour, shape=shape, bg=bg, n=rng.randint(1, 4))
    return img, context, f"{_a(colour)} {colour} {shape} on {_a(bg)} {bg} background", f"a simple {shape} graphic"


def _chart(rng: random.Random):
    from PIL import ImageDraw

    colour, bg = _two_colours(rng)
    n = rng.randint(3, 6)
    heights = [rng.randint(10, IMAGE_SIZE - 16) for _ in range(n)]
    img = _canvas(bg)
    draw = ImageDraw.Draw(img)
    width = (IMAGE_SIZE - 8) // n
    for i, h in enumerate(heights):
        x0 = 4 + i * width
        draw.rectangle((x0 + 2, IMAGE_SIZE - 4 - h, x0 + width - 2, IMAGE_SIZE - 4), fill=COLOURS[colour])
    top = MONTHS[heights.index(max(heights))]
    context = rng.choice(CHART_CONTEXTS).format(top=top)
    chosen = f"bar chart with {n} {colour} bars on {bg}, the tallest is {top}"
    return img, context, chosen, "a chart"


def _card(rng: random.Random):
    from PIL import ImageDraw, ImageFont

    colour, bg = _two_colours(rng)
    phrase = rng.choice(PHRASES)
    img = _canvas(bg)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default_imagefont()  # bitmap font: identical pixels on every Pillow build
    draw.text((6, IMAGE_SIZE // 2 - 6), phrase, fill=COLOURS[colour], font=font)
    context = rng.choice(CARD_CONTEXTS).format(phrase=phrase)
    chosen = f'text card reading "{phrase}" in {colour} on {bg}'
    return img, context, chosen, "a sign with some text"
