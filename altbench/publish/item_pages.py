"""Per-item pages (as HELM's instance pages): one page per item of a split, and an index of the items.

Each item page shows the image, the post text (the context the alt-text should use), the references, and every
model's output side by side with its per-metric scores, with previous/next links in split order. Model pages
link each item row here. A split with many items and models gets pages for its first items only (split
order), so that the site stays a size one can publish: at most :data:`MAX_OUTPUTS` outputs in all; the
model pages' downloads hold every item.
"""

from __future__ import annotations

from typing import Any

from altbench.publish import labels
from altbench.publish.html import Block, Bullets, Cell, Column, Columns, F, Group, H, Nav, P, Site, T, Table
from altbench.publish.pages import DASH, LeaderboardConfig, SplitView, model_page, render, sort_value
from altbench.publish.runs import slugify
from altbench.publish.tables import LENGTH_KEY, Figure, item_ids
from altbench.publish.thumbs import Thumbnails

ITEMS = "items"  # the folder of a split's item pages
MAX_OUTPUTS = 20_000  # items x models shown on item pages, per split
IMAGE_PX = 320  # the item page's image: larger than a thumbnail, still a small data: URL


def plan_item_pages(pg: SplitView) -> dict[str, str]:
    """Item id -> page file name, in split order, for the items that get a page (none when there is nothing
    to show beyond the scores: no split data and no predictions)."""
    runs = pg.g.runs
    if pg.g.items is None and not any(r.predictions for r in runs):
        return {}
    ids: list[str] = []
    seen: set[str] = set()
    for run in runs:
        for item_id in item_ids(run, pg.g.items):
            if item_id not in seen:
                seen.add(item_id)
                ids.append(item_id)
    if pg.g.items is not None:  # split order
        order = {item_id: k for k, item_id in enumerate(pg.g.items)}
        ids.sort(key=lambda i: (order.get(i, len(order)), i))
    ids = ids[: max(1, MAX_OUTPUTS // max(len(runs), 1))]
    used: set[str] = set()
    pages = {}
    for item_id in ids:
        base = f"item-{slugify(item_id, 48)}"
        name, k = base, 2
        while name in used:
            name, k = f"{base}-{k}", k + 1
        used.add(name)
        pages[item_id] = f"{name}.html"
    return pages


def item_pages_html(site: Site, pg: SplitView, cfg: LeaderboardConfig) -> None:
    """Every planned item page of the split, and the items' index."""
    if not pg.item_pages:
        return
    images = Thumbnails(size=IMAGE_PX, enabled=cfg.images)
    ids = list(pg.item_pages)
    for k, item_id in enumerate(ids):
        prev_id = ids[k - 1] if k else None
        next_id = ids[k + 1] if k + 1 < len(ids) else None
        _item_page(site, pg, cfg, item_id, prev_id, next_id, images)
    _index_page(site, pg, cfg, ids)


def _crumbs(pg: SplitView, here: str | None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = [("Overview", "../../index.html"), (f"Split {pg.g.name}", "../index.html"),
                                          ("Items", "index.html" if here else None)]
    return out + ([(here, None)] if here else [])


def _item_page(site: Site, pg: SplitView, cfg: LeaderboardConfig, item_id: str, prev_id: str | None,
               next_id: str | None, images: Thumbnails) -> None:
    g = pg.g
    item = g.items.get(item_id) if g.items is not None else None
    nav = Nav("Items of this split", [
        (f"Previous item: {prev_id}" if prev_id else "No previous item", pg.item_pages[prev_id] if prev_id else None),
        ("All items", "index.html"),
        (f"Next item: {next_id}" if next_id else "No next item", pg.item_pages[next_id] if next_id else None)])
    blocks: list[Block] = [nav]
    if item is not None:
        src = images.get(item)
        picture: Block = F(Figure(src, item.chosen or f"image of item {item_id}",
                                  "The image; its alternative text here is the item's reference.")) if src else \
            P("The image could not be read." if cfg.images else "Images are left out of this site.", "muted")
        text = Group([H("Post text", 2, "post"), P(item.context or "(no context)", "post"),
                      H("References", 2, "references"),
                      Bullets(list(item.references) or ["(no reference)"])])
        blocks.append(Columns([picture, text]))
    elif g.items_note:
        blocks.append(P(g.items_note, "note"))
    blocks += [H("Every model's output", 2, "outputs-h"), T(_outputs_table(pg, item_id))]
    render(site, f"{g.slug}/{ITEMS}/{pg.item_pages[item_id]}", cfg, f"Item {item_id} on {g.name}",
           f"Item {item_id} on {g.name}", blocks, _crumbs(pg, f"Item {item_id}"))


def _outputs_table(pg: SplitView, item_id: str) -> Table:
    keys = labels.main_metrics(pg.quality) or pg.quality
    cols = [Column("model", "Model", row_header=True), Column("output", "Alt-text written")]
    cols += [Column(k, labels.metric_name(k), numeric=True) for k in keys]
    cols.append(Column("length", "Length (characters)", numeric=True))
    t = Table("outputs", f"The alt-text every model wrote for item {item_id}, with its per-item scores", cols,
              filterable=True, export=False,
              note="Models in the overview's order. Per-item scores are in each metric's reported scale; a "
                   "corpus-level metric's per-item score is shown for reading, its corpus value is not their mean.")
    for run in pg.runs:
        cells, _ = output_cells(run, item_id, keys)
        cells["model"] = Cell(run.label, href=f"../{model_page(run)}", sort=run.label)
        t.add(cells, {})
    return t


def output_cells(run: Any, item_id: str, keys: list[str]) -> tuple[dict[str, Cell], str]:
    """The output cell (with its status when not scored), score cells and length of one run on one item."""
    failures = {str(f.get("id")): str(f.get("error", "")) for f in run.failures}
    scores = run.scores.get(item_id, {})
    rec = run.predictions.get(item_id)
    if item_id in failures:
        status, text = f"failed: {failures[item_id]}", DASH
    elif item_id in run.scores:
        text = rec.prediction if rec is not None and rec.prediction is not None else (
            "(predictions file not available)" if not run.predictions else DASH)
        status = "empty output" if rec is not None and rec.prediction is not None and not rec.prediction.strip() \
            else "scored"
    else:
        status, text = "not evaluated", DASH
    cells = {"output": Cell(text, long=True, sub=None if status == "scored" else status)}
    for k in keys:
        raw = scores.get(k)
        meta = run.metrics.get(k)
        scale = float((meta or {}).get("scale") or 1.0)
        cells[k] = Cell(labels.fmt_item(k, raw, meta), sort=sort_value(raw * scale if labels.finite(raw) else None))
    length = scores.get(LENGTH_KEY)
    cells["length"] = Cell(labels.fmt_item(LENGTH_KEY, length), sort=sort_value(length))
    return cells, status


def _index_page(site: Site, pg: SplitView, cfg: LeaderboardConfig, ids: list[str]) -> None:
    g = pg.g
    head = pg.headline
    cols = [Column("id", "Item", row_header=True), Column("context", "Post text"), Column("reference", "Reference")]
    if head:
        cols.append(Column("best", f"Highest {labels.metric_name(head)}"))
    t = Table("items", f"Items of {g.name} with a page of every model's output", cols, filterable=True)
    for item_id in ids:
        item = g.items.get(item_id) if g.items is not None else None
        refs = list(item.references) if item is not None else []
        cells = {"id": Cell(item_id, href=pg.item_pages[item_id]),
                 "context": Cell(item.context if item is not None else DASH, long=True),
                 "reference": Cell(" | ".join(refs) or DASH, long=True)}
        record: dict[str, Any] = {"id": item_id, "page": f"{ITEMS}/{pg.item_pages[item_id]}",
                                  "context": item.context if item is not None else None, "references": refs}
        if head:
            best = _best(pg, item_id, head)
            cells["best"] = Cell(best or DASH)
            record["best"] = best
        t.add(cells, record)
    n_all = len({i for r in g.runs for i in item_ids(r, g.items)})
    blocks: list[Block] = [P(f"{len(ids)} of {n_all} items have a page." + (
        f" A split of {n_all} items and {len(g.runs)} models gets pages for its first {len(ids)} items (split "
        "order); each model page's downloads hold every item." if len(ids) < n_all else ""))]
    blocks.append(T(t))
    render(site, f"{g.slug}/{ITEMS}/index.html", cfg, f"Items of {g.name}", f"Items of {g.name}", blocks,
           _crumbs(pg, None))


def _best(pg: SplitView, item_id: str, key: str) -> str:
    """The model(s) with the best per-item score on ``key`` (direction-aware), as text."""
    scored = [(r.label, r.scores.get(item_id, {}).get(key)) for r in pg.runs]
    scored = [(label, float(v)) for label, v in scored if labels.finite(v)]
    if not scored:
        return ""
    higher = bool(pg.g.runs[0].metrics.get(key, {}).get("higher_is_better", True))
    best = max(v for _, v in scored) if higher else min(v for _, v in scored)
    return ", ".join(label for label, v in scored if v == best)
