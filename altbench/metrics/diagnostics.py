"""Alt-text diagnostics no n-gram metric shows: length, redundant "image of" openings, context copying.

Each is a per-item number (so it gets a bootstrap CI like any metric), computed on the prediction with
surrounding white space stripped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from altbench.metrics.base import MetricScores, signature

OVER_CHARS = 125
# Screen readers already announce "image"; openings like these waste the listener's time.
REDUNDANT_OPENING = re.compile(
    r"^\W*(an?\s+|the\s+)?(image|picture|photo|photograph|pic|illustration|graphic|screenshot)\s+(of|showing)\b",
    re.IGNORECASE)
COPY_THRESHOLD = 0.9
_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def copies_context(prediction: str, context: str, threshold: float = COPY_THRESHOLD) -> bool:
    """True when the prediction is (nearly) the post text: similarity ratio >= threshold."""
    p, c = _norm(prediction), _norm(context)
    if not p or not c:
        return False
    if p == c or (len(p) >= 20 and p in c and len(p) >= threshold * len(c)):
        return True
    matcher = SequenceMatcher(None, p, c, autojunk=False)
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return False
    return matcher.ratio() >= threshold


def score_diagnostics(predictions: Sequence[str], contexts: Sequence[str]) -> dict[str, MetricScores]:
    """Per-item diagnostics; ``value`` is the mean (shares as fractions in 0..1)."""
    texts = [p.strip() for p in predictions]
    columns = {
        "length_chars": ([float(len(t)) for t in texts], "chars"),
        "length_words": ([float(len(t.split())) for t in texts], "words:whitespace"),
        "over_125_chars": ([float(len(t) > OVER_CHARS) for t in texts], f"threshold:{OVER_CHARS}"),
        "redundant_opening": ([float(bool(REDUNDANT_OPENING.match(t))) for t in texts],
                              "pattern:image|picture|photo|...+of|showing"),
        "context_copy": ([float(copies_context(t, c)) for t, c in zip(texts, contexts)],
                         f"ratio>={COPY_THRESHOLD}:difflib"),
        "empty": ([float(not t) for t in texts], "strip"),
    }
    out = {}
    for name, (values, setting) in columns.items():
        mean = sum(values) / len(values) if values else float("nan")
        out[name] = MetricScores(
            name=name, value=mean, per_item=tuple(values),
            signature=signature(name, conv="diagnostic", rule=setting),
            higher_is_better=False,  # none is a quality score; lower is the usual goal
        )
    return out
