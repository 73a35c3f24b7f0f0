"""Alt-text diagnostics no n-gram metric shows: length, redundant "image of" openings, context copying.

Each is a per-item number (so it gets a bootstrap CI like any metric), computed on the prediction with
surrounding white space stripped; blocks of items are pure tasks (:func:`diagnostic_values`), so a starmap
(:mod:`altbench.tasks`) may compute them anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from difflib import SequenceMatcher

from altbench.metrics.base import MetricScores, signature
from altbench.tasks import IN_PROCESS, Starmap

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


SETTINGS = {
    "length_chars": "chars",
    "length_words": "words:whitespace",
    "over_125_chars": f"threshold:{OVER_CHARS}",
    "redundant_opening": "pattern:image|picture|photo|...+of|showing",
    "context_copy": f"ratio>={COPY_THRESHOLD}:difflib",
    "empty": "strip",
}
BLOCK = 2000  # items per task (the values do not depend on it)


def diagnostic_values(predictions: Sequence[str], contexts: Sequence[str]) -> dict[str, list[float]]:
    """A task: every diagnostic's per-item values for these items."""
    texts = [p.strip() for p in predictions]
    return {
        "length_chars": [float(len(t)) for t in texts],
        "length_words": [float(len(t.split())) for t in texts],
        "over_125_chars": [float(len(t) > OVER_CHARS) for t in texts],
        "redundant_opening": [float(bool(REDUNDANT_OPENING.match(t))) for t in texts],
        "context_copy": [float(copies_context(t, c)) for t, c in zip(texts, contexts)],
        "empty": [float(not t) for t in texts],
    }


def submit_diagnostics(predictions: Sequence[str], contexts: Sequence[str],
                       starmap: Starmap | None = None) -> Iterator[dict[str, list[float]]]:
    """Hand the blocks of items to ``starmap`` (:mod:`altbench.tasks`; default: here, in turn)."""
    tasks = [(predictions[a : a + BLOCK], contexts[a : a + BLOCK]) for a in range(0, len(predictions), BLOCK)]
    return (starmap or IN_PROCESS)(diagnostic_values, tasks)


def score_diagnostics(predictions: Sequence[str], contexts: Sequence[str], starmap: Starmap | None = None,
                      pending: Iterable[dict[str, list[float]]] | None = None) -> dict[str, MetricScores]:
    """Per-item diagnostics; ``value`` is the mean (shares as fractions in 0..1). ``pending``: the blocks
    already handed out by :func:`submit_diagnostics` (else they are handed to ``starmap`` now)."""
    if pending is None:
        pending = submit_diagnostics(predictions, contexts, starmap)
    columns: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for part in pending:
        for name in SETTINGS:
            columns[name] += part[name]
    out = {}
    for name, setting in SETTINGS.items():
        values = columns[name]
        mean = sum(values) / len(values) if values else float("nan")
        out[name] = MetricScores(
            name=name, value=mean, per_item=tuple(values),
            signature=signature(name, conv="diagnostic", rule=setting),
            higher_is_better=False,  # none is a quality score; lower is the usual goal
        )
    return out
