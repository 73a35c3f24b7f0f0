"""Writing a built site to its folder, and removing what an earlier build made and this one does not."""

from __future__ import annotations

import json
from pathlib import Path

from altbench import __version__
from altbench.errors import AltbenchError, WriteError
from altbench.io import write_bytes_atomic
from altbench.publish.html import Block, Site, page_tables, safe_json

MANIFEST = "site-manifest.json"
# In a folder holding this file (the repository's leaderboards/), only leaderboards/build.sh writes: any other
# command's site there would replace the committed pages of every split (e.g. a README example run in a
# checkout). The build script's module passes ``committed=True``.
COMMITTED_MARKER = ".altbench-committed-site"


def write_site(site: Site, out: Path, committed: bool = False) -> tuple[dict[str, int], list[str]]:
    """Write the files; remove files an earlier build made that this one no longer makes.

    Refuses to overwrite a file that the previous build (per its manifest) did not generate. Each file is
    replaced in one rename, and files of the earlier build are removed only once every new one is written,
    so a build that fails (a full disk) leaves whole files of one build or the other, and a manifest that
    names every file it may have written: re-running the command after making room finishes the job. An OS
    error is a one-line :class:`WriteError` naming the file. A committed site (a folder holding
    :data:`COMMITTED_MARKER`) is written only when ``committed`` says this is its rebuild.
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
    changed = {rel: data for rel, data in sorted(site.files.items()) if not _holds(out / rel, data)}
    stale = sorted(set(previous) - set(site.files))
    if changed:  # claim the new files before writing any, so that a failed build's files stay ours
        _write_manifest(manifest_path, sorted(set(previous) | set(site.files)))
    for rel, data in changed.items():
        write_bytes_atomic(out / rel, data, durable=False)
    removed = []
    for rel in stale:
        path = out / rel
        if path.is_file() and ".." not in Path(rel).parts:
            try:
                path.unlink()
                _prune(path.parent, out)
            except OSError as exc:
                raise WriteError(path, exc) from exc
            removed.append(rel)
    _write_manifest(manifest_path, sorted(site.files))
    return {rel: len(data) for rel, data in site.files.items()}, removed


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` already holds exactly ``data`` (an unchanged page is not rewritten)."""
    try:
        return path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _write_manifest(path: Path, files: list[str]) -> None:
    data = (json.dumps({"generator": f"altbench {__version__}", "files": files}, indent=0) + "\n").encode("utf-8")
    if not _holds(path, data):
        write_bytes_atomic(path, data, durable=False)


def _prune(folder: Path, root: Path) -> None:
    root = root.resolve()
    while folder.resolve() != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def write_result_page(out_dir: Path | str, blocks: list[Block], *, data: object, json_name: str, title: str,
                      heading: str, crumb: str, site_title: str, footer: str) -> Path:
    """A command's one-page site (arena, meta-eval, judge-check): ``index.html`` from ``blocks``, its tables'
    CSV/JSON under ``data/``, and the whole result as ``json_name`` beside it. Returns the page's path."""
    site = Site()
    site.add(json_name, json.dumps(safe_json(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    site.page("index.html", "page.html", page_tables(blocks), title=title, heading=heading, blocks=blocks,
              crumbs=[(crumb, None)], site_title=site_title, footer=footer)
    out = Path(out_dir)
    write_site(site, out)
    return out / "index.html"
