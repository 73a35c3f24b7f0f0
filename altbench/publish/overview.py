"""The overview page: per split, the paper's table at a glance.

One sortable, filterable table per split: each model (its display name, and what it is: base model, recipe and
checkpoint), its significance-aware rank on the headline metric, the convention's main metrics (paper: BLEU-4,
METEOR, ROUGE-L, CIDEr; the model-based metrics and the probes' reliance when present) each with its 95% CI and
its own rank, the items it scored and the date of the run. The headline metric's forest plot follows, with the
numbers in its alt text and in the table.
"""

from __future__ import annotations

from typing import Any

from altbench.publish import labels, ranks
from altbench.publish.entries import entry_of
from altbench.publish.html import Block, Bullets, Cell, Column, F, Facts, H, Links, P, Site, T, Table
from altbench.publish.pages import (
    DASH,
    LeaderboardConfig,
    SplitView,
    metric_page,
    model_page,
    render,
    sort_value,
)
from altbench.publish.probe_page import PROBE_PAGE, probed, reliance_cells, reliance_columns
from altbench.publish.tables import ci_figure, metric_record

# pages of other commands that the overview links when they were written into the leaderboard's folder
COMPANION_PAGES = (("Arena: pairwise judge battles and Bradley-Terry ratings", "arena"),
                   ("Meta-evaluation: how each metric agrees with human judgments", "meta-eval"),
                   ("Judge check: how far to trust the arena's judge", "judge-check"))


def rank_cell(pg: SplitView, key: str, label: str) -> tuple[Cell, dict[str, Any]]:
    st = pg.rankings[key].standings.get(label) if key in pg.rankings else None
    cell = Cell(st.rank_text if st else "not ranked", sort=float(st.rank) if st and st.rank is not None else "")
    return cell, {"rank": st.rank if st else None, "rank_tied": bool(st and st.tied_with)}


def value_cell(pg: SplitView, run: Any, key: str) -> Cell:
    """Value; below it the 95% CI and the metric's own significance-aware rank."""
    m = run.metrics.get(key)
    if m is None:
        return Cell("not scored", sort="")
    value = m.get("value")
    st = pg.rankings[key].standings.get(run.label) if key in pg.rankings else None
    rank = f"; rank {st.rank_text}" if st and st.rank is not None else ""
    return Cell(labels.fmt(key, value, m), sort=sort_value(value),
                sub=f"95% CI {labels.fmt_ci(key, m.get('ci95'), m)}{rank}")


def overview_table(pg: SplitView, table_id: str, prefix: str) -> Table:
    """Model | rank | the main metrics (value, CI, rank) | reliance | items scored | date."""
    head = pg.headline
    keys = labels.main_metrics(pg.quality)
    if head and head not in keys:
        keys.insert(0, head)
    cols = [Column("model", "Model", row_header=True)]
    if head:
        cols.append(Column("rank", f"Rank on {labels.metric_name(head)}", numeric=True))
    cols += [Column(k, labels.metric_name(k), numeric=True) for k in keys]
    cols += reliance_columns(pg.runs)
    cols += [Column("n", "Items scored", numeric=True), Column("date", "Run on", cls="nowrap")]
    t = Table(table_id, f"{pg.g.name}: the main metrics of every model, each with its 95% CI and its "
              "significance-aware rank", cols, sorted_by=("rank", "ascending") if head else None, filterable=True,
              note="Below each model: its base model, recipe and checkpoint, where known. Below each value: its 95% "
                   "confidence interval and the model's rank on that metric (1 + the models significantly better).")
    for run in pg.runs:
        e = entry_of(run)
        cells = {"model": Cell(run.label, href=f"{prefix}{model_page(run)}", sort=run.label, sub=e.summary or None)}
        record: dict[str, Any] = {"model": run.label, "run_id": run.run_id, "base": e.base, "recipe": e.recipe,
                                  "checkpoint": e.checkpoint, "date": e.date or None}
        if head:
            cells["rank"], more = rank_cell(pg, head, run.label)
            record.update(more)
        for k in keys:
            cells[k] = value_cell(pg, run, k)
            record.update(metric_record(run, k))
            st = pg.rankings[k].standings.get(run.label) if k in pg.rankings else None
            record[f"{k} rank"] = st.rank if st else None
        if probed(pg.runs):
            more_cells, more_record = reliance_cells(run)
            cells.update(more_cells)
            record.update(more_record)
        cells["n"] = Cell(e.items_text, sort=sort_value(e.scored))
        cells["date"] = Cell(e.date or DASH)
        record.update({"n_scored": e.scored, "failed": e.failed, "missing": run.counts.get("missing", 0)})
        t.add(cells, record)
    return t


def index_page(site: Site, groups: list[SplitView], cfg: LeaderboardConfig) -> None:
    blocks: list[Block] = [
        P("Results of context-aware alt-text generators: alt-text is what a screen reader speaks for an "
          "image. One section per split: the main metrics of every model with their confidence intervals and "
          "significance-aware ranks; follow the links for every metric, each model's items, and each item's "
          "outputs side by side.", "lead"),
    ]
    if len(groups) > 1:
        blocks += [H("Splits", 2, "splits"), Links([(pg.g.name, f"#split-{pg.g.slug}") for pg in groups], cls="")]
    for pg in groups:
        g = pg.g
        blocks += [H(f"Split: {g.name}", 2, f"split-{g.slug}"), Facts(_facts(pg))]
        table = overview_table(pg, f"summary-{g.slug}", f"{g.slug}/")
        blocks.append(T(table))
        fig = ci_figure(pg.runs, pg.headline, table.caption) if pg.headline else None
        if fig:
            blocks.append(F(fig))
        more = [(f"All metrics, diagnostics and charts for {g.name}", f"{g.slug}/index.html")]
        if pg.item_pages:
            more.append((f"Every item of {g.name}, with all models' outputs", f"{g.slug}/items/index.html"))
        if probed(pg.runs):
            more.append((f"Probes: context and image reliance on {g.name}", f"{g.slug}/{PROBE_PAGE}"))
        more += [(f"{labels.metric_name(k)} on {g.name}: pairwise tests", f"{g.slug}/{metric_page(k)}")
                 for k in pg.quality]
        blocks.append(Links(more))
    extra = [(label, f"{folder}/index.html") for label, folder in COMPANION_PAGES
             if (cfg.out / folder / "index.html").is_file()]
    if extra:
        blocks += [H("Arena, meta-evaluation and judge check", 2, "more"),
                   P("Pages made by altbench arena, altbench meta-eval and altbench judge-check into this folder "
                     f"(--out {cfg.out}/arena, --out {cfg.out}/meta-eval, --out {cfg.out}/judge-check)."),
                   Links(extra)]
    blocks += how_to_read(cfg)
    render(site, "index.html", cfg, "Overview", cfg.title, blocks, [("Overview", None)])


def _facts(pg: SplitView) -> list[tuple[str, str]]:
    g = pg.g
    facts = [("Items", str(g.n_items)), ("Models", str(len(g.runs))),
             ("Convention", ", ".join(f"{c}: {labels.CONVENTION_HELP.get(c, c)}" for c in pg.conventions) or DASH)]
    if pg.headline:
        facts.append(("Ordered by", f"rank on {labels.metric_name(pg.headline)}, then its value"))
    subsets = [r.label for r in g.runs if r.split.get("subset")]
    if subsets:
        facts.append(("Subset runs (not every item)", ", ".join(subsets)))
    return facts


def how_to_read(cfg: LeaderboardConfig) -> list[Block]:
    return [
        H("How to read this leaderboard", 2, "how-to-read"),
        Bullets([
            ("Each value comes with its 95% confidence interval (a percentile bootstrap over the split's items) "
             "and n, the number of items it was computed on."),
            (f"Rank = 1 + the number of models significantly better on that metric ({ranks.METHOD}; "
             f"alpha {cfg.alpha}, {cfg.trials:,} trials, seed {cfg.seed}: the policy that altbench compare and "
             "altbench regress apply too). Models whose differences are not significant share a rank; the rank "
             "then says \u201ctied\u201d."),
            ("The convention (paper or COCO) is part of every metric name: numbers of the two conventions are "
             "computed differently and are not comparable."),
            ("Alt-text diagnostics (mean length, the share of outputs over 125 characters, empty outputs) and "
             "failed items are on each split's page: they describe the outputs, they do not score them."),
        ]),
    ]
