"""Hugging Face datasets and Parquet files as splits, mapped to the same :class:`Item` s as the JSON formats.

Sources (:func:`parse` recognises them; ``load_split`` turns the items into a split):

- ``path/to/file.parquet``: rows in the reference test format (``idx``, ``question``, ``chosen``; train rows
  also ``rejected``) whose image is a column ``image`` holding ``{"bytes": ..., "path": ...}`` (what
  ``datasets`` writes for an ``Image`` feature), raw bytes (also a flattened ``image.bytes`` column), or an
  ``image_path`` relative to ``--images``;
- a folder written by ``datasets``' ``save_to_disk`` (a ``Dataset``, or a ``DatasetDict`` as ``FOLDER:SPLIT``,
  default split ``test`` or the only one);
- ``hf:ORG/NAME[:SPLIT]``: a dataset on the Hugging Face hub (``datasets.load_dataset``; online only).

Other alt-text data sets map their columns with a query suffix, ``SOURCE?FIELD=COLUMN&...`` (fields:
``idx``, ``image``, ``image_path``, ``question``, ``context``, ``chosen``, ``rejected``). Without a
``question`` column the reference instruction is put before the ``context`` column, so models are prompted
as on TAlt/PAlt; ``chosen`` may hold one reference or a list of them.

Image bytes are written once to a content-addressed cache (``<cache>/hf-images/<sha256>``), so the item's
image is a file like any other: :func:`altbench.data.images.load_image` applies the same rules (a corrupt
image or a decompression bomb fails that item with its reason), and the split hash, which reads the image
files, covers the bytes (a Parquet copy of a split hashes as the original).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from altbench.data.demo import INSTRUCTION
from altbench.data.items import Item, context_of
from altbench.errors import DataError
from altbench.extras import require

HUB_PREFIX = "hf:"
FIELDS = ("idx", "image", "image_path", "question", "context", "chosen", "rejected")
# column names tried for each field when the spec does not map it
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "idx": ("idx", "id"), "image": ("image", "image.bytes"), "image_path": ("image_path",), "question": ("question",),
    "context": ("context",), "chosen": ("chosen", "references"), "rejected": ("rejected",),
}
IMAGE_CACHE = "hf-images"
_BATCH = 256


@dataclass(frozen=True)
class HFSource:
    """A parsed split spec. kind: ``parquet`` | ``disk`` | ``hub``; location: file, folder or hub id."""

    kind: str
    location: str
    split: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """The canonical spec (absolute paths): what the split's ``source`` records, and reloads from."""
        base = HUB_PREFIX + self.location if self.kind == "hub" else self.location
        if self.split is not None:
            base += f":{self.split}"
        if self.columns:
            base += "?" + "&".join(f"{k}={v}" for k, v in self.columns.items())
        return base

    @property
    def name(self) -> str:
        if self.kind == "hub":
            return self.spec.partition("?")[0]
        return Path(self.location).name + (f":{self.split}" if self.split else "")


def is_datasets_folder(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())


def parse(name: str) -> HFSource | None:
    """The source ``name`` names, or None when it is not a Parquet file, datasets folder or hub id."""
    base, _, query = name.partition("?")
    if base.startswith(HUB_PREFIX):
        repo, _, split = base[len(HUB_PREFIX):].partition(":")
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise DataError(f"split {name!r}: expected hf:ORG/NAME[:SPLIT]")
        return HFSource("hub", repo, split or "test", _columns(query, name))
    path = Path(base)
    if path.suffix.lower() == ".parquet":
        return HFSource("parquet", str(path.absolute()), None, _columns(query, name))
    folder, sep, split = base.rpartition(":")
    if sep and is_datasets_folder(Path(folder)):
        return HFSource("disk", str(Path(folder).absolute()), split, _columns(query, name))
    if is_datasets_folder(path):
        return HFSource("disk", str(path.absolute()), None, _columns(query, name))
    return None


def _columns(query: str, name: str) -> dict[str, str]:
    pairs = parse_qsl(query, keep_blank_values=True) if query else []
    out: dict[str, str] = {}
    for key, value in pairs:
        if key not in FIELDS:
            raise DataError(f"split {name!r}: unknown field {key!r} in the column mapping (fields: {', '.join(FIELDS)})")
        if not value:
            raise DataError(f"split {name!r}: field {key!r} maps to no column")
        out[key] = value
    return out


def read_items(source: HFSource, images: Path | None, cache: Path) -> tuple[list[Item], str]:
    """(items in row order, part: ``train`` when every row has a ``rejected`` alt-text, else ``test``)."""
    if source.kind == "parquet":
        rows, root = _parquet_rows(Path(source.location)), Path(source.location).parent
    else:
        rows, root = _datasets_rows(source), Path(source.location) if source.kind == "disk" else None
    image_root = images or root
    items: list[Item] = []
    seen: set[str] = set()
    columns: dict[str, str] | None = None
    for n, row in enumerate(rows):
        if columns is None:
            columns = _resolve_columns(source, list(row))
        item = _item(row, columns, source, n, image_root, cache)
        if item.id in seen:
            raise DataError(f"{source.spec}: row {n}: duplicate idx {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise DataError(f"{source.spec}: no rows in it")
    part = "train" if all(it.rejected for it in items) else "test"
    return items, part


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    require("frames", "pyarrow", what=f"the Parquet split {path}")
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DataError(f"split file {path} not found")
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError; unreadable files are OSErrors
        raise DataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    for batch in parquet.iter_batches(batch_size=_BATCH):
        yield from batch.to_pylist()


def _datasets_rows(source: HFSource) -> Iterator[dict[str, Any]]:
    require("train", "datasets", what=f"the split {source.spec}")
    import datasets
    import datasets.exceptions

    if source.kind == "disk":
        try:
            ds = datasets.load_from_disk(source.location)
        except (OSError, ValueError, datasets.exceptions.DatasetsError) as exc:
            raise DataError(f"{source.location}: not a readable datasets folder ({str(exc).splitlines()[0]})") from None
        if isinstance(ds, datasets.DatasetDict):
            ds = _pick(ds, source)
    else:
        unreachable = _hub_unreachable()
        if unreachable:
            raise DataError(f"{source.spec}: the Hugging Face hub is not reachable ({unreachable}); offline, save "
                            "the dataset with save_to_disk or as Parquet on a connected machine and pass that path "
                            "(or set HF_HUB_OFFLINE=1 to read it from the local datasets cache)")
        try:
            ds = datasets.load_dataset(source.location, split=source.split)
        except (OSError, ValueError, datasets.exceptions.DatasetsError) as exc:  # offline: ConnectionError
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"{source.spec}: cannot load from the Hugging Face hub ({first}); offline, save it "
                            "with save_to_disk or as Parquet on a connected machine and pass that path") from None
    for column, feature in ds.features.items():
        if isinstance(feature, datasets.Image):  # the raw {bytes, path}: decoded later, under our rules
            ds = ds.cast_column(column, datasets.Image(decode=False))
    for start in range(0, len(ds), _BATCH):
        batch = ds[start : start + _BATCH]
        keys = list(batch)
        yield from (dict(zip(keys, values)) for values in zip(*(batch[k] for k in keys)))


def _hub_unreachable() -> str | None:
    """Why the hub cannot be reached, found in milliseconds (None: reachable, or offline mode is on and the
    local cache is what ``datasets`` reads). Without this, ``load_dataset`` retries for half a minute and
    prints a warning per retry before failing."""
    import socket
    from urllib.parse import urlparse

    if any(os.environ.get(v, "").lower() in {"1", "true", "yes", "on"}
           for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")):
        return None
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError as exc:
        return f"cannot resolve {host}: {exc.strerror or exc}"
    return None


def _pick(dd: Any, source: HFSource) -> Any:
    names = list(dd)
    split = source.split or ("test" if "test" in dd else names[0] if len(names) == 1 else None)
    if split not in dd:
        raise DataError(f"{source.location}: no split {split!r} in this DatasetDict (has: {', '.join(names)}); "
                        f"name one as {source.location}:SPLIT")
    return dd[split]


def _resolve_columns(source: HFSource, present: list[str]) -> dict[str, str]:
    """Field -> column for this source; the mapped columns must exist, defaults are taken when present."""
    missing = [c for c in source.columns.values() if c not in present]
    if missing:
        raise DataError(f"{source.spec}: no column {missing[0]!r} (columns: {', '.join(present)})")
    out = dict(source.columns)
    for fname, candidates in DEFAULT_COLUMNS.items():
        if fname not in out:
            found = next((c for c in candidates if c in present), None)
            if found is not None:
                out[fname] = found
    need = [f for f in ("idx", "chosen") if f not in out]
    if "question" not in out and "context" not in out:
        need.append("question (or context)")
    if need:
        raise DataError(f"{source.spec}: no column for {', '.join(need)} (columns: {', '.join(present)}); "
                        "map them with ?FIELD=COLUMN")
    return out


def _item(row: dict[str, Any], columns: dict[str, str], source: HFSource, n: int, image_root: Path | None,
          cache: Path) -> Item:
    where = f"{source.spec}: row {n}"
    idx = row.get(columns["idx"])
    if idx is None or isinstance(idx, (bytes, dict, list)):
        raise DataError(f"{where}: field {columns['idx']!r} (idx) must be a string or a number")
    item_id = str(idx)
    if "question" in columns:
        question = _text(row, columns["question"], where)
        context = _text(row, columns["context"], where) if "context" in columns else context_of(question)
    else:
        context = _text(row, columns["context"], where)
        question = INSTRUCTION + context
    chosen = row.get(columns["chosen"])
    references = (chosen,) if isinstance(chosen, str) else tuple(chosen) if isinstance(chosen, (list, tuple)) else ()
    if not references or not all(isinstance(r, str) for r in references):
        raise DataError(f"{where}: field {columns['chosen']!r} (chosen) must be a string or a non-empty list of strings")
    rejected = row.get(columns["rejected"]) if "rejected" in columns else None
    image, root = _image(row, columns, item_id, image_root, cache, where)
    used = set(columns.values())
    meta = {k: v for k, v in row.items() if k not in used and isinstance(v, (str, int, float, bool))}
    return Item(id=item_id, image=image, image_root=root, question=question, context=context,
                references=references, platform=source.name, rejected=rejected if isinstance(rejected, str) else None,
                meta=meta)


def _text(row: dict[str, Any], column: str, where: str) -> str:
    value = row.get(column)
    if not isinstance(value, str):
        raise DataError(f"{where}: field {column!r} must be a string, got {type(value).__name__}")
    return value


def _image(row: dict[str, Any], columns: dict[str, str], item_id: str, image_root: Path | None, cache: Path,
           where: str) -> tuple[Path, Path]:
    """(image file, its root): bytes go to the content-addressed cache, a path is taken under ``image_root``.

    A row with no image gets a path that does not exist, so the item fails with "image not found".
    """
    value = row.get(columns["image"]) if "image" in columns else None
    data: bytes | None = None
    rel: str | None = None
    if isinstance(value, dict):
        data, rel = value.get("bytes"), value.get("path")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, str):
        rel = value
    elif value is not None:
        raise DataError(f"{where}: field {columns['image']!r} (image) must hold bytes, a path or {{bytes, path}}")
    if data:
        return store_bytes(bytes(data), cache), cache / IMAGE_CACHE
    if rel is None and "image_path" in columns:
        rel = row.get(columns["image_path"])
    root = image_root or cache / IMAGE_CACHE
    if not isinstance(rel, str) or not rel:
        return root / f"<no image in row for item {item_id}>", root
    image = root / rel
    # as for the JSON formats: a path leading out of the image folder is a fault of the data, refused at load
    if not image.resolve().is_relative_to(root.resolve()):
        raise DataError(f"{where}: item {item_id!r}: image path {rel!r} leads out of the split's image folder {root}")
    return image, root


def store_bytes(data: bytes, cache: Path) -> Path:
    """Write ``data`` once under ``cache/hf-images/<sha256>`` (atomically); returns the file."""
    digest = hashlib.sha256(data).hexdigest()
    path = cache / IMAGE_CACHE / digest[:2] / digest
    if path.is_file() and path.stat().st_size == len(data):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
