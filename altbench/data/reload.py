"""Reloading the split a run was made on, from where the run recorded it (:mod:`altbench.data.location`).

The commands that read a run later (``leaderboard``, ``report``, ``export``, ``score`` into the run,
``arena``) reload the split from its recorded location when they are not told where the data is, check its
content hash, and say exactly what is missing or changed when it no longer matches; ``altbench splits``
suggests the data roots that runs used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from altbench.data import sample_download
from altbench.data.location import DataLocation
from altbench.data.splits import SPLITS, Split, cache_dir, load_split
from altbench.errors import DataError


def recorded_data_roots(runs: Path) -> dict[str, set[str]]:
    """Split name -> the data roots the runs under ``runs`` found it in (from their run.json), where those
    folders still exist: what ``altbench splits`` suggests when it finds a split nowhere else."""
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
                 data_root: Path | None = None, images: Path | None = None) -> Split:
    """The split a run was scored on, checked against its content hash ``sha256``; never downloads.

    ``data_root``/``images`` given by the user win; else the recorded ``location``; else the split's name
    (a sample split then only from ``$ALTBENCH_DATA`` or a complete cache) or its ``source`` file. Raises
    :class:`DataError` saying what is missing ("images folder /x/y no longer exists") or what changed.
    """
    spec = SPLITS.get(name)
    if data_root is None and images is None and location is not None:
        gone = location.missing()
        if gone:
            raise DataError(f"split {name}: {gone} (the run recorded it there)")
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


def changed(split: Split, sha256: str) -> str:
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
