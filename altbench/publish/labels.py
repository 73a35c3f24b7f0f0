"""Human names and number formats for metric keys (``<convention>/<metric>``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from altbench.results import numbers

METRIC_NAMES = {
    "bleu1": "BLEU-1", "bleu2": "BLEU-2", "bleu3": "BLEU-3", "bleu4": "BLEU-4", "meteor": "METEOR",
    "rougeL": "ROUGE-L", "rouge_l": "ROUGE-L", "cider": "CIDEr", "spice": "SPICE",
    "bleu4_cum": "BLEU-4 cumulative", "edit_distance": "Edit distance", "length_chars": "Length (characters)", "length_words": "Length (words)",
    "over_125_chars": "Over 125 characters", "redundant_opening": "Redundant opening (\u201cimage of\u201d)",
    "context_copy": "Copies the context", "empty": "Empty output",
    "clipscore": "CLIPScore", "refclipscore": "RefCLIPScore", "bertscore": "BERTScore", "judge": "Judge score",
}
CONVENTION_NAMES = {"paper": "paper", "coco": "COCO", "diag": "diagnostic", "model": "model-based"}
# The paper's table (BLEU-4, METEOR, ROUGE-L, CIDEr) in each lexical convention; model-based metrics follow.
MAIN = ("bleu4", "meteor", "rougeL", "cider")
CONVENTION_HELP = {
    "paper": "the reference work's scorer (NLTK BLEU, METEOR, ROUGE-L, CIDEr), reported as round(mean, 5) \u00d7 100",
    "coco": "pycocoevalcap (corpus BLEU, METEOR 1.5, ROUGE-L, CIDEr-D), raw values; not comparable with paper",
    "diag": "alt-text diagnostics: means of per-item values (shares as percentages)",
}
# Which quality metric leads a table: the first present.
HEADLINE_ORDER = ("paper/cider", "coco/cider", "paper/rougeL", "coco/rougeL", "paper/bleu4", "coco/bleu4",
                  "paper/meteor", "coco/meteor")
SHARES = {"over_125_chars", "redundant_opening", "context_copy", "empty"}
DIAG_SHOWN = ("diag/length_chars", "diag/over_125_chars", "diag/empty")
DASH = "\u2013"


def split_key(key: str) -> tuple[str, str]:
    conv, _, name = key.partition("/")
    return (conv, name) if name else ("", conv)


def metric_name(key: str) -> str:
    """``paper/cider`` -> ``CIDEr (paper)``; diagnostics keep their plain name."""
    conv, name = split_key(key)
    pretty = METRIC_NAMES.get(name, name)
    if conv in ("diag", "", "model"):
        return pretty
    return f"{pretty} ({CONVENTION_NAMES.get(conv, conv)})"


def is_quality(key: str) -> bool:
    return split_key(key)[0] not in ("diag", "")


def is_share(key: str) -> bool:
    conv, name = split_key(key)
    return conv == "diag" and name in SHARES


def metric_order(keys: list[str]) -> list[str]:
    """Quality metrics (headline order first, then by name), then diagnostics."""
    rank = {k: i for i, k in enumerate(HEADLINE_ORDER)}
    quality = sorted((k for k in keys if is_quality(k)), key=lambda k: (rank.get(k, len(rank)), k))
    diag_rank = {k: i for i, k in enumerate(DIAG_SHOWN)}
    diag = sorted((k for k in keys if not is_quality(k)), key=lambda k: (diag_rank.get(k, len(diag_rank)), k))
    return quality + diag


def main_metrics(keys: list[str]) -> list[str]:
    """The overview's metrics: the paper's four in the headline's convention (a run scored in both shows the
    other convention's on the split page), then the model-based ones."""
    head = headline(keys)
    conv = split_key(head)[0] if head and split_key(head)[0] in ("paper", "coco") else "paper"
    return [f"{conv}/{name}" for name in MAIN if f"{conv}/{name}" in keys] + sorted(
        k for k in keys if split_key(k)[0] == "model")


def headline(keys: list[str]) -> str | None:
    ordered = [k for k in metric_order(keys) if is_quality(k)]
    return ordered[0] if ordered else None


def finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt(key: str, value: object, meta: Mapping[str, Any] | None = None) -> str:
    """A metric value as every table shows it (:func:`altbench.results.numbers.fmt`), in the metric's
    ``meta`` (its results.json entry: ``scale``, ``signature``); shares as percentages."""
    if not finite(value):
        return DASH
    v = float(value)  # type: ignore[arg-type]
    if is_share(key):
        return f"{numbers.fmt(v * 100, 100.0)}%"
    scale = float((meta or {}).get("scale") or 1.0)
    return numbers.fmt(v, scale, numbers.reported_decimals((meta or {}).get("signature")))


def fmt_ci(key: str, ci: object, meta: Mapping[str, Any] | None = None) -> str:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or not all(finite(c) for c in ci):
        return DASH
    return f"{fmt(key, ci[0], meta)} to {fmt(key, ci[1], meta)}"


def fmt_item(key: str, raw: object, meta: Mapping[str, Any] | None = None) -> str:
    """A per-item score (raw scale in scores.jsonl) in the metric's reported scale."""
    if not finite(raw):
        return DASH
    _, name = split_key(key)
    if is_share(key):
        return "yes" if float(raw) else "no"  # type: ignore[arg-type]
    if name.startswith("length"):
        return f"{float(raw):.0f}"  # type: ignore[arg-type]
    scale = float((meta or {}).get("scale") or 1.0)
    return fmt(key, float(raw) * scale, meta)  # type: ignore[arg-type]


def fmt_p(p: object) -> str:
    return numbers.fmt_p(float(p), DASH) if finite(p) else DASH  # type: ignore[arg-type]
