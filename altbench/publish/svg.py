"""Small SVG charts written directly (no matplotlib): the ones a leaderboard draws once per model or per row.

The forest plots (a value and its 95% CI per model), a model page's per-metric histograms, the split page's
length summary of many models and meta-eval's correlation bars are drawn here, as plain SVG text, in a
millisecond each, where a matplotlib figure costs from half a second to several seconds (a forest plot of 100
models): a leaderboard of 100 models would spend minutes on them. Like :mod:`altbench.publish.charts`, the output is deterministic, text
stays text (every label escaped), colours are the leaderboard's (:data:`charts.INK`, :data:`charts.ACCENT`,
:data:`charts.BAR`), and every chart is shown next to a table of its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from altbench.publish.charts import ACCENT, BAR, GRID, INK

FONT = 'font-family="DejaVu Sans, sans-serif"'
MUTED = "#4d4d4d"


def _t(x: float, y: float, text: str, size: int = 11, anchor: str = "start", colour: str = INK,
       weight: str = "normal", limit: int = 48) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="{weight}">{escape(_short(text, limit))}</text>')


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg(width: float, height: float, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT}><rect width="100%" height="100%" fill="#fff"/>'
            + "".join(body) + "</svg>\n")


def histogram_panels(panels: Sequence[tuple[str, Sequence[str], Sequence[int]]], columns: int = 3) -> str:
    """Small multiples: one histogram per panel ``(title, [first bin's lower bound, last bin's upper label],
    counts per bin)``, ``columns`` panels a row, each with its own count axis."""
    pw, ph, gap = 250, 150, 18
    rows = max(1, -(-len(panels) // columns))
    width = columns * pw + (columns - 1) * gap
    body: list[str] = []
    for k, (title, ends, counts) in enumerate(panels):
        x0 = (k % columns) * (pw + gap)
        y0 = (k // columns) * (ph + gap)
        body.append(_t(x0, y0 + 13, title, 12, weight="bold"))
        left, top, bottom, right = x0 + 34, y0 + 22, y0 + ph - 22, x0 + pw - 6
        top_count = max(max(counts, default=0), 1)
        body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{MUTED}"/>')
        body.append(f'<line x1="{left}" y1="{top}" x2="{right}" y2="{top}" stroke="{GRID}" stroke-dasharray="3 3"/>')
        body.append(_t(left - 4, top + 4, str(top_count), 10, "end", MUTED))
        body.append(_t(left - 4, bottom + 4, "0", 10, "end", MUTED))
        n = max(len(counts), 1)
        bw = (right - left) / n
        for b, c in enumerate(counts):
            h = (bottom - top) * c / top_count
            if h > 0:
                body.append(f'<rect x="{left + b * bw + 0.5:.1f}" y="{bottom - h:.1f}" width="{max(bw - 1, 0.5):.1f}" '
                            f'height="{h:.1f}" fill="{BAR}" stroke="{ACCENT}" stroke-width="0.6"/>')
        if ends:
            body.append(_t(left, bottom + 15, ends[0], 10, "start", MUTED))
            body.append(_t(right, bottom + 15, ends[-1], 10, "end", MUTED))
    return _svg(width, rows * ph + (rows - 1) * gap, body)


def box_rows(labels: Sequence[str], quartiles: Sequence[Sequence[float]], xlabel: str, top: float,
             threshold: float | None = None, threshold_label: str = "") -> str:
    """One row per label: a box from the 25th to the 75th percentile, the median as a bar, whiskers from the 5th
    to the 95th percentile (``quartiles[i]`` = p5, p25, median, p75, p95); a dashed line at ``threshold``."""
    row, left, right_pad, head = 22, 230, 20, 26
    width = 760
    plot = width - left - right_pad
    height = head + row * max(len(labels), 1) + 40
    top = max(top, 1e-9)

    def x(v: float) -> float:
        return left + plot * min(max(v, 0.0), top) / top

    body: list[str] = []
    for k in range(6):  # grid and ticks at sixths of the range
        v = top * k / 5
        body.append(f'<line x1="{x(v):.1f}" y1="{head - 4}" x2="{x(v):.1f}" y2="{height - 34}" stroke="{GRID}"/>')
        body.append(_t(x(v), height - 20, f"{v:.0f}", 10, "middle", MUTED))
    body.append(_t(left + plot / 2, height - 5, xlabel, 11, "middle", limit=110))
    if threshold is not None:
        body.append(f'<line x1="{x(threshold):.1f}" y1="{head - 8}" x2="{x(threshold):.1f}" y2="{height - 34}" '
                    f'stroke="{INK}" stroke-dasharray="5 3" stroke-width="1.2"/>')
        body.append(_t(x(threshold) + 4, head - 12, threshold_label, 10))
    for i, (label, q) in enumerate(zip(labels, quartiles)):
        y = head + i * row + row / 2
        body.append(_t(left - 8, y + 4, label, 11, "end"))
        p5, p25, p50, p75, p95 = q
        body.append(f'<line x1="{x(p5):.1f}" y1="{y:.1f}" x2="{x(p95):.1f}" y2="{y:.1f}" stroke="{ACCENT}"/>')
        body.append(f'<rect x="{x(p25):.1f}" y="{y - 6:.1f}" width="{max(x(p75) - x(p25), 1):.1f}" height="12" '
                    f'fill="{BAR}" stroke="{ACCENT}"/>')
        body.append(f'<line x1="{x(p50):.1f}" y1="{y - 7:.1f}" x2="{x(p50):.1f}" y2="{y + 7:.1f}" stroke="{INK}" '
                    'stroke-width="2"/>')
    return _svg(width, height, body)


def ci_bars(labels: Sequence[str], values: Sequence[float | None], cis: Sequence[Sequence[float | None]],
            xlabel: str, low: float = -1.0, high: float = 1.0, chance: float | None = None) -> str:
    """Horizontal bars from 0 to each value on a ``low``..``high`` axis, its 95% CI as a whisker; a dashed line
    at ``chance`` (what a metric that guesses scores)."""
    row, left, right_pad, head = 24, 200, 24, 16
    width = 720
    plot = width - left - right_pad
    height = head + row * max(len(labels), 1) + 44

    def x(v: float) -> float:
        return left + plot * (min(max(v, low), high) - low) / (high - low)

    body: list[str] = []
    for v in nice_ticks(low, high, 8):
        body.append(f'<line x1="{x(v):.1f}" y1="{head}" x2="{x(v):.1f}" y2="{height - 38}" stroke="{GRID}"/>')
        body.append(_t(x(v), height - 24, f"{v:g}", 10, "middle", MUTED))
    body.append(f'<line x1="{x(0):.1f}" y1="{head}" x2="{x(0):.1f}" y2="{height - 38}" stroke="{INK}"/>')
    if chance is not None:
        body.append(f'<line x1="{x(chance):.1f}" y1="{head - 6}" x2="{x(chance):.1f}" y2="{height - 38}" '
                    f'stroke="{INK}" stroke-dasharray="5 3"/>')
        body.append(_t(x(chance) + 4, head - 4, "chance", 10))
    body.append(_t(left + plot / 2, height - 6, xlabel, 11, "middle", limit=110))
    for i, (label, v, ci) in enumerate(zip(labels, values, cis)):
        y = head + i * row + row / 2
        body.append(_t(left - 8, y + 4, label, 11, "end"))
        if v is None:
            body.append(_t(x(0) + 4, y + 4, "n/a", 10, "start", MUTED))
            continue
        a, b = sorted((x(0), x(v)))
        body.append(f'<rect x="{a:.1f}" y="{y - 7:.1f}" width="{max(b - a, 1):.1f}" height="14" fill="{BAR}" '
                    f'stroke="{ACCENT}"/>')
        if ci and None not in ci:
            lo, hi = x(float(ci[0])), x(float(ci[1]))  # type: ignore[arg-type]
            body.append(f'<line x1="{lo:.1f}" y1="{y:.1f}" x2="{hi:.1f}" y2="{y:.1f}" stroke="{INK}" stroke-width="1.6"/>')
            for end in (lo, hi):
                body.append(f'<line x1="{end:.1f}" y1="{y - 5:.1f}" x2="{end:.1f}" y2="{y + 5:.1f}" stroke="{INK}" '
                            'stroke-width="1.6"/>')
    return _svg(width, height, body)


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering ``low``..``high``."""
    if not high - low > 1e-9:  # equal, or apart by less than any reported decimal (ticks are rounded to 12)
        low = math.floor(low)
        high = low + 1.0
    raw = (high - low) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    v = start
    while v <= high + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def forest(labels: Sequence[str], values: Sequence[float | None], cis: Sequence[Sequence[float | None]],
           xlabel: str) -> str:
    """Dot plot: one row per label (first at the top), its value as a dot and its 95% CI as a whisker."""
    ends = [float(x) for v, ci in zip(values, cis) for x in ([v] + list(ci or [])) if x is not None
            and math.isfinite(float(x))]
    ticks = nice_ticks(min(ends, default=0.0), max(ends, default=1.0))
    low, high = ticks[0], ticks[-1]
    row, left, right_pad, head = 26, 230, 24, 10
    width = 760
    plot = width - left - right_pad
    height = head + row * max(len(labels), 1) + 44

    def x(v: float) -> float:
        return left + plot * (v - low) / (high - low)

    body: list[str] = []
    decimals = max(0, -math.floor(math.log10(ticks[1] - ticks[0]))) if len(ticks) > 1 else 0
    for v in ticks:
        body.append(f'<line x1="{x(v):.1f}" y1="{head}" x2="{x(v):.1f}" y2="{height - 38}" stroke="{GRID}"/>')
        body.append(_t(x(v), height - 24, f"{v:.{decimals}f}", 10, "middle", MUTED))
    body.append(f'<line x1="{left}" y1="{height - 38}" x2="{width - right_pad}" y2="{height - 38}" stroke="{MUTED}"/>')
    body.append(_t(left + plot / 2, height - 6, xlabel, 11, "middle", limit=110))
    for i, (label, v, ci) in enumerate(zip(labels, values, cis)):
        y = head + i * row + row / 2
        body.append(_t(left - 8, y + 4, label, 11, "end"))
        if v is None or not math.isfinite(v):
            continue
        if ci and None not in ci:
            lo, hi = x(float(ci[0])), x(float(ci[1]))  # type: ignore[arg-type]
            body.append(f'<line x1="{lo:.1f}" y1="{y:.1f}" x2="{hi:.1f}" y2="{y:.1f}" stroke="{ACCENT}" '
                        'stroke-width="1.8"/>')
            for end in (lo, hi):
                body.append(f'<line x1="{end:.1f}" y1="{y - 5:.1f}" x2="{end:.1f}" y2="{y + 5:.1f}" stroke="{ACCENT}" '
                            'stroke-width="1.8"/>')
        body.append(f'<circle cx="{x(v):.1f}" cy="{y:.1f}" r="4.5" fill="{ACCENT}"/>')
    return _svg(width, height, body)
