"""Deterministic matplotlib SVG charts, each drawn from the same numbers its page shows as a table.

matplotlib is imported here only (the publishing path), with the SVG backend through a bare ``Figure`` (no
pyplot state), fixed ``svg.hashsalt`` and no date or creator metadata, so rebuilding gives identical
bytes. Text stays text (``svg.fonttype: none``), which keeps the files small.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np

INK = "#1a1a1a"
ACCENT = "#1f4e79"  # 8.9:1 on white
GRID = "#d0d0d0"
BAR = "#4a77a8"
MAX_LABEL = 40
RC = {
    "svg.hashsalt": "altbench", "svg.fonttype": "none", "font.family": ["DejaVu Sans"], "font.size": 10,
    "text.color": INK, "axes.labelcolor": INK, "axes.edgecolor": "#555555", "xtick.color": INK,
    "ytick.color": INK, "axes.spines.top": False, "axes.spines.right": False, "text.usetex": False,
    "path.simplify": True,
}


@contextmanager
def _style():
    from altbench.publish.html import require

    matplotlib = require("matplotlib")

    with matplotlib.rc_context(RC):
        yield


def _plain(text: str, limit: int = MAX_LABEL) -> str:
    """A label as literal text: shortened, ``$`` escaped so mathtext never parses it."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return minify_svg(buf.getvalue())


_DECIMALS = re.compile(r"(\d+\.\d\d)\d+")
_ATTR = re.compile(r'="([^"]*)"')


def minify_svg(svg: str) -> str:
    """Smaller, same drawing: no prolog or metadata, no unreferenced ids, coordinates to 1/100 pt.

    Numbers are shortened inside attribute values only, never in text (labels keep every character).
    """
    svg = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    referenced = set(re.findall(r"#([A-Za-z0-9_.-]+)\)?\"", svg))

    def tag(m: re.Match) -> str:  # text never holds a raw < or >, so this sees tags only
        t = re.sub(r' id="([^"]+)"', lambda a: a.group(0) if a.group(1) in referenced else "", m.group(0))
        t = re.sub(r' transform="rotate\(-0 [^)]*\)"', "", t)
        return _ATTR.sub(lambda a: '="' + _DECIMALS.sub(r"\1", " ".join(a.group(1).split())) + '"', t)

    svg = re.sub(r"<[^!?][^>]*>", tag, svg)
    return re.sub(r">\s+<", "><", svg).strip() + "\n"


def histogram(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts per bin; the last bin is open-ended (values beyond the last edge count there)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    e = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(e, v, side="right") - 1, 0, len(e) - 1)
    return np.bincount(idx, minlength=len(e)).astype(int).tolist()


def length_edges(values: Sequence[float], step: int = 25, cap: int = 500) -> list[float]:
    top = max([v for v in values if v is not None and math.isfinite(v)] or [0.0])
    last = int(min(cap, max(250, step * math.ceil((top + 1) / step))))
    return [float(x) for x in range(0, last + 1, step)]


def score_edges(values: Sequence[float], bins: int = 10) -> list[float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    top = max(finite or [1.0])
    bottom = min(0.0, min(finite or [0.0]))
    if top <= bottom:
        top = bottom + 1.0
    width = (top - bottom) / bins
    return [bottom + k * width for k in range(bins)]


def bin_labels(edges: Sequence[float], fmt) -> list[str]:
    out = []
    for i, lo in enumerate(edges):
        if i + 1 < len(edges):
            out.append(f"{fmt(lo)} to under {fmt(edges[i + 1])}")
        else:
            out.append(f"{fmt(lo)} or more")
    return out


def bar_panels(edges: Sequence[float], counts: dict[str, list[int]], xlabel: str,
               threshold: float | None = None, threshold_label: str = "") -> str:
    """One histogram panel per model (shared axes), so models are told apart by their label, not colour."""
    with _style():
        from matplotlib.figure import Figure

        n = max(len(counts), 1)
        fig = Figure(figsize=(6.4, 0.6 + 1.35 * n), dpi=72)
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        e = list(edges)
        width = (e[1] - e[0]) if len(e) > 1 else 1.0
        top = max([max(c) for c in counts.values() if c] + [1])
        for ax, (label, c) in zip(axes, counts.items()):
            ax.bar([x + width / 2 for x in e], c, width=width * 0.92, color=BAR, edgecolor=ACCENT, linewidth=0.6)
            ax.set_ylim(0, top * 1.15)
            ax.set_title(_plain(label), loc="left", fontsize=10)
            ax.set_ylabel("items")
            if threshold is not None:
                ax.axvline(threshold, color=INK, linestyle="--", linewidth=1.2)
        if threshold is not None and threshold_label:
            axes[0].text(threshold, top * 1.12, " " + _plain(threshold_label), va="top", ha="left", fontsize=9)
        axes[-1].set_xlabel(_plain(xlabel, 80))
        axes[-1].set_xlim(e[0], e[-1] + width)
        fig.tight_layout()
        return _svg(fig)
