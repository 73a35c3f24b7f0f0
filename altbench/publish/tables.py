"""Tables and charts shared by the leaderboard and the report, each table with its export records."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from altbench.data.items import Item
from altbench.publish import charts, labels
from altbench.publish.html import Cell, Column, Table, data_url
from altbench.publish.ranks import MetricRanking
from altbench.publish.runs import RunData
from altbench.publish.svg import forest
from altbench.publish.thumbs import Thumbnails

LENGTH_KEY = "diag/length_chars"
OVER_KEY = "diag/over_125_chars"
EMPTY_KEY = "diag/empty"


@dataclass
class Figure:
    src: str  # data: URL of the SVG
    alt: str
    caption: str


def svg_figure(svg: str, alt: str, caption: str) -> Figure:
    return Figure(data_url("image/svg+xml", svg.encode("utf-8")), alt, caption)


def _num(x: Any) -> float | None:
    return float(x) if labels.finite(x) else None


def metric_cell(run: RunData, key: str) -> Cell:
    m = run.metrics.get(key)
    if m is None:
        return Cell("not scored", sort="")
    value = _num(m.get("value"))
    return Cell(labels.fmt(key, value, m), sort=value if value is not None else "",
                sub=f"95% CI {labels.fmt_ci(key, m.get('ci95'), m)}")


def metric_record(run: RunData, key: str) -> dict[str, Any]:
    m = run.metrics.get(key) or {}
    ci = m.get("ci95") or [None, None]
    return {f"{key}": _num(m.get("value")), f"{key} ci95_low": _num(ci[0]), f"{key} ci95_high": _num(ci[1]),
            f"{key} n": m.get("n")}


def metrics_table(run: RunData, table_id: str, caption: str,
                  rankings: dict[str, MetricRanking] | None = None) -> Table:
    """One row per metric of one run: value, 95% CI, n and rank (when ranked); the signatures are in the
    downloads and in :func:`altbench.publish.settings.signatures_details`."""
    cols = [Column("metric", "Metric", row_header=True), Column("value", "Value", numeric=True),
            Column("ci", "95% CI", sortable=False, cls="nowrap"), Column("n", "n", numeric=True)]
    if rankings is not None:
        cols.append(Column("rank", "Rank", numeric=True))
    t = Table(table_id, caption, cols)
    for key in labels.metric_order(list(run.metrics)):
        m = run.metrics[key]
        value, ci = _num(m.get("value")), m.get("ci95") or [None, None]
        cells = {"metric": Cell(labels.metric_name(key), sub=key), "value": Cell(labels.fmt(key, value, m), sort=_sort(value)),
                 "ci": Cell(labels.fmt_ci(key, ci, m)), "n": Cell(str(m.get("n", "")), sort=_sort(m.get("n")))}
        record = {"metric": key, "name": labels.metric_name(key), "value": value, "ci95_low": _num(ci[0]),
                  "ci95_high": _num(ci[1]), "n": m.get("n"), "higher_is_better": m.get("higher_is_better"),
                  "scale": m.get("scale"), "signature": m.get("signature")}
        if rankings is not None:
            standing = rankings[key].standings.get(run.label) if key in rankings else None
            rank_text = standing.rank_text if standing else "not ranked (diagnostic)"
            cells["rank"] = Cell(rank_text, sort=_sort(standing.rank if standing else None))
            record["rank"] = standing.rank if standing else None
            record["tied"] = bool(standing and standing.tied_with)
        t.add(cells, record)
    return t


def _sort(x: Any) -> float | str:
    return float(x) if labels.finite(x) else ""


def failures_table(run: RunData, table_id: str) -> Table:
    t = Table(table_id, f"Failed items of {run.label} ({len(run.failures)})",
              [Column("id", "Item ID", row_header=True), Column("error", "Reason")])
    for f in run.failures:
        t.add({"id": Cell(str(f.get("id", ""))), "error": Cell(str(f.get("error", "")), long=True)},
              {"id": f.get("id"), "error": f.get("error")})
    return t


def item_ids(run: RunData, items: dict[str, Item] | None) -> list[str]:
    """Every evaluated item of a run, in split order: scored, failed and missing."""
    wanted = set(run.scores) | {str(f.get("id")) for f in run.failures} | {str(i) for i in run.results.get("missing", [])}
    if items is not None:
        ordered = [i for i in items if i in wanted]
        return ordered + sorted(wanted - set(ordered))
    return sorted(wanted, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))


MAX_ROWS = 1000


def item_table(run: RunData, items: dict[str, Item] | None, thumbs: Thumbnails, table_id: str, caption: str,
               ids: list[str] | None = None, note: str | None = None, max_rows: int | None = MAX_ROWS,
               pages: dict[str, str] | None = None, keys: list[str] | None = None) -> Table:
    """Item-level table: image (alt: its reference), ID (linked to the item's page in ``pages``), context,
    reference, prediction (with its status when it was not scored), the per-item scores of ``keys`` (default:
    every quality metric) and the length. The downloads hold every quality metric and the status.

    Past ``max_rows`` items the page shows the lowest-scoring ones on the headline metric (the downloads
    still hold every item), so a full test split does not make a page of many megabytes.
    """
    every = [k for k in labels.metric_order(list(run.metrics)) if labels.is_quality(k)]
    shown_keys = [k for k in (keys if keys is not None else every) if k in run.metrics]
    ids = ids if ids is not None else item_ids(run, items)
    shown = set(ids)
    if max_rows is not None and len(ids) > max_rows:
        shown = set(_worst(run, ids, every[0] if every else None)[:max_rows])
        what = f"the {max_rows} lowest-scoring by {labels.metric_name(every[0])}" if every else f"the first {max_rows}"
        limit_note = f"This page shows {what} of {len(ids)} items; the CSV and JSON downloads hold all of them."
        note = f"{note} {limit_note}" if note else limit_note
    show_images = thumbs.enabled and items is not None
    cols = []
    if show_images:
        cols.append(Column("image", "Image", sortable=False, export=False))
    cols += [Column("id", "Item ID", row_header=True)]
    if items is not None:
        cols += [Column("context", "Context"), Column("reference", "Reference")]
    cols += [Column("prediction", "Prediction")]
    cols += [Column(k, labels.metric_name(k), numeric=True) for k in shown_keys]
    cols += [Column("length", "Length (characters)", numeric=True)]
    t = Table(table_id, caption, cols, note=note, filterable=True)
    failures = {str(f.get("id")): str(f.get("error", "")) for f in run.failures}
    scales = {k: float(run.metrics[k].get("scale") or 1.0) for k in every}
    for item_id in ids:
        item = items.get(item_id) if items is not None else None
        rec = run.predictions.get(item_id)
        scores = run.scores.get(item_id, {})
        if item_id in failures:
            status, prediction = f"failed: {failures[item_id]}", None
        elif item_id in run.scores:
            prediction = rec.prediction if rec is not None else None
            status = "empty output" if prediction is not None and not prediction.strip() else "scored"
        else:
            status, prediction = "missing: no prediction record", None
        record: dict[str, Any] = {"id": item_id}
        if items is not None:
            record["context"] = item.context if item is not None else ""
            record["references"] = list(item.references) if item is not None else []
        record["prediction"] = prediction
        for k, scale in scales.items():
            raw = scores.get(k)
            record[k] = raw * scale if raw is not None and math.isfinite(raw) else None
        length = scores.get(LENGTH_KEY)
        record["length_chars"] = length
        record["status"] = status
        if item_id not in shown:
            t.add(None, record)
            continue
        href = pages.get(item_id) if pages else None
        cells: dict[str, Cell] = {"id": Cell(item_id, href=href)}
        if show_images:
            src = thumbs.get(item)
            cells["image"] = Cell(img=(src, item.chosen)) if src and item is not None else Cell("no image")
        if items is not None:
            cells["context"] = Cell(record["context"], long=True)
            cells["reference"] = Cell(" | ".join(record["references"]), long=True)
        sub = None if status == "scored" else status
        if prediction is None and item_id in run.scores and not run.predictions:
            cells["prediction"] = Cell("(predictions file not available)", sort="", sub=sub)
        else:
            cells["prediction"] = Cell(prediction if prediction is not None else "\u2013", long=True,
                                       sort=prediction if prediction is not None else "", sub=sub)
        for k in shown_keys:
            cells[k] = Cell(labels.fmt_item(k, scores.get(k), run.metrics[k]), sort=_sort(record[k]))
        cells["length"] = Cell(labels.fmt_item(LENGTH_KEY, length), sort=_sort(length))
        t.add(cells, record)
    return t


def _worst(run: RunData, ids: list[str], key: str | None) -> list[str]:
    """``ids`` worst first on ``key`` (direction-aware); unscored items (failed, missing) first of all."""
    if key is None:
        return ids
    higher = bool(run.metrics.get(key, {}).get("higher_is_better", True))

    def order(pair: tuple[int, str]) -> tuple[int, float, int]:
        v = run.scores.get(pair[1], {}).get(key)
        if not labels.finite(v):
            return (0, 0.0, pair[0])
        return (1, float(v) if higher else -float(v), pair[0])

    return [i for _, i in sorted(enumerate(ids), key=order)]


def per_item(run: RunData, key: str) -> list[float]:
    """Per-item values of ``key`` in the reported scale (finite only)."""
    scale = float(run.metrics.get(key, {}).get("scale") or 1.0)
    return [v * scale for s in run.scores.values() if labels.finite(v := s.get(key))]


def distribution(runs: list[RunData], key: str, table_id: str, what: str, unit: str,
                 threshold: float | None = None, threshold_label: str = "") -> tuple[Table, Figure] | None:
    """Histogram of per-item ``key`` per run: a chart and the table of the very same counts."""
    values = {r.label: per_item(r, key) for r in runs}
    if not any(values.values()):
        return None
    pooled = [v for vs in values.values() for v in vs]
    if labels.split_key(key)[1].startswith("length"):
        edges = charts.length_edges(pooled)
        fmt = lambda x: f"{x:.0f}"
    else:
        edges = charts.score_edges(pooled)
        meta = next((r.metrics[key] for r in runs if key in r.metrics), None)
        fmt = lambda x: labels.fmt(key, x, meta)
    counts = {label: charts.histogram(vs, edges) for label, vs in values.items()}
    bins = charts.bin_labels(edges, fmt)
    t = Table(table_id, f"{what}: number of items per bin", [Column("bin", f"{unit}", row_header=True)]
              + [Column(f"m{i}", label, numeric=True) for i, label in enumerate(counts)])
    for b, (lo, text) in enumerate(zip(edges, bins)):
        cells = {"bin": Cell(text, sort=float(lo))}
        record: dict[str, Any] = {"bin": text, "from": lo}
        for i, (label, c) in enumerate(counts.items()):
            cells[f"m{i}"] = Cell(str(c[b]), sort=float(c[b]))
            record[label] = c[b]
        t.add(cells, record)
    svg = charts.bar_panels(edges, counts, unit, threshold, threshold_label)
    parts = []
    for label, vs in values.items():
        med = _median(vs)
        extra = ""
        if threshold is not None and vs:
            extra = f", {sum(v > threshold for v in vs)} of {len(vs)} over {threshold:.0f}"
        parts.append(f"{label}: median {fmt(med)}{extra}")
    alt = (f"Histogram of {what.lower()}, one panel per model"
           + (f", with a dashed line at {threshold_label}" if threshold is not None else "") + ". "
           + "; ".join(parts) + ". The counts per bin are in the table next to this chart.")
    fig = svg_figure(svg, alt, f"{what}, per model. The table \u201c{t.caption}\u201d holds the same counts.")
    return t, fig


def length_summary(runs: list[RunData], threshold: float) -> tuple[Table, Figure] | None:
    """Many models' output lengths: one box per model (5th, 25th, 50th, 75th, 95th percentile) and the table of
    those percentiles and the share over ``threshold`` characters."""
    from altbench.publish import svg

    values = {r.label: sorted(per_item(r, LENGTH_KEY)) for r in runs}
    values = {k: v for k, v in values.items() if v}
    if not values:
        return None
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    cols = [Column("model", "Model", row_header=True)] + [Column(f"p{int(q * 100)}", f"{int(q * 100)}th percentile"
                                                                 if q != 0.5 else "Median", numeric=True) for q in qs]
    t = Table("length-distribution", "Prediction length in characters: percentiles per model",
              cols + [Column("over", f"Over {threshold:.0f} characters", numeric=True)], filterable=True)
    quartiles = []
    for label, vs in values.items():
        row = [quantile(vs, q) for q in qs]
        quartiles.append(row)
        over = sum(v > threshold for v in vs)
        cells = {"model": Cell(label)} | {f"p{int(q * 100)}": Cell(f"{v:.0f}", sort=v) for q, v in zip(qs, row)}
        cells["over"] = Cell(f"{over} of {len(vs)}", sort=float(over) / len(vs))
        t.add(cells, {"model": label, **{f"p{int(q * 100)}": v for q, v in zip(qs, row)}, "over": over, "n": len(vs)})
    top = max(max(v[-1] for v in values.values()), threshold) * 1.05
    chart = svg.box_rows(list(values), quartiles, "Length (characters)", top, threshold, f"{threshold:.0f} characters")
    alt = (f"Box plot of prediction length per model: each box spans the 25th to the 75th percentile, the bar is the "
           f"median, the whiskers the 5th and 95th percentiles; a dashed line at {threshold:.0f} characters. The "
           f"percentiles of all {len(values)} models are in the table below the chart.")
    return t, svg_figure(chart, alt, f"Prediction length per model. The table \u201c{t.caption}\u201d holds the "
                                     "same percentiles.")


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _median(values: list[float]) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def ci_figure(runs: list[RunData], key: str, table_caption: str) -> Figure | None:
    """Dot plot of ``key`` with its 95% CI per run, alt text listing every value."""
    shown = [r for r in runs if key in r.metrics and labels.finite(r.metrics[key].get("value"))]
    if not shown:
        return None
    values = [float(r.metrics[key]["value"]) for r in shown]
    cis = [[_num(c) for c in (r.metrics[key].get("ci95") or [None, None])] for r in shown]
    higher = shown[0].metrics[key].get("higher_is_better", True)
    direction = ("higher is better" if higher else "lower is better" if labels.is_quality(key)
                 else "lower is usually better")
    name = labels.metric_name(key)
    svg = forest([r.label for r in shown], values, cis, f"{name} ({direction})")
    listing = "; ".join(f"{r.label} {labels.fmt(key, v, r.metrics[key])} "
                        f"(95% CI {labels.fmt_ci(key, ci, r.metrics[key])})" for r, v, ci in zip(shown, values, cis))
    alt = (f"Dot plot of {name} per model with 95% confidence intervals as error bars ({direction}): "
           f"{listing}.")
    return svg_figure(svg, alt, f"{name} with 95% confidence interval per model. The same numbers are in the "
                                f"table \u201c{table_caption}\u201d.")
