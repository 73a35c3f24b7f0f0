"""The arena's charts (and the judge check's): ratings with intervals, the win/tie/loss heatmap.

Drawn with the shared chart style of :mod:`altbench.publish.charts` (deterministic SVG, text as text). Every
chart has a table holding the same numbers on its page, and tells its series apart by marker shape and a
legend, and its cells by the numbers written in them, never by colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from altbench.publish.charts import ACCENT, GRID, INK, _plain, _style, _svg
from altbench.results.numbers import fmt

SECOND = "#7a3b00"  # the second series: 8.6:1 on white, told apart by a hollow square marker too


def interval_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None],
                                                                  Sequence[Sequence[float | None]]]],
                   xlabel: str, reference: float | None = None, xlim: tuple[float, float] | None = None) -> str:
    """Horizontal dot plot, one row per label (first at the top), one marker per series with its 95% interval:
    series 1 a filled circle, series 2 a hollow square just below it; a dashed line at ``reference``."""
    with _style():
        from matplotlib.figure import Figure

        n = len(labels)
        fig = Figure(figsize=(6.4, 1.2 + 0.5 * max(n, 1) * max(1, len(series)) ** 0.5), dpi=72)
        ax = fig.add_subplot()
        ys = np.arange(n)[::-1].astype(float)
        styles = [{"fmt": "o", "color": ACCENT, "ecolor": ACCENT, "markersize": 6},
                  {"fmt": "s", "color": SECOND, "ecolor": SECOND, "markersize": 6, "markerfacecolor": "white"}]
        offsets = [0.0] if len(series) == 1 else [0.14, -0.14]
        for (name, values, cis), style, off in zip(series, styles, offsets):
            first = True
            for y, v, ci in zip(ys, values, cis):
                if v is None or not math.isfinite(v):
                    continue
                lo, hi = (ci if ci and None not in ci else (v, v))
                ax.errorbar([v], [y + off], xerr=[[max(v - lo, 0.0)], [max(hi - v, 0.0)]], elinewidth=1.6,
                            capsize=4, label=_plain(name) if first else None, **style)
                first = False
        if reference is not None:
            ax.axvline(reference, color=INK, linestyle="--", linewidth=1.0)
        ax.set_yticks(ys, [_plain(label) for label in labels])
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel(_plain(xlabel, 80))
        if xlim is not None:
            ax.set_xlim(*xlim)
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        if len(series) > 1:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(series), frameon=False)
        return _svg(fig)


def win_heatmap(labels: Sequence[str], matrix: dict[str, dict[str, dict[str, int]]]) -> str:
    """Row model's win rate (ties half) against each column model, the rate and W/T/L written in each cell.
    The colours stop at a middle blue (the light half of matplotlib's Blues), so the dark text keeps a contrast
    of 7:1 or more in every cell."""
    with _style():
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure

        n = len(labels)
        rate = np.full((n, n), np.nan)
        for r, row in enumerate(labels):
            for c, col in enumerate(labels):
                e = matrix.get(row, {}).get(col)
                total = (e["wins"] + e["ties"] + e["losses"]) if e else 0
                if total:
                    rate[r, c] = (e["wins"] + e["ties"] / 2) / total
        side = 1.0 + 1.05 * max(n, 1)
        fig = Figure(figsize=(side + 2.6, side), dpi=72)
        ax = fig.add_subplot()
        cmap = ListedColormap(colormaps["Blues"](np.linspace(0.0, 0.5, 256)))
        shown = np.ma.masked_invalid(rate)
        image = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=1.0)
        for r in range(n):
            for c in range(n):
                e = matrix.get(labels[r], {}).get(labels[c])
                if not e or not math.isfinite(rate[r, c]):
                    ax.text(c, r, "\u2013", ha="center", va="center", color=INK)
                    continue
                ax.text(c, r, f"{fmt(rate[r, c], digits=2)}\n{e['wins']}/{e['ties']}/{e['losses']}", ha="center",
                        va="center", fontsize=9, color=INK)
        short = [_plain(label, 18) for label in labels]
        ax.set_xticks(range(n), short, rotation=30, ha="right")
        ax.set_yticks(range(n), short)
        ax.set_xlabel("against (column)")
        ax.set_ylabel("model (row)")
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("row's win rate (ties half)")
        return _svg(fig)
