"""Writing a built site to its folder, and removing what an earlier build made and this one does not."""

from __future__ import annotations

import json
from pathlib import Path

from altbench import __version__
from altbench.errors import AltbenchError
from altbench.publish.html import (
    Site,
)

MANIFEST = "site-manifest.json"
# In a folder holding this file (the repository's leaderboards/), only leaderboards/build.sh writes: any other
# command's site there would replace the committed pages of every split (e.g. a README example run in a
# checkout). The build script's module passes ``committed=True``.
COMMITTED_MARKER = ".altbench-committed-site"


def write_site(site: Site, out: Path, committed: bool = False) -> tuple[dict[str, int], list[str]]:
    """Write the files; remove files an earlier build made that this one no longer makes.

    Refuses to overwrite a file that the previous build (per its manifest) did not generate, and to write into
    a committed site (a folder holding :data:`COMMITTED_MARKER`) unless ``committed`` says this is its rebuild.
    """
    if (out / COMMITTED_MARKER).is_file() and not committed:
        raise AltbenchError(f"{out} holds the committed leaderboard, which only leaderboards/build.sh rewrites; "
                            "write this site elsewhere (--out DIR)")
    manifest_path = out / MANIFEST
    previous: list[str] = []
    if manifest_path.is_file():
        try:
            previous = [str(p) for p in json.loads(manifest_path.read_text(encoding="utf-8")).get("files", [])]
        except (OSError, json.JSONDecodeError, AttributeError, TypeError):
            previous = []
    foreign = [p for p in site.files if p not in previous and (out / p).exists()]
    if foreign:
        raise AltbenchError(f"{out}: would overwrite {foreign[0]!r}, which altbench did not generate there; "
                            "choose another --out or remove it")
    removed = []
    for rel in sorted(set(previous) - set(site.files)):
        path = out / rel
        if path.is_file() and ".." not in Path(rel).parts:
            path.unlink()
            removed.append(rel)
            _prune(path.parent, out)
    for rel, data in sorted(site.files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    manifest = {"generator": f"altbench {__version__}", "files": sorted(site.files)}
    manifest_path.write_text(json.dumps(manifest, indent=0) + "\n", encoding="utf-8")
    return {rel: len(data) for rel, data in site.files.items()}, removed


def _prune(folder: Path, root: Path) -> None:
    root = root.resolve()
    while folder.resolve() != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
