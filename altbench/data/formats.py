"""Readers for the reference work's file formats, at any size, keeping their quirks.

- test files: JSON Lines, one object a line: ``image_path``, ``question``, ``chosen``, ``idx``
  (Pinterest rows carry more fields, kept in ``Item.meta``);
- train files: one JSON array whose elements hold ``image_path``, ``idx`` and ``text``: a JSON *string*
  holding ``question``, ``chosen``, ``rejected`` (Pinterest elements repeat them at top level too; the
  nested ``text`` is what the reference code reads, so it wins).

Every malformed or non-UTF-8 line, missing field, duplicate id, image path leading out of the image
folder or empty file raises :class:`DataError` naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

from altbench.data.images import Resolver
from altbench.data.items import Item, context_of
from altbench.errors import DataError
from altbench.io import iter_objects

_REQUIRED = ("image_path", "question", "chosen", "idx")


def read_test_jsonl(path: Path, image_root: Path, platform: str) -> list[Item]:
    """Items of a reference-format test file (JSON Lines)."""
    items = []
    resolver = Resolver()
    for lineno, row in iter_objects(path):
        items.append(_item(row, image_root, platform, where=f"{path}:{lineno}", resolver=resolver))
    return _nonempty(_unique(items, path), path)


def read_train_json(path: Path, image_root: Path, platform: str) -> list[Item]:
    """Items (with ``rejected``) of a reference-format train file (one JSON array, nested ``text``)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")  # a UTF-8 BOM is accepted
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}:{lineno}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
                        ) from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty (expected a JSON array of training items)")
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON array of training items, got {type(rows).__name__}")
    items = []
    resolver = Resolver()
    for i, row in enumerate(rows):
        where = f"{path}: element {i}"
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected an object, got {type(row).__name__}")
        row = dict(row)
        if "text" in row:
            try:
                nested = json.loads(row["text"])
            except (TypeError, json.JSONDecodeError):
                raise DataError(f"{where}: field 'text' is not a JSON string with question/chosen") from None
            if not isinstance(nested, dict):
                raise DataError(f"{where}: field 'text' does not hold a JSON object")
            row.update(nested)
        items.append(_item(row, image_root, platform, where=where, resolver=resolver))
    return _nonempty(_unique(items, path), path)


def _item(row: dict, image_root: Path, platform: str, where: str, resolver: Resolver) -> Item:
    missing = [k for k in _REQUIRED if k not in row]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(missing)}")
    for key in ("image_path", "question", "chosen"):
        if not isinstance(row[key], str):
            raise DataError(f"{where}: field '{key}' must be a string, got {type(row[key]).__name__}")
    image = image_root / row["image_path"]
    # Checked for every item when the split loads, whatever the adapter (a text-only model never opens the
    # image): a path that is absolute elsewhere, climbs out with "..", or follows a link out of the image
    # folder is a fault of the split file, refused with the item named. A missing or corrupt image inside
    # the folder fails only its item, when it is loaded.
    if not resolver.inside(image_root, row["image_path"]):  # = resolve(image).is_relative_to(root folder)
        raise DataError(f"{where}: item {row['idx']!r}: image_path {row['image_path']!r} leads out of the split's "
                        f"image folder {image_root}")
    rejected = row.get("rejected")
    meta = {k: v for k, v in row.items() if k not in {*_REQUIRED, "rejected", "text"}}
    return Item(
        id=str(row["idx"]),
        image=image,
        image_root=image_root,
        question=row["question"],
        context=context_of(row["question"]),
        references=(row["chosen"],),
        platform=platform,
        rejected=rejected if isinstance(rejected, str) else None,
        meta=meta,
    )


def _nonempty(items: list[Item], path: Path) -> list[Item]:
    if not items:
        raise DataError(f"{path}: no items in it (the file is empty or holds only blank lines)")
    return items


def _unique(items: list[Item], path: Path) -> list[Item]:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DataError(f"{path}: duplicate idx {item.id!r}")
        seen.add(item.id)
    return items


def write_test_jsonl(items: list[Item], path: Path) -> None:
    """Write items in the reference test format (used for the embedded demo split and exports)."""
    with open(path, "w", encoding="utf-8") as fh:
        for item in items:
            row = {"image_path": item.image.name, "question": item.question, "chosen": item.chosen,
                   "idx": int(item.id) if item.id.isdigit() else item.id}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
