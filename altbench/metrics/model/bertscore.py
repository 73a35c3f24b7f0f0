"""BERTScore (Zhang et al., ICLR 2020) through the ``bert-score`` package.

``model/bertscore`` is the F1 (``.precision`` and ``.recall`` come with it). Everything that changes the
number is in the signature: model (name or path, sha256 of its config and weights), layer, idf, baseline
rescaling, the package's and transformers' versions.

- Default model: the package's default for English, ``roberta-large`` at layer 17 (from the Hugging Face
  cache, or downloaded when online); any local transformers folder by path with ``bertscore.num_layers``.
- ``idf=true`` takes document frequencies from the references of the *whole split* (as CIDEr's are), so a
  ``--limit`` run scores its items as the full run does.
- Several references: the package's rule, the best P, R and F1 over them (each taken separately).
- An empty prediction (after stripping) scores 0 raw, the package's own rule for empty candidates, applied
  here because bert-score 0.3.13 cannot encode an empty string with transformers 5.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError, MissingResourceError
from altbench.metrics.base import signature
from altbench.metrics.model.base import (
    MetricRequest,
    MetricResult,
    defined_scores,
    library_version,
    require_packages,
    torch_device,
)
from altbench.metrics.model.options import option_name, option_setting
from altbench.models.hf_base import weights_digest

log = logging.getLogger(__name__)

OPTIONS: dict[str, Any] = {
    "model": "roberta-large",  # a Hugging Face model name or a local transformers folder
    "num_layers": None,  # default: bert-score's tuned layer for a known model name (17 for roberta-large)
    "idf": False,
    "rescale": False,  # rescale with bert-score's baseline for (lang, model), or with `baseline`
    "lang": "en",
    "baseline": None,  # a custom baseline file for rescaling
    "batch_size": 64,
    "device": "auto",
    "fast_tokenizer": False,
}
def hint() -> str:
    return (f"pass {option_setting('bertscore', 'model', '/path/to/model')} (a transformers folder) and "
            f"{option_setting('bertscore', 'num_layers', 'N')}")


def preflight(options: dict[str, Any]) -> None:
    require_packages("bertscore", ["torch", "transformers", "bert_score"])
    spec = str(options["model"])
    if _is_path(spec):
        folder = Path(spec).expanduser()
        if not (folder / "config.json").is_file():
            raise MissingResourceError(f"bertscore: no transformers model at {folder} (no config.json); {hint()}")
        if options["num_layers"] is None:
            raise AltbenchError(f"bertscore: set {option_name('bertscore', 'num_layers')} for the local model {folder} "
                                "(bert-score tunes the layer per model; it has no default for a path)")
    if options["baseline"] is not None and not Path(str(options["baseline"])).is_file():
        raise MissingResourceError(f"bertscore: baseline file {options['baseline']} not found")


def _is_path(spec: str) -> bool:
    return spec.startswith(("/", "~", ".")) or (os.sep in spec and Path(spec).expanduser().exists())


def _resolve(options: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """(model for bert-score, layer, identity): a local folder, or a hub name found in the local cache."""
    from bert_score.utils import model2layers

    spec = str(options["model"])
    if _is_path(spec):
        folder = Path(spec).expanduser().resolve()
        ident = {"name": str(folder), "weights": str(folder), "sha256": weights_digest(folder)}
        return str(folder), int(options["num_layers"]), ident
    layers = options["num_layers"]
    if layers is None:
        if spec not in model2layers:
            raise AltbenchError(f"bertscore: no tuned layer known for {spec!r}; set {option_name('bertscore', 'num_layers')}")
        layers = model2layers[spec]
    folder = _cached_snapshot(spec)
    if folder is None:
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}:
            raise MissingResourceError(f"bertscore: {spec} is not in the Hugging Face cache and HF_HUB_OFFLINE is "
                                       f"set; {hint()}")
        log.warning("bertscore: %s is not cached; downloading it", spec)
    ident = {"name": spec, "weights": str(folder) if folder else None,
             "sha256": weights_digest(folder) if folder else None}
    return spec, int(layers), ident


def _cached_snapshot(name: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or no hub library): the caller decides
        return None


def compute(request: MetricRequest) -> MetricResult:
    import torch
    from bert_score import BERTScorer

    opts = request.options
    model_type, layers, ident = _resolve(opts)
    idf_sents = [r for item in request.split.items for r in item.references] if opts["idf"] else None
    rescale = bool(opts["rescale"])
    baseline = str(opts["baseline"]) if opts["baseline"] else None
    try:  # rescaling is applied below, to the empty items' 0 as well
        scorer = BERTScorer(model_type=model_type, num_layers=layers, idf=bool(opts["idf"]), idf_sents=idf_sents,
                            lang=str(opts["lang"]), baseline_path=baseline, nthreads=0,
                            device=torch_device(str(opts["device"])), use_fast_tokenizer=bool(opts["fast_tokenizer"]))
    except OSError as exc:  # transformers: not found locally and not downloadable
        raise MissingResourceError(f"bertscore: cannot load {model_type} ({str(exc).splitlines()[0][:160]}); "
                                   f"{hint()}") from None
    if ident["sha256"] is None:  # downloaded just now
        folder = _cached_snapshot(model_type)
        ident = {"name": model_type, "weights": str(folder) if folder else None,
                 "sha256": weights_digest(folder) if folder else "?"}
    base = [0.0, 0.0, 0.0]
    if rescale:
        try:
            base = [float(v) for v in scorer.baseline_vals]
        except ValueError:
            raise MissingResourceError(f"bertscore: bert-score has no rescaling baseline for {model_type} "
                                       f"({opts['lang']}); set {option_setting('bertscore', 'baseline', 'FILE')} or "
                                       f"{option_setting('bertscore', 'rescale', 'false')}"
                                       ) from None
    tok = scorer._tokenizer
    if tok.model_max_length > 100_000:  # a folder saved without it: bert-score passes it as max_length
        tok.model_max_length = int(getattr(scorer._model.config, "max_position_embeddings", 512))

    n = len(request.items)
    raw = [[0.0, 0.0, 0.0] for _ in range(n)]  # the package's raw value for an empty candidate or reference
    cands, refs, where = [], [], []
    for i, (item, pred) in enumerate(zip(request.items, request.predictions)):
        group = [r for r in item.references if r.strip()]
        if pred.strip() and group:
            cands.append(pred)
            refs.append(group)
            where.append(i)
    if cands:
        p, r, f = scorer.score(cands, refs, batch_size=int(opts["batch_size"]))
        for j, i in enumerate(where):
            raw[i] = [float(p[j]), float(r[j]), float(f[j])]
    prf = [[(v - b) / (1 - b) for v, b in zip(row, base)] for row in raw]
    settings = {
        "model": Path(ident["name"]).name if _is_path(str(opts["model"])) else ident["name"], "sha256": (ident["sha256"] or "?")[:16], "layer": layers,
        "idf": f"split(nrefs={len(idf_sents)})" if idf_sents is not None else "no",
        "rescale": ("custom" if baseline else f"baseline-{opts['lang']}") if rescale else "no",
        "tokenizer": "fast" if opts["fast_tokenizer"] else "slow",
        "bert_score": library_version("bert-score"), "transformers": library_version("transformers"),
        "torch": torch.__version__.split("+")[0],
    }
    result = MetricResult()
    empty = n - len(where)
    for k, key, label in ((2, "bertscore", "F1"), (0, "bertscore.precision", "P"), (1, "bertscore.recall", "R")):
        values = [row[k] for row in prf]
        result.scores[key] = defined_scores(key, values, signature(key, score=label, **settings))
        result.models[key] = {**ident, "library": f"bert-score {library_version('bert-score')}", "layer": layers}
        undefined = sum(1 for v in values if math.isnan(v))  # P or R over zero idf weight
        if undefined:
            result.failures[key] = {"undefined": undefined}
    if empty:
        log.info("bertscore: %d empty prediction(s) or reference group(s) scored 0 (raw)", empty)
    return result
