"""CLIPScore and RefCLIPScore (Hessel et al., EMNLP 2021) on open_clip.

As the reference code does (github.com/jmhessel/clipscore, ``clipscore.py``):

- every text (candidate or reference) is prefixed with ``"A photo depicts "`` and tokenized with truncation to
  the model's context length, the last kept token becoming end-of-text (``clip.tokenize(truncate=True)``;
  open_clip's ``SimpleTokenizer`` does the same);
- images go through the model's own evaluation transform (for ViT-B/32 with OpenAI weights: bicubic resize of
  the short side to 224, centre crop, OpenAI mean and std: the reference's transform);
- features are L2-normalised; ``CLIP-S = w * max(cos(image, candidate), 0)`` with ``w = 2.5``;
- ``RefCLIP-S`` = harmonic mean of CLIP-S and ``max(max_r cos(candidate, r), 0)`` (paper, eq. 2; the released
  code leaves the reference term unclipped, which differs only when every reference similarity is negative).

Differences that remain, recorded in the signature: fp32 by default (the reference ran fp16 on GPU).
Values are in the raw scale (CLIP-S in 0..2.5), as the reference script prints them.

Image features are cached under ``$ALTBENCH_CACHE/clip-features/<model key>/`` by the image's sha256, so scoring
a second system's predictions on the same split encodes no image again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from altbench.data.images import ImageLoadError, image_bytes, load_image
from altbench.data.items import Item
from altbench.errors import AltbenchError, MissingResourceError
from altbench.metrics.base import signature
from altbench.metrics.model.base import (
    MetricRequest,
    MetricResult,
    defined_scores,
    file_sha256,
    library_version,
    metric_cache,
    require_packages,
    sha256_text,
    torch_device,
)
from altbench.metrics.model.options import option_name, option_setting
from altbench.models.hf_base import weights_digest

log = logging.getLogger(__name__)

OPTIONS: dict[str, Any] = {
    "model": "ViT-B-32",  # open_clip architecture name, a weights file (.pt/.bin/.safetensors) or an open_clip folder
    "pretrained": "openai",  # weights tag; for a weights file: the tag it is a copy of ("none" for other weights)
    "arch": "ViT-B-32",  # architecture of a weights file
    "quick_gelu": "auto",  # auto: as the tag's config says (OpenAI weights use QuickGELU)
    "prefix": "A photo depicts",
    "w": 2.5,
    "batch_size": 64,
    "device": "auto",
    "precision": "fp32",
}
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".npz")
HF_WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
def hint(arch: str) -> str:
    return (f"pass {option_setting('clipscore', 'model', '/path/to/weights')} (.pt/.bin/.safetensors of {arch}) "
            "or an open_clip folder")


def preflight(options: dict[str, Any]) -> None:
    require_packages("clipscore", ["torch", "open_clip"])
    spec = str(options["model"])
    local = spec.removeprefix("local-dir:")
    if (spec.startswith("local-dir:") or _looks_like_path(spec)) and not Path(local).expanduser().exists():
        raise MissingResourceError(f"clipscore: no weights at {local}; " + hint(options["arch"]))
    try:
        float(options["w"])
    except (TypeError, ValueError):
        raise AltbenchError(f"{option_name('clipscore', 'w')} must be a number, got {options['w']!r}") from None


def _looks_like_path(spec: str) -> bool:
    return os.sep in spec or "/" in spec or spec.startswith(("~", ".")) or spec.endswith(WEIGHT_SUFFIXES)


@dataclass
class LoadedClip:
    model: Any
    preprocess: Any
    tokenizer: Any
    device: str
    identity: dict[str, Any]
    feature_key: str  # everything that changes an image's features: weights, architecture, transform, precision


def load(options: dict[str, Any]) -> LoadedClip:
    """The open_clip model, transform and tokenizer named by the options, always from a local file."""
    from altbench.torch_compat import import_open_clip

    open_clip = import_open_clip()

    spec = str(options["model"])
    device = torch_device(str(options["device"]))
    common = {"precision": str(options["precision"]), "device": device}
    folder = Path(spec.removeprefix("local-dir:")).expanduser()
    if spec.startswith("local-dir:") or folder.is_dir():
        if not (folder / "open_clip_config.json").is_file():
            raise MissingResourceError(f"clipscore: {folder} has no open_clip_config.json (an open_clip model folder)")
        name = f"local-dir:{folder.resolve()}"
        model, _, preprocess = open_clip.create_model_and_transforms(name, **common)
        tokenizer = open_clip.get_tokenizer(name)
        config = json.loads((folder / "open_clip_config.json").read_text(encoding="utf-8"))["model_cfg"]
        identity = {"name": folder.resolve().name, "pretrained": "local-dir", "weights": str(folder.resolve()),
                    "sha256": weights_digest(folder),
                    "quick_gelu": bool(config.get("quick_gelu", False))}
    else:
        arch = str(options["arch"]) if _looks_like_path(spec) else spec
        if arch not in open_clip.list_models():
            raise AltbenchError(f"clipscore: {arch!r} is not an open_clip architecture (see open_clip.list_models())")
        tag = str(options["pretrained"])
        tag_cfg = {} if tag.lower() == "none" else open_clip.get_pretrained_cfg(arch, tag)
        if tag.lower() != "none" and not tag_cfg:
            tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
            raise AltbenchError(f"clipscore: open_clip knows no {tag!r} weights for {arch} (tags: {tags})")
        if _looks_like_path(spec):
            weights = Path(spec).expanduser()
            if not weights.is_file():
                raise MissingResourceError(f"clipscore: no weights file at {weights}; " + hint(arch))
        elif tag_cfg:
            weights = _fetch(arch, tag, tag_cfg)
        else:
            raise AltbenchError("clipscore: random weights score nothing; set "
                                f"{option_name('clipscore', 'pretrained')} or {option_name('clipscore', 'model')}")
        quick = tag_cfg.get("quick_gelu", False) if options["quick_gelu"] == "auto" else _bool(options["quick_gelu"])
        transform = {f"image_{k}": tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg}
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=str(weights), force_quick_gelu=quick, **transform, **common)
        tokenizer = open_clip.get_tokenizer(arch)
        effective = bool(quick or (open_clip.get_model_config(arch) or {}).get("quick_gelu", False))
        identity = {"name": arch, "pretrained": tag, "weights": str(weights), "sha256": file_sha256(weights),
                    "quick_gelu": effective}
    model.eval()
    identity["library"] = f"open_clip_torch {library_version('open_clip_torch')}"
    key = sha256_text(identity["name"], identity["sha256"], identity.get("quick_gelu"), str(preprocess),
                      common["precision"])[:24]
    return LoadedClip(model, preprocess, tokenizer, device, identity, key)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}


def _fetch(arch: str, tag: str, cfg: dict) -> Path:
    """The tag's weights file: from the Hugging Face cache when there, else downloaded (online only)."""
    hub = cfg.get("hf_hub", "")
    if hub:
        # 'org/name/' means the default file names; 'org/name/file.pt' names the file
        repo, filename = os.path.split(hub)
        names = (filename,) if filename else HF_WEIGHT_NAMES
        from huggingface_hub import try_to_load_from_cache

        for name in names:
            hit = try_to_load_from_cache(repo, name)
            if isinstance(hit, str):
                return Path(hit)
    how = hint(arch)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
        raise MissingResourceError(f"clipscore: open_clip {arch} '{tag}' weights are not cached and HF_HUB_OFFLINE "
                                   f"is set; {how}")
    from open_clip.pretrained import download_pretrained

    log.warning("clipscore: downloading open_clip %s '%s' weights", arch, tag)
    try:
        return Path(download_pretrained(cfg))
    except Exception as exc:  # noqa: BLE001 - no network, hub errors...: one line naming the option
        raise MissingResourceError(f"clipscore: cannot get open_clip {arch} '{tag}' weights "
                                   f"({type(exc).__name__}); {how}") from None


class FeatureCache:
    """One ``.npy`` file per image (named by its sha256) in a folder per model key; written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, sha: str) -> Path:
        return self.folder / sha[:2] / f"{sha}.npy"

    def get(self, sha: str) -> np.ndarray | None:
        try:
            return np.load(self._path(sha), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, sha: str, features: np.ndarray) -> None:
        path = self._path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(features, dtype=np.float32), allow_pickle=False)
        os.replace(tmp, path)


def image_features(clip: LoadedClip, items: Sequence[Item], batch_size: int) -> tuple[np.ndarray, dict[str, int]]:
    """(n, d) unnormalised image features, NaN rows for unreadable images; counts of cache hits and encodings."""
    import torch

    cache = FeatureCache(metric_cache("clip-features", clip.feature_key))
    shas: list[str | None] = []
    found: dict[str, np.ndarray] = {}
    todo: dict[str, Item] = {}
    for item in items:
        data = image_bytes(item)
        sha = hashlib.sha256(data).hexdigest() if data is not None else None
        shas.append(sha)
        if sha is None or sha in found or sha in todo:
            continue
        cached = cache.get(sha)
        if cached is not None:
            found[sha] = cached
        else:
            todo[sha] = item
    counts = {"cached": len(found), "encoded": 0}
    pending = list(todo.items())
    for start in range(0, len(pending), batch_size):
        tensors, keys = [], []
        for sha, item in pending[start : start + batch_size]:
            try:
                tensors.append(clip.preprocess(load_image(item)))
                keys.append(sha)
            except ImageLoadError as exc:
                log.warning("clipscore: %s", exc)
        if not tensors:
            continue
        with torch.no_grad():
            feats = clip.model.encode_image(torch.stack(tensors).to(clip.device)).float().cpu().numpy()
        for sha, f in zip(keys, feats):
            cache.put(sha, f)
            found[sha] = f
        counts["encoded"] += len(keys)
    dim = next(iter(found.values())).shape[-1] if found else 1
    out = np.full((len(items), dim), np.nan, dtype=np.float32)
    for i, sha in enumerate(shas):
        if sha is not None and sha in found:
            out[i] = found[sha]
    return out, counts


def text_features(clip: LoadedClip, texts: Sequence[str], prefix: str, batch_size: int) -> np.ndarray:
    import torch

    if prefix and not prefix.endswith(" "):
        prefix += " "
    chunks = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            tokens = clip.tokenizer([prefix + t for t in texts[start : start + batch_size]])
            chunks.append(clip.model.encode_text(tokens.to(clip.device)).float().cpu().numpy())
    return np.vstack(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)


def normalise(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.sqrt(np.sum(x**2, axis=-1, keepdims=True))


def clip_s(image: np.ndarray, candidate: np.ndarray, w: float) -> np.ndarray:
    """``w * max(cos, 0)`` row by row on *normalised* features; NaN stays NaN."""
    cos = np.sum(image * candidate, axis=-1)
    return np.where(np.isnan(cos), np.nan, w * np.clip(cos, 0.0, None))


def ref_clip_s(clip_scores: np.ndarray, ref_similarity: np.ndarray) -> np.ndarray:
    """Harmonic mean of CLIP-S and ``max(best reference cosine, 0)``; 0 when both are 0."""
    b = np.clip(ref_similarity, 0.0, None)
    a = clip_scores
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(a + b > 0, 2 * a * b / np.where(a + b > 0, a + b, 1.0), 0.0)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, h)


def best_reference_similarity(candidates: np.ndarray, refs: np.ndarray, owners: Sequence[int], n: int) -> np.ndarray:
    """Max cosine between each normalised candidate and its own normalised references (NaN: no reference)."""
    best = np.full(n, -np.inf)
    sims = np.sum(refs * candidates[np.asarray(owners, dtype=int)], axis=-1) if len(owners) else np.zeros(0)
    np.maximum.at(best, np.asarray(owners, dtype=int), sims)
    return np.where(np.isinf(best), np.nan, best)


def compute(request: MetricRequest) -> MetricResult:
    import torch

    opts = request.options
    w, batch = float(opts["w"]), int(opts["batch_size"])
    clip = load(opts)
    images, counts = image_features(clip, request.items, batch)
    ctx = getattr(clip.tokenizer, "context_length", "?")
    cands = normalise(text_features(clip, request.predictions, str(opts["prefix"]), batch * 4))
    scores = clip_s(normalise(images), cands, w)
    ident = clip.identity
    settings = {"model": ident["name"], "pretrained": ident["pretrained"], "sha256": ident["sha256"][:16],
                "quick_gelu": ident["quick_gelu"], "prefix": opts["prefix"], "w": w,
                "trunc": f"ctx{ctx}", "precision": opts["precision"],
                "open_clip": library_version("open_clip_torch"), "torch": torch.__version__.split("+")[0]}
    bad_images = int(np.isnan(images[:, 0]).sum()) if len(images) else 0
    model_info = {**ident, "image_features": counts}
    result = MetricResult()
    if "clipscore" in request.wanted:
        result.scores["clipscore"] = defined_scores("clipscore", scores,
                                                    signature("clipscore", **settings, cos="max(cos,0)"))
    if "refclipscore" in request.wanted:
        refs, owners = [], []
        for i, item in enumerate(request.items):
            refs.extend(item.references)
            owners.extend([i] * len(item.references))
        ref_feats = normalise(text_features(clip, refs, str(opts["prefix"]), batch * 4))
        best = best_reference_similarity(cands, ref_feats, owners, len(request.items))
        result.scores["refclipscore"] = defined_scores(
            "refclipscore", ref_clip_s(scores, best),
            signature("refclipscore", **settings, refs="max(max_r cos,0)", combine="hmean"))
    no_refs = sum(1 for item in request.items if not item.references)
    for key in result.scores:
        result.models[key] = model_info
        reasons = {"image": bad_images, "no_reference": no_refs if key == "refclipscore" else 0}
        if any(reasons.values()):
            result.failures[key] = {k: v for k, v in reasons.items() if v}
    return result
