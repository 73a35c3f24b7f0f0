"""One model on one split: what it is, its metrics (settings in a disclosure), the distribution of its per-item
scores, its failed items, and its items, each linked to the item's page."""

from __future__ import annotations

from typing import Any

from altbench.publish import charts, labels, svg
from altbench.publish.entries import entry_of
from altbench.publish.html import Block, Cell, Column, Details, F, Facts, H, P, Site, T, Table
from altbench.publish.item_pages import ITEMS
from altbench.publish.pages import DASH, LeaderboardConfig, SplitView, crumbs, model_page, render
from altbench.publish.runs import RunData, scorings_text
from altbench.publish.settings import interval_text, signatures_details
from altbench.publish.tables import (
    LENGTH_KEY,
    failures_table,
    item_table,
    metrics_table,
    per_item,
    quantile,
    svg_figure,
)
from altbench.publish.thumbs import Thumbnails
from altbench.results.model import short_model_name

QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


def model_page_html(site: Site, pg: SplitView, run: RunData, thumbs: Thumbnails, cfg: LeaderboardConfig) -> None:
    g = pg.g
    res = run.results
    c = run.counts
    split = run.split
    e = entry_of(run)
    name = short_model_name(run.model_name)  # a published page names no path of the machine that made it
    facts = [("Model", run.label if name == run.label else f"{run.label} ({name})"),
             ("Base model", e.base or DASH), ("Recipe", e.recipe or DASH), ("Checkpoint", e.checkpoint or DASH),
             ("Run on", e.date or DASH), ("Split", g.name),
             ("Items evaluated", f"{split.get('n_evaluated', DASH)} of {split.get('n_items', DASH)}"
                                 + (" (subset)" if split.get("subset") else "")),
             ("Scored / failed / missing / empty",
              f"{c.get('scored', 0)} / {c.get('failed', 0)} / {c.get('missing', 0)} / {c.get('empty', 0)}"),
             ("Intervals", interval_text(res.get("bootstrap") or {}) or DASH)]
    blocks: list[Block] = [Facts(facts), Details("Run details: adapter, scorings, bootstrap settings, versions", [
        Facts([("Target", str(res.get("model", {}).get("target") or DASH)), ("Run id", run.run_id or DASH),
               ("Convention", str(res.get("convention", DASH))), ("Scorings", scorings_text(run)),
               ("Bootstrap", ", ".join(f"{k} {v}" for k, v in (res.get("bootstrap") or {}).items()) or DASH),
               ("Git commit", str(res.get("git_commit") or DASH)),
               ("Versions", ", ".join(f"{k} {v}" for k, v in (res.get("versions") or {}).items() if v) or DASH)])])]
    for note in run.notes:
        blocks.append(P(note, "note"))
    if g.items_note:
        blocks.append(P(g.items_note, "note"))
    blocks += [H("Metrics", 2, "metrics-h"),
               T(metrics_table(run, "metrics", f"Metrics of {run.label} on {g.name}", pg.rankings)),
               signatures_details(run.metrics, "signatures", f"the metrics of {run.label}")]
    blocks += distribution_blocks(run, pg)
    if run.failures:
        blocks += [H("Failed items", 2, "failures-h"),
                   P("Failed items were not scored (a failure is never scored as an empty string)."),
                   T(failures_table(run, "failures"))]
    head = pg.headline
    hint = f"To see the worst items first, sort by {labels.metric_name(head)} (ascending). " if head else ""
    pages = {i: f"{ITEMS}/{f}" for i, f in pg.item_pages.items()}
    link = " Each item's ID links to its page: the post, its references and every model's output." if pages else ""
    blocks += [H("Items", 2, "items-h"),
               P("One row per evaluated item in split order. Per-item scores are in the metric's reported scale "
                 f"(every metric is in the downloads); the image's alternative text is its reference. {hint}{link}")]
    blocks.append(T(item_table(run, g.items, thumbs, "items", f"Item-level results of {run.label} on {g.name}",
                               note="Failed and missing items have no scores and sort last.", pages=pages,
                               keys=labels.main_metrics(pg.quality) or None)))
    render(site, f"{g.slug}/{model_page(run)}", cfg, f"{run.label} on {g.name}",
           f"Model: {run.label} on {g.name}", blocks, crumbs(pg, run.label))


def distribution_blocks(run: RunData, pg: SplitView) -> list[Block]:
    """Histograms of the run's per-item scores, one panel per main metric and the length; a table of their
    quartiles beside them, and the counts per bin in a disclosure."""
    keys = [k for k in (labels.main_metrics(pg.quality) or pg.quality) if k in run.metrics] + (
        [LENGTH_KEY] if LENGTH_KEY in run.metrics else [])
    panels: list[tuple[str, list[str], list[int]]] = []
    summary = Table("distribution", f"Per-item scores of {run.label}: quartiles per metric",
                    [Column("metric", "Metric", row_header=True), Column("n", "Items", numeric=True)]
                    + [Column(f"q{k}", t, numeric=True) for k, t in
                       enumerate(("Minimum", "25th percentile", "Median", "75th percentile", "Maximum"))]
                    + [Column("mean", "Mean of items", numeric=True)])
    counts_table = Table("distribution-bins", f"Per-item scores of {run.label}: items per bin",
                         [Column("metric", "Metric", row_header=True), Column("bin", "Bin"),
                          Column("items", "Items", numeric=True)], export=False)
    alt_parts = []
    for key in keys:
        values = sorted(per_item(run, key))
        if not values:
            continue
        meta = run.metrics[key]
        fmt = (lambda x: f"{x:.0f}") if key == LENGTH_KEY else (lambda x, k=key, m=meta: labels.fmt(k, x, m))
        edges = charts.score_edges(values)
        counts = charts.histogram(values, edges)
        bins = charts.bin_labels(edges, fmt)
        name = labels.metric_name(key)
        top = fmt(max(values))
        panels.append((name, [fmt(edges[0]), top], counts))
        qs = [quantile(values, q) for q in QUANTILES]
        cells: dict[str, Any] = {"metric": Cell(name), "n": Cell(str(len(values)), sort=float(len(values))),
                                 "mean": Cell(fmt(sum(values) / len(values)), sort=sum(values) / len(values))}
        for k, q in enumerate(qs):
            cells[f"q{k}"] = Cell(fmt(q), sort=q)
        summary.add(cells, {"metric": key, "n": len(values), **{f"q{int(q * 100)}": v for q, v in zip(QUANTILES, qs)},
                            "mean": sum(values) / len(values)})
        for b, (text, count) in enumerate(zip(bins, counts)):
            counts_table.add({"metric": Cell(name), "bin": Cell(text, sort=float(b)),
                              "items": Cell(str(count), sort=float(count))}, {})
        alt_parts.append(f"{name}: median {fmt(qs[2])}, half of the items between {fmt(qs[1])} and {fmt(qs[3])}")
    if not panels:
        return []
    fig = svg_figure(svg.histogram_panels(panels),
                     f"Histograms of {run.label}'s per-item scores, one panel per metric. " + "; ".join(alt_parts)
                     + ". The quartiles are in the table below the chart, the counts per bin in the disclosure under it.",
                     f"Per-item scores of {run.label}, one histogram per metric (the count axis of each panel is "
                     f"its own). The table \u201c{summary.caption}\u201d holds their quartiles.")
    return [H("Distribution of per-item scores", 2, "distribution-h"), F(fig), T(summary),
            Details("Items per bin of each histogram", [T(counts_table)])]
