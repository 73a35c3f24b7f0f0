"""How numbers are rounded and shown: one rule for results.json, the API, the console, compare, regress and
the pages (docs/results-schema.md, "How numbers are rounded").

1. A metric's value is its convention's reported value. Where the convention rounds (the paper convention:
   get_score.py's ``round(mean, 5) * 100``, the edit distance ``round(mean, 3)``, declared in the signature as
   ``round:D|scale:S``), the value is kept to those decimals of the reported scale (3 for both), without the
   float artefact of the ``* 100`` (90.909, not 90.90899999999999). Other metrics keep every digit.
2. The interval's ends get the same rounding, so a value lies inside its own interval. Where rounding ties or
   the order of a float sum leave the value one rounding unit (or, unrounded, a few ulps) outside, the nearer
   end is moved to the value; a larger gap is the percentile bootstrap's own and is kept.
3. Differences (compare, regress, the leaderboard's pairs) are rounded to the metric's decimals likewise.
4. Shown, a number is its stored decimal (as JSON writes it) rounded half up: 2 decimals for scaled
   metrics (points) and for values of 10 or more, else 4, never more than the convention reports (the
   edit distance: 3). A number that rounds to zero reads 0.00, never -0.00.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

_REPORTED = re.compile(r"(?:^|\|)round:(\d+)\|scale:(\d+(?:\.\d+)?)(?:\||$)")


@lru_cache(maxsize=512)  # a pure function of the signature, asked for by every table cell
def reported_decimals(signature: str | None) -> int | None:
    """Decimals of the reported scale that the metric's convention keeps (``round:5|scale:100`` -> 3), or None
    when its signature declares no rounding."""
    match = _REPORTED.search(signature or "")
    if not match:
        return None
    digits, scale = int(match.group(1)), float(match.group(2))
    return max(0, digits - round(math.log10(scale))) if scale > 0 else None


def reported(x: float | None, decimals: int | None) -> float | None:
    """``x`` as stored: rounded to ``decimals`` (None: every digit), -0.0 as 0.0; None or NaN as None."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    x = float(x) if decimals is None else round(float(x), decimals)
    return x + 0.0  # -0.0 -> 0.0


def value_and_interval(value: float | None, ci: tuple[float | None, float | None], decimals: int | None
                       ) -> tuple[float | None, tuple[float | None, float | None]]:
    """The stored value and interval by the rule above (points 1 and 2)."""
    v, lo, hi = reported(value, decimals), reported(ci[0], decimals), reported(ci[1], decimals)
    if v is not None and lo is not None and hi is not None:
        unit = 10.0 ** -decimals if decimals is not None else 0.0
        if lo > v and lo - v <= unit + _ulps(v):
            lo = v
        if hi < v and v - hi <= unit + _ulps(v):
            hi = v
    return v, (lo, hi)


def _ulps(x: float) -> float:
    return 1e-9 * max(1.0, abs(x))  # summation order: the reference's loop vs the bootstrap's matrix product


def display_decimals(x: float, scale: float = 1.0, decimals: int | None = None) -> int:
    """Decimals shown: 2 for scaled metrics (points) or |x| >= 10, else 4; at most the reported ``decimals``."""
    shown = 2 if scale != 1.0 or abs(x) >= 10 else 4
    return shown if decimals is None else min(shown, decimals)


def fmt(x: float | None, scale: float = 1.0, decimals: int | None = None, *, sign: bool = False,
        digits: int | None = None, missing: str = "-") -> str:
    """``x`` as every table shows it: the decimal JSON writes (``repr``) rounded half up to
    :func:`display_decimals` (or ``digits``); ``sign``: a leading + on positive numbers."""
    if x is None or not math.isfinite(float(x)):
        return missing
    x = float(x)
    places = display_decimals(x, scale, decimals) if digits is None else digits
    q = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # -0.00 -> 0.00
    text = f"{q:f}"
    return f"+{text}" if sign and q > 0 else text


def fmt_p(p: float | None, missing: str = "-") -> str:
    """A p-value: 4 decimals, or scientific below 0.0001 (exactly 0: "0")."""
    if p is None or not math.isfinite(float(p)):
        return missing
    if p == 0:
        return "0"
    return f"{p:.4f}" if p >= 0.0001 else f"{p:.1e}"
