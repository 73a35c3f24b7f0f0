"""Checkpoint folders and hub ids for the transformers adapters and the training recipes.

Resolution of a ``path`` argument (local folder, ``altbench:NAME`` shipped checkpoint, hub id present in the
cache), the folder digest in run fingerprints, PEFT adapter folders, ``model_type`` look-ups and the
``altbench.json`` card a recipe writes. transformers is imported inside the functions that need it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError, MissingResourceError

_QUICK_HASH_LIMIT = 64 << 20  # files above this are hashed by size + first and last MiB
CARD = "altbench.json"


def ensure_torchvision() -> None:
    """Make torchvision importable before transformers' vision classes load (they import it): beside a
    CPU-only torch its compiled operators cannot load (see :mod:`altbench.torch_compat`)."""
    try:
        from altbench.torch_compat import import_torchvision

        import_torchvision()
    except ImportError:
        pass  # no torchvision: transformers does without it


def is_local_checkpoint(value: str) -> bool:
    return Path(value).expanduser().is_dir()


SHIPPED = "altbench:"  # prefix of checkpoints shipped inside the package (altbench/models/weights/NAME)


def shipped_folder(name: str) -> Path:
    return Path(__file__).resolve().parent / "weights" / name


def resolve_source(source: str | None, who: str, revision: str | None = None) -> str:
    """A local checkpoint folder or a hub id that is present in the cache or may be downloaded.

    ``altbench:NAME`` names a checkpoint shipped with the package; it is written that way (not as an
    absolute path) in registry arguments so a run's fingerprint does not depend on where altbench is installed.
    Raises :class:`MissingResourceError` saying what is missing and how to provide it.
    """
    if not source:
        raise MissingResourceError(f"{who}: no checkpoint given; pass --model-arg path=DIR_OR_HUB_ID")
    if source.startswith(SHIPPED):
        source = str(shipped_folder(source[len(SHIPPED):]))
    folder = Path(source).expanduser()
    looks_local = source.startswith((".", "/", "~")) or folder.exists() or source.count("/") > 1
    if looks_local:
        if not (folder / "config.json").is_file() and not (folder / "adapter_config.json").is_file():
            raise MissingResourceError(f"{who}: no checkpoint at {folder} (expected {folder}/config.json)")
        return str(folder.resolve())
    if _offline() and not _cached(source, revision):
        raise MissingResourceError(
            f"{who}: weights for {source} are not in the local Hugging Face cache and the hub is offline "
            f"(HF_HUB_OFFLINE); on a connected machine run `hf download {source}` (or copy the folder here) "
            "and pass --model-arg path=DIR"
        )
    return source


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"} or os.environ.get(
        "TRANSFORMERS_OFFLINE", ""
    ).lower() in {"1", "true", "yes", "on"}


def _cached(repo_id: str, revision: str | None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    return isinstance(found, str)


def weights_digest(folder: Path) -> str:
    """sha256 over the folder's files (names, sizes, contents; huge files by size + first/last MiB)."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(folder).as_posix()
        size = path.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(path, "rb") as fh:
            if size <= _QUICK_HASH_LIMIT:
                h.update(hashlib.sha256(fh.read()).digest())
            else:
                head = fh.read(1 << 20)
                fh.seek(size - (1 << 20))
                h.update(hashlib.sha256(head + fh.read()).digest())
    return h.hexdigest()


# Fields that record how or when a checkpoint was written, not what it computes: left out of checkpoint_digest.
_VOLATILE_JSON = {"config.json": ("transformers_version",), "generation_config.json": ("transformers_version",)}
_CARD_KEYS = ("adapter_args",)  # of altbench.json, the part the evaluation adapter reads


def checkpoint_digest(folder: Path) -> str:
    """sha256 of what a checkpoint computes with: :func:`weights_digest` of every file except that JSON files
    are hashed without the fields that only record the writing library's version, and the ``altbench.json``
    card only by its ``adapter_args``. A rebuild with identical weights (or a library upgrade that rewrites
    ``transformers_version``) keeps the digest, hence the run id."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(folder).as_posix()
        if rel == CARD:
            card = read_card(folder)
            content = json.dumps({k: card.get(k) for k in _CARD_KEYS}, sort_keys=True).encode()
        elif rel in _VOLATILE_JSON:
            data = json.loads(path.read_text(encoding="utf-8"))
            for key in _VOLATILE_JSON[rel]:
                data.pop(key, None)
            content = json.dumps(data, sort_keys=True).encode()
        else:
            h.update(f"{rel}\0".encode())
            h.update(weights_digest_file(path).encode())
            continue
        h.update(f"{rel}\0".encode())
        h.update(hashlib.sha256(content).hexdigest().encode())
    return h.hexdigest()


def weights_digest_file(path: Path) -> str:
    """sha256 of one file (a huge one by size + first and last MiB, as :func:`weights_digest`)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size <= _QUICK_HASH_LIMIT:
            return f"{size}:" + hashlib.sha256(fh.read()).hexdigest()
        head = fh.read(1 << 20)
        fh.seek(size - (1 << 20))
        return f"{size}:" + hashlib.sha256(head + fh.read()).hexdigest()


def shipped_name(source: str) -> str | None:
    """``altbench:NAME`` for a folder shipped in the package, so fingerprints do not hold the install path."""
    folder = Path(source).resolve()
    root = shipped_folder("").resolve()
    return f"{SHIPPED}{folder.name}" if folder.parent == root else None


def peft_base(folder: Path) -> str | None:
    """The base model a PEFT adapter folder (``adapter_config.json``, no ``config.json``) applies to."""
    if not (
        folder.is_dir()
        and (folder / "adapter_config.json").is_file()
        and not (folder / "config.json").is_file()
    ):
        return None
    base = read_card(folder).get("base") or json.loads(
        (folder / "adapter_config.json").read_text(encoding="utf-8")
    ).get("base_model_name_or_path")
    if not base:
        raise MissingResourceError(f"{folder}: a PEFT adapter that names no base model")
    return str(base)


def local_model_type(folder: Path) -> str | None:
    """``model_type`` from a local checkpoint's config.json (a PEFT adapter: its local base's), else None."""
    base = peft_base(folder)
    if base is not None:
        folder = Path(base).expanduser()
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def load_config(source: str, revision: str | None = None) -> Any:
    from transformers import AutoConfig

    base = peft_base(Path(source))
    if base is not None:
        return load_config(resolve_source(base, f"base model of {source}"), None)
    return AutoConfig.from_pretrained(source, **({"revision": revision} if revision else {}))


def checkpoint_model_type(source: str, revision: str | None = None) -> str:
    found = local_model_type(Path(source)) if is_local_checkpoint(source) else None
    return found or load_config(source, revision).model_type


def read_card(folder: Path) -> dict[str, Any]:
    """The ``altbench.json`` card a training recipe writes beside its checkpoint ({} when absent)."""
    path = folder / CARD
    if not path.is_file():
        return {}
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AltbenchError(f"{path}: unreadable model card ({exc})") from None
    if not isinstance(card, dict):
        raise AltbenchError(f"{path}: a model card must be a JSON object")
    return card
