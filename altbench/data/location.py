"""Where a split's data was found: recorded with every run, so later commands find it again.

``altbench run`` records the split's location (data root, split file, image folder; absolute paths) in
``run.json`` and, with every scoring, in the ``split`` header of ``results.json``: provenance, outside the
run's fingerprint, like the environment. :mod:`altbench.data.reload` finds the split there again.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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
