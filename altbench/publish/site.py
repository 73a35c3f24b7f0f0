"""``altbench leaderboard``: run folders -> a self-contained, accessible static site.

Layout of the output folder::

    index.html                         overview: per split, the main metrics of every model (CIs, ranks)
    <split>/index.html                 all scores with CIs, ranks by metric, diagnostics, charts
    <split>/metric-<conv>-<name>.html  one metric: value, 95% CI, n, rank, pairwise tests, chart
    <split>/model-<model>.html         one run: metrics, distributions, failures, item-level table
    <split>/items/item-<id>.html       one item: image, post text, references, every model's output
    <split>/items/index.html           the items that have a page
    **/data/<table>.csv|json           every table as a download
    site-manifest.json                 the generated files (a rebuild removes the ones no longer made)
"""

from __future__ import annotations

import logging
from pathlib import Path

from altbench.errors import AltbenchError
from altbench.executor import Executor
from altbench.publish import labels, ranks
from altbench.publish.detail_pages import metric_page_html
from altbench.publish.html import (
    Block,
    Cell,
    Column,
    F,
    Facts,
    H,
    Links,
    P,
    Site,
    T,
    Table,
)
from altbench.publish.item_pages import item_pages_html, plan_item_pages
from altbench.publish.model_page import model_page_html
from altbench.publish.overview import COMPANION_PAGES, index_page, rank_cell
from altbench.publish.pages import (
    DASH,
    FOOTER,
    BuildResult,
    LeaderboardConfig,
    SplitView,
    crumbs,
    metric_page,
    model_page,
    render,
    sort_value,
)
from altbench.publish.probe_page import PROBE_PAGE, probe_page_html, probed, reliance_cells, reliance_columns
from altbench.publish.runs import SplitGroup, attach_items, group_by_split, load_runs
from altbench.publish.site_files import write_site
from altbench.publish.tables import (
    LENGTH_KEY,
    ci_figure,
    distribution,
    length_summary,
    metric_cell,
    metric_record,
)
from altbench.publish.thumbs import Thumbnails

log = logging.getLogger(__name__)
PANELS_UP_TO = 12  # models drawn as one histogram panel each; more: one box per model

__all__ = ["COMPANION_PAGES", "FOOTER", "BuildResult", "LeaderboardConfig", "build_leaderboard", "write_site"]


def build_leaderboard(cfg: LeaderboardConfig) -> BuildResult:
    runs = load_runs(cfg.runs, cfg.names)
    if not runs:
        raise AltbenchError("no runs given")
    groups = group_by_split(runs)
    for g in groups:
        attach_items(g, cfg.data_root, cfg.image_dir)
    thumbs = Thumbnails(enabled=cfg.images)
    site = Site()
    with Executor(cfg.jobs) as executor:  # the pair analyses' resampling chunks
        prepared = [SplitView(g, cfg, executor.starmap) for g in groups]
    for pg in prepared:
        pg.item_pages = plan_item_pages(pg)
    index_page(site, prepared, cfg)
    for pg in prepared:
        _split_page(site, pg, cfg)
        for key in pg.quality:  # diagnostics have their table (value, CI, n) on the split page
            metric_page_html(site, pg, key, cfg)
        for run in pg.runs:
            model_page_html(site, pg, run, thumbs, cfg)
        item_pages_html(site, pg, cfg)
        if probed(pg.runs):
            probe_page_html(site, pg, cfg, render, crumbs, model_page)
    notes = [f"{g.name}: {g.items_note}" for g in groups if g.items_note]
    notes += [f"{r.label} ({r.path}): {n}" for r in runs for n in r.notes]
    files, removed = write_site(site, cfg.out, committed=cfg.committed)
    return BuildResult(cfg.out, files, removed, notes)


def _split_facts(pg: SplitView) -> list[tuple[str, str]]:
    g = pg.g
    facts = [("Items in split", str(g.n_items)), ("Source", _source_text(g)),
             ("Content sha256", g.sha256 or "\u2013"),
             ("Convention", ", ".join(f"{c}: {labels.CONVENTION_HELP.get(c, c)}" for c in pg.conventions) or "\u2013"),
             ("Models", str(len(g.runs)))]
    subsets = [r.label for r in g.runs if r.split.get("subset")]
    if subsets:
        facts.append(("Subset runs (not every item)", ", ".join(subsets)))
    if pg.headline:
        facts.append(("Headline metric", labels.metric_name(pg.headline)))
    return facts


def _source_text(g: SplitGroup) -> str:
    """Where the split comes from, without this machine's paths (the site is published)."""
    from altbench.data.splits import SPLITS

    spec = SPLITS.get(g.name)
    if not g.source:
        return DASH
    if spec is not None and spec.source != "embedded":
        return f"{spec.description} ({Path(g.source).name})"
    return g.source if spec is not None else Path(g.source).name


def _scores_table(pg: SplitView) -> Table:
    """Model | rank | every quality metric (value with CI) | reliance | n."""
    head = pg.headline
    cols = [Column("model", "Model", row_header=True)]
    if head:
        cols.append(Column("rank", f"Rank on {labels.metric_name(head)}", numeric=True))
    cols += [Column(k, labels.metric_name(k), numeric=True) for k in pg.quality]
    cols += reliance_columns(pg.runs)
    cols.append(Column("n", "n (items scored)", numeric=True))
    t = Table("scores", f"Scores on {pg.g.name}: value with 95% CI, rank and n", cols,
              sorted_by=("rank", "ascending") if head else None, filterable=True)
    for run in pg.runs:
        cells = {"model": Cell(run.label, href=model_page(run), sort=run.label)}
        record: dict = {"model": run.label, "run_id": run.run_id}
        if head:
            cells["rank"], more = rank_cell(pg, head, run.label)
            record.update(more)
        for k in pg.quality:
            cells[k] = metric_cell(run, k)
            record.update(metric_record(run, k))
        if probed(pg.runs):
            more_cells, more_record = reliance_cells(run)
            cells.update(more_cells)
            record.update(more_record)
        scored = run.counts.get("scored")
        cells["n"] = Cell(str(scored if scored is not None else "\u2013"), sort=sort_value(scored))
        record["n_scored"] = scored
        t.add(cells, record)
    return t


def _split_page(site: Site, pg: SplitView, cfg: LeaderboardConfig) -> None:
    g = pg.g
    blocks: list[Block] = [Facts(_split_facts(pg))]
    if g.items_note:
        blocks.append(P(g.items_note, "note"))
    blocks += [H("Scores", 2, "scores-h")]
    scores = _scores_table(pg)
    blocks.append(T(scores))
    if pg.headline:
        fig = ci_figure(pg.runs, pg.headline, scores.caption)
        if fig:
            blocks.append(F(fig))
    if pg.quality:
        blocks += [H("Ranks by metric", 2, "ranks-h"),
                   P(f"Rank = 1 + the number of models significantly better ({ranks.METHOD}, alpha {cfg.alpha}). "
                     "\u201ctied\u201d: another model has the same rank."),
                   T(_ranks_table(pg))]
    diag = [k for k in pg.keys if not labels.is_quality(k)]
    if diag:
        blocks += [H("Alt-text diagnostics", 2, "diagnostics-h"),
                   P("Means over scored items with 95% CIs; shares are percentages of items. Lower is usually "
                     "better, but these are not quality scores."), T(_diag_table(pg, diag))]
    if len(pg.runs) <= PANELS_UP_TO:
        dist = distribution(pg.runs, LENGTH_KEY, "length-distribution", "Prediction length in characters",
                            "Length (characters)", threshold=125, threshold_label="125 characters")
    else:  # a histogram per model stops being readable (and a matplotlib panel each costs seconds)
        dist = length_summary(pg.runs, threshold=125)
    if dist:
        table, fig = dist
        blocks += [H("Length distribution", 2, "lengths"), F(fig), T(table)]
    if probed(pg.runs):
        blocks += [H("Context and image reliance", 2, "reliance-h"),
                   P("The reliance columns come from altbench probe: how much each model's alt-text moves when "
                     "another post's context is swapped in, or the image is noised (0 = never moves)."),
                   Links([(f"Probes on {g.name}: reliance per model with charts", PROBE_PAGE)])]
    blocks += [H("Pages", 2, "pages"),
               Links([(f"Metric: {labels.metric_name(k)}", metric_page(k)) for k in pg.quality]),
               Links([(f"Model: {r.label}", model_page(r)) for r in pg.runs])]
    render(site, f"{g.slug}/index.html", cfg, f"Split {g.name}", f"Split: {g.name}", blocks, crumbs(pg, None))


def _ranks_table(pg: SplitView) -> Table:
    cols = [Column("model", "Model", row_header=True)] + [
        Column(k, labels.metric_name(k), numeric=True) for k in pg.quality]
    t = Table("ranks", f"Significance-aware rank of each model on each metric, {pg.g.name}", cols)
    for run in pg.runs:
        cells = {"model": Cell(run.label, href=model_page(run), sort=run.label)}
        record: dict = {"model": run.label}
        for k in pg.quality:
            st = pg.rankings[k].standings.get(run.label)
            cells[k] = Cell(st.rank_text if st else "not scored",
                            sort=float(st.rank) if st and st.rank is not None else "")
            record[k] = st.rank if st else None
            record[f"{k} tied"] = bool(st and st.tied_with)
        t.add(cells, record)
    return t


def _diag_table(pg: SplitView, keys: list[str]) -> Table:
    cols = [Column("model", "Model", row_header=True)] + [
        Column(k, labels.metric_name(k), numeric=True) for k in keys] + [
        Column("failed", "Failed items", numeric=True), Column("missing", "Missing items", numeric=True)]
    t = Table("diagnostics", f"Alt-text diagnostics on {pg.g.name}: mean with 95% CI", cols)
    for run in pg.runs:
        cells = {"model": Cell(run.label, href=model_page(run), sort=run.label)}
        record: dict = {"model": run.label}
        for k in keys:
            cells[k] = metric_cell(run, k)
            record.update(metric_record(run, k))
        for col in ("failed", "missing"):
            v = run.counts.get(col, 0)
            cells[col] = Cell(str(v), sort=sort_value(v))
            record[col] = v
        t.add(cells, record)
    return t
