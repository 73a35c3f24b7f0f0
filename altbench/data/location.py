"""Where a split's data was found, and finding it again for a run made earlier.

``altbench run`` records the split's location (data root, split file, image folder; absolute paths) in
``run.json`` and, with every scoring, in the ``split`` header of ``results.json``: provenance, outside the
run's fingerprint, like the environment. The commands that read a run later (``leaderboard``, ``report``,
``export``, ``score`` into the run, ``arena``) reload the split from there when they are not told where the
data is, check its content hash, and say exactly what is missing or changed when it no longer matches.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from altbench.errors import DataError


def absolute(path: Path | str) -> str:
    """An absolute path as the user would recognise it (links kept, ``~`` expanded)."""
    return os.path.abspath(os.path.expanduser(str(path)))


@dataclass(frozen=True)
class DataLocation:
    """data_root: the folder a named sample/full split was read from; split_file: the split's file (index or
    custom file); images: its image folder. Absolute paths; None where they do not apply."""

    data_root: str | None = None
    split_file: str | None = None
    images: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, data: Any) -> DataLocation | None:
        if not isinstance(data, dict):
            return None
        values = {k: str(data[k]) for k in ("data_root", "split_file", "images") if isinstance(data.get(k), str)}
        return cls(**values) if values else None

    def missing(self) -> str | None:
        """What of this location no longer exists, in words (None when all of it is there)."""
        for what, path in (("data folder", self.data_root), ("split file", self.split_file),
                           ("images folder", self.images)):
            if path and not Path(path).exists():
                return f"{what} {path} no longer exists"
        return None


def recorded_location(*headers: Any) -> DataLocation | None:
    """The first location recorded in ``headers`` (a results.json split header's ``location``, a run.json's
    ``data``), or None for runs made before locations were recorded."""
    for header in headers:
        loc = DataLocation.from_dict(header)
        if loc is not None:
            return loc
    return None


def recorded_data_roots(runs: Path) -> dict[str, set[str]]:
    """Split name -> the data roots the runs under ``runs`` found it in (from their run.json), where those
    folders still exist: what ``altbench splits`` suggests when it finds a split nowhere else."""
    import json

    found: dict[str, set[str]] = {}
    if not runs.is_dir():
        return found
    for meta_path in runs.rglob("run.json"):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            name = meta["fingerprint"]["split"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a readable run.json: nothing to suggest from it
        location = DataLocation.from_dict(meta.get("data"))
        if isinstance(name, str) and location is not None and location.data_root and Path(location.data_root).is_dir():
            found.setdefault(name, set()).add(location.data_root)
    return found


def reload_split(name: str, source: str | None, sha256: str | None, location: DataLocation | None = None,
                 data_root: Path | None = None, images: Path | None = None):
    """The split a run was scored on, checked against its content hash ``sha256``; never downloads.

    ``data_root``/``images`` given by the user win; else the recorded ``location``; else the split's name
    (a sample split then only from ``$ALTBENCH_DATA`` or a complete cache) or its ``source`` file. Raises
    :class:`DataError` saying what is missing ("images folder /x/y no longer exists") or what changed.
    """
    from altbench.data import sample_download
    from altbench.data.splits import SPLITS, cache_dir, load_split

    spec = SPLITS.get(name)
    if data_root is None and images is None and location is not None:
        gone = location.missing()
        if gone:
            raise DataError(f"split {name}: {gone} (where the run found it)")
        root = Path(location.data_root) if location.data_root else None
        folder = Path(location.images) if location.images else None
        split = load_split(name, root) if spec is not None else load_split(location.split_file or str(source), None,
                                                                             folder)
    elif spec is not None:
        if (spec.source == "sample" and data_root is None and not os.environ.get("ALTBENCH_DATA")
                and not sample_download.is_complete(cache_dir() / "mcmdpo-sample", spec.platform, spec.part)):
            raise DataError(f"split {name}: sample data not found (no data folder given or recorded, "
                            "$ALTBENCH_DATA unset, nothing in the cache)")
        split = load_split(name, data_root, images)
    else:
        file = location.split_file if location is not None and location.split_file else source
        if not file:
            raise DataError(f"split {name}: its file is not recorded")
        split = load_split(file, data_root, images)
    if sha256 and split.sha256() != sha256:
        raise DataError(f"split {name}: {changed(split, sha256)}")
    return split


def changed(split, sha256: str) -> str:
    """Why ``split`` no longer hashes to ``sha256``: missing images, else changed content, in words."""
    folders = sorted({str(item.image_root) for item in split.items})
    absent = [item for item in split.items if not item.image.exists()]
    if folders and len(folders) == 1 and not Path(folders[0]).is_dir():
        return f"images folder {folders[0]} does not exist"
    if absent:
        return (f"{len(absent)} of {len(split)} images are missing from {absent[0].image_root} "
                f"(e.g. {absent[0].image.name})")
    where = split.location.split_file if split.location and split.location.split_file else split.source
    return (f"the split changed since the run (split file {where} or its images): content sha256 "
            f"{split.sha256()[:12]} now, {sha256[:12]} when the run was scored")
