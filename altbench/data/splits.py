"""Named splits and custom split files, resolved to a :class:`Split` of typed items.

- ``demo`` / ``demo-train``: embedded, generated offline (:mod:`altbench.data.demo`);
- ``talt-sample`` / ``palt-sample`` (+ ``-train``): the released sample, under ``--data-root`` /
  ``ALTBENCH_DATA``, else the cache (downloaded at a pinned commit when online);
- ``talt-test`` / ``palt-test`` / ``talt-train`` / ``palt-train``: the full data in the same layout, from
  ``--data-root`` / ``ALTBENCH_FULL_DATA``;
- any ``path/to/file.jsonl`` (test format) or ``.json`` (train format) with ``--images DIR``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from altbench.data import demo, hf_splits, sample_download
from altbench.data.formats import read_test_jsonl, read_train_json
from altbench.data.images import Resolver, image_bytes
from altbench.data.items import Item
from altbench.data.location import DataLocation, absolute
from altbench.errors import DataError

PLATFORMS = {"talt": "twitter", "palt": "pinterest"}


@dataclass(frozen=True)
class SplitSpec:
    name: str
    source: str  # "embedded" | "sample" | "full"
    part: str  # "test" | "train"
    platform: str  # twitter | pinterest | demo
    description: str


SPLITS: dict[str, SplitSpec] = {
    "demo": SplitSpec("demo", "embedded", "test", "demo", "synthetic shapes, charts and text cards"),
    "demo-train": SplitSpec("demo-train", "embedded", "train", "demo", "synthetic preference pairs"),
}
for _short, _platform in PLATFORMS.items():
    for _part in ("test", "train"):
        _suffix = "" if _part == "test" else "-train"
        SPLITS[f"{_short}-sample{_suffix}"] = SplitSpec(
            f"{_short}-sample{_suffix}", "sample", _part, _platform, f"released {_platform} {_part} sample")
        SPLITS[f"{_short}-{_part}"] = SplitSpec(
            f"{_short}-{_part}", "full", _part, _platform, f"full {_platform} {_part} data (user-provided)")


@dataclass(frozen=True)
class Split:
    """A resolved split: its items in file order, and where they came from.

    source:   what the results record as the split's origin (file as given, ``embedded demo v1``, a spec).
    location: the data root, split file and image folder it was read from, as absolute paths (None for the
              embedded and in-memory splits): recorded with runs so later commands find the data again.
    """

    name: str
    items: tuple[Item, ...]
    source: str
    part: str
    location: DataLocation | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.items)

    def sha256(self) -> str:
        """Hash over every item's id, texts and image bytes (a missing image hashes as absent)."""
        return self._sha256

    @cached_property
    def empty_reference_ids(self) -> frozenset[str]:
        """Items whose every reference is empty or blank. The reference scorer (get_score.py) scores them,
        0 on every overlap metric, and the paper convention must stay equal to it: so they are scored, and
        counted and named in the results (``counts.empty_reference``), never refused or dropped silently."""
        return frozenset(item.id for item in self.items if not any(ref.strip() for ref in item.references))

    @cached_property
    def _sha256(self) -> str:
        # computed once per loaded split: the run id, the run header and the scoring all ask for it, and
        # each computation reads every image
        h = hashlib.sha256()
        resolver = Resolver()
        for item in self.items:
            for text in (item.id, item.question, *item.references, item.rejected or ""):
                h.update(text.encode("utf-8"))
                h.update(b"\0")
            data = image_bytes(item, resolver)
            h.update(hashlib.sha256(data).digest() if data is not None else b"<missing>")
        return h.hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("ALTBENCH_CACHE", Path.home() / ".cache" / "altbench"))


def load_split(name: str, data_root: Path | None = None, images: Path | None = None) -> Split:
    """Resolve a split name or file path to a :class:`Split`; raises :class:`DataError` with a fix."""
    spec = SPLITS.get(name)
    if spec is None:
        hf = hf_splits.parse(name)  # Parquet, a datasets folder, hf:ORG/NAME (docs/api.md)
        if hf is not None:
            items, part = hf_splits.read_items(hf, images, cache_dir())
            return Split(hf.name, tuple(items), hf.spec, part, DataLocation(images=absolute(images)) if images else None)
        path = Path(name)
        if path.suffix in {".jsonl", ".json"} or path.exists():
            return _custom_split(path, images)
        close = difflib.get_close_matches(name, SPLITS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known splits: {', '.join(SPLITS)}"
        raise DataError(f"unknown split {name!r} (not a known name nor an existing file){hint}")
    if spec.source == "embedded":
        items = demo.load_demo(cache_dir(), train=spec.part == "train")
        return Split(name, tuple(items), f"embedded demo v{demo.DEMO_VERSION}", spec.part)
    root = _root_for(spec, data_root)
    return _reference_split(spec, root)


def _root_for(spec: SplitSpec, data_root: Path | None) -> Path:
    if spec.source == "sample":
        root = data_root or _env_path("ALTBENCH_DATA") or cache_dir() / "mcmdpo-sample"
        if not sample_download.is_complete(root, spec.platform, spec.part):
            index = root / spec.platform / f"{spec.platform}_{spec.part}.json"
            if data_root or _env_path("ALTBENCH_DATA"):
                if not index.is_file():
                    # the folder came from an option or $ALTBENCH_DATA: name the file, not one command's option
                    given = "" if data_root else " (the folder $ALTBENCH_DATA names)"
                    raise DataError(f"split {spec.name}: {index} not found{given}; the released sample's layout "
                                    f"is DIR/{spec.platform}/{spec.platform}_{spec.part}.json")
            else:
                sample_download.download(root, spec.platform, spec.part)
        return root
    root = data_root or _env_path("ALTBENCH_FULL_DATA")
    if root is None:
        raise DataError(f"split {spec.name} needs the full TAlt/PAlt data: pass --data-root DIR or set "
                        f"ALTBENCH_FULL_DATA (layout: DIR/{spec.platform}/{spec.platform}_{spec.part}.json)")
    return root


def _reference_split(spec: SplitSpec, root: Path) -> Split:
    index = root / spec.platform / f"{spec.platform}_{spec.part}.json"
    if not index.is_file():
        raise DataError(f"split {spec.name}: {index} not found")
    image_root = root / spec.platform / "image" / f"{spec.platform}_{spec.part}"
    reader = read_test_jsonl if spec.part == "test" else read_train_json
    location = DataLocation(absolute(root), absolute(index), absolute(image_root))
    return Split(spec.name, tuple(reader(index, image_root, spec.platform)), str(index), spec.part, location)


def _custom_split(path: Path, images: Path | None) -> Split:
    if not path.is_file():
        raise DataError(f"split file {path} not found")
    image_root = images or path.parent
    location = DataLocation(split_file=absolute(path), images=absolute(image_root))
    if path.suffix == ".json" and _starts_with_array(path):
        return Split(path.name, tuple(read_train_json(path, image_root, path.stem)), str(path), "train", location)
    return Split(path.name, tuple(read_test_jsonl(path, image_root, path.stem)), str(path), "test", location)


def _starts_with_array(path: Path) -> bool:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:  # a BOM before the "[" is allowed
        return fh.read(4096).lstrip().startswith("[")


def _env_path(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value) if value else None


def describe_splits(data_root: Path | None = None) -> list[dict]:
    """One row per named split: name, item count, where it comes from, and for a split that cannot be
    loaded, ``problem``: where it was looked for and how to point at the data (never downloads)."""
    rows = []
    for spec in SPLITS.values():
        row = {"name": spec.name, "description": spec.description, "items": None, "source": "", "problem": None}
        try:
            if spec.source == "sample" and not (data_root or _env_path("ALTBENCH_DATA")):
                root = cache_dir() / "mcmdpo-sample"
                if not sample_download.is_complete(root, spec.platform, spec.part):
                    raise DataError(f"not in {root} (the cache: no --data-root given, $ALTBENCH_DATA unset); pass "
                                    "--data-root DIR or set ALTBENCH_DATA to the folder holding the released "
                                    "sample (DIR/twitter/twitter_test.json, ...), or run one online once to "
                                    "download it")
            if spec.source == "full" and not (data_root or _env_path("ALTBENCH_FULL_DATA")):
                raise DataError("need the full TAlt/PAlt data: pass --data-root DIR or set ALTBENCH_FULL_DATA "
                                "(layout: DIR/twitter/twitter_test.json, DIR/pinterest/pinterest_train.json, ...)")
            split = load_split(spec.name, data_root)
            row.update(items=len(split), source=split.source)
        except DataError as exc:
            row.update(source="not found" if spec.source == "sample" else "full data not given",
                       problem=str(exc).removeprefix(f"split {spec.name}: "))
        rows.append(row)
    return rows
