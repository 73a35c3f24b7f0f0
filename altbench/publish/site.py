"""``altbench leaderboard``: run folders -> a self-contained, accessible static site.

Layout of the output folder::

    index.html                         overview: one summary table per split
    <split>/index.html                 all scores with CIs, ranks by metric, diagnostics, charts
    <split>/metric-<conv>-<name>.html  one metric: value, 95% CI, n, rank, pairwise tests, chart
    <split>/model-<model>.html         one run: metrics, failures, item-level table with thumbnails
    **/data/<table>.csv|json           every table as a download
    site-manifest.json                 the generated files (a rebuild removes the ones no longer made)
"""

from __future__ import annotations

import logging
from pathlib import Path

from altbench.errors import AltbenchError
from altbench.executor import Executor
from altbench.publish import labels, ranks
from altbench.publish.detail_pages import metric_page_html, model_page_html
from altbench.publish.html import (
    Block,
    Bullets,
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
    EMPTY_KEY,
    LENGTH_KEY,
    OVER_KEY,
    ci_figure,
    distribution,
    metric_cell,
    metric_record,
)
from altbench.publish.thumbs import Thumbnails

log = logging.getLogger(__name__)

# pages of other commands that the overview links when they were written into the leaderboard's folder
COMPANION_PAGES = (("Arena: pairwise judge battles and Bradley-Terry ratings", "arena"),
                   ("Meta-evaluation: how each metric agrees with human judgments", "meta-eval"),
                   ("Judge check: how far to trust the arena's judge", "judge-check"))

__all__ = ["FOOTER", "BuildResult", "LeaderboardConfig", "build_leaderboard", "write_site"]


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
    _index(site, prepared, cfg)
    for pg in prepared:
        _split_page(site, pg, cfg)
        for key in pg.quality:  # diagnostics have their table (value, CI, n) on the split page
            metric_page_html(site, pg, key, cfg)
        for run in pg.runs:
            model_page_html(site, pg, run, thumbs, cfg)
        if probed(pg.runs):
            probe_page_html(site, pg, cfg, render, crumbs, model_page)
    notes = [f"{g.name}: {g.items_note}" for g in groups if g.items_note]
    notes += [f"{r.label} ({r.path}): {n}" for r in runs for n in r.notes]
    files, removed = write_site(site, cfg.out, committed=cfg.committed)
    return BuildResult(cfg.out, files, removed, notes)


def _how_to_read(cfg: LeaderboardConfig) -> list[Block]:
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
            ("Alt-text diagnostics sit next to the scores: mean length in characters, the share of outputs over "
             "125 characters (a common screen-reader guideline), and empty outputs. Failed items were not "
             "scored and are counted separately."),
        ]),
    ]


def _index(site: Site, groups: list[SplitView], cfg: LeaderboardConfig) -> None:
    blocks: list[Block] = [
        P("Results of context-aware alt-text generators: alt-text is what a screen reader speaks for an "
          "image. One section per split; follow the links for every metric, charts and item-level results.",
          "lead"),
    ]
    blocks += [H("Splits", 2, "splits"), Links([(pg.g.name, f"#split-{pg.g.slug}") for pg in groups], cls="")]
    for pg in groups:
        g = pg.g
        blocks += [H(f"Split: {g.name}", 2, f"split-{g.slug}"), Facts(_split_facts(pg))]
        if pg.headline:
            blocks.append(P(f"Models are ordered by their rank on {labels.metric_name(pg.headline)}."))
        summary = _summary_table(pg, f"summary-{g.slug}", f"{g.slug}/")
        blocks.append(T(summary))
        fig = ci_figure(pg.runs, pg.headline, summary.caption) if pg.headline else None
        if fig:
            blocks.append(F(fig))
        blocks += [Links([(f"All metrics, charts and diagnostics for {g.name}", f"{g.slug}/index.html")]
                         + [(f"{labels.metric_name(k)} on {g.name}", f"{g.slug}/{metric_page(k)}")
                            for k in pg.quality]
                         + ([(f"Probes: context and image reliance on {g.name}", f"{g.slug}/{PROBE_PAGE}")]
                            if probed(pg.runs) else [])
                         + [(f"Items of {r.label} on {g.name}", f"{g.slug}/{model_page(r)}") for r in pg.runs])]
    extra = [(label, f"{folder}/index.html") for label, folder in COMPANION_PAGES
             if (cfg.out / folder / "index.html").is_file()]
    if extra:
        blocks += [H("Arena, meta-evaluation and judge check", 2, "more"),
                   P("Pages made by altbench arena, altbench meta-eval and altbench judge-check into this folder "
                     f"(--out {cfg.out}/arena, --out {cfg.out}/meta-eval, --out {cfg.out}/judge-check)."),
                   Links(extra)]
    blocks += _how_to_read(cfg)
    render(site, "index.html", cfg, "Overview", cfg.title, blocks, [("Overview", None)])


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


def _summary_table(pg: SplitView, table_id: str, prefix: str, full: bool = False) -> Table:
    """Model | rank | quality metrics (value with CI) | n | diagnostics | failed."""
    head = pg.headline
    keys = pg.quality if full else ([head] if head else [])
    cols = [Column("model", "Model", row_header=True)]
    if head:
        cols.append(Column("rank", f"Rank on {labels.metric_name(head)}", numeric=True))
    cols += [Column(k, labels.metric_name(k), numeric=True) for k in keys]
    cols += reliance_columns(pg.runs)
    cols += [Column("n", "n (items scored)", numeric=True),
             Column("length", "Mean length (characters)", numeric=True),
             Column("over", "Over 125 characters", numeric=True), Column("empty", "Empty outputs", numeric=True),
             Column("failed", "Failed items", numeric=True)]
    name = pg.g.name
    t = Table(table_id, f"{'Scores' if full else 'Summary'} on {name}: value with 95% CI, rank, n and alt-text "
              "diagnostics", cols, sorted_by=("rank", "ascending") if head else None,
              note="Diagnostics are not quality scores: they are shown to put the scores in context.")
    for run in pg.runs:
        c = run.counts
        cells = {"model": Cell(run.label, href=f"{prefix}{model_page(run)}", sort=run.label)}
        record = {"model": run.label, "run_id": run.run_id}
        if head:
            st = pg.rankings[head].standings.get(run.label)
            cells["rank"] = Cell(st.rank_text if st else "not scored",
                                 sort=float(st.rank) if st and st.rank is not None else "")
            record["rank"] = st.rank if st else None
            record["rank_tied"] = bool(st and st.tied_with)
        for k in keys:
            cells[k] = metric_cell(run, k)
            record.update(metric_record(run, k))
        if probed(pg.runs):
            more, more_record = reliance_cells(run)
            cells.update(more)
            record.update(more_record)
        scored = c.get("scored")
        cells["n"] = Cell(str(scored if scored is not None else "\u2013"), sort=sort_value(scored))
        record["n_scored"] = scored
        for col, key in (("length", LENGTH_KEY), ("over", OVER_KEY), ("empty", EMPTY_KEY)):
            cells[col] = metric_cell(run, key)
            record.update(metric_record(run, key))
        empty = c.get("empty")
        if empty is not None and EMPTY_KEY in run.metrics:
            cells["empty"].sub = f"{empty} item{'s' if empty != 1 else ''}; " + (cells["empty"].sub or "")
        cells["failed"] = Cell(str(c.get("failed", 0)), sort=sort_value(c.get("failed", 0)))
        record["failed"] = c.get("failed", 0)
        record["missing"] = c.get("missing", 0)
        t.add(cells, record)
    return t


def _split_page(site: Site, pg: SplitView, cfg: LeaderboardConfig) -> None:
    g = pg.g
    blocks: list[Block] = [Facts(_split_facts(pg))]
    if g.items_note:
        blocks.append(P(g.items_note, "note"))
    blocks += [H("Scores", 2, "scores")]
    scores = _summary_table(pg, "scores", "", full=True)
    blocks.append(T(scores))
    if pg.headline:
        fig = ci_figure(pg.runs, pg.headline, scores.caption)
        if fig:
            blocks.append(F(fig))
    if pg.quality:
        blocks += [H("Ranks by metric", 2, "ranks"),
                   P(f"Rank = 1 + the number of models significantly better ({ranks.METHOD}, alpha {cfg.alpha}). "
                     "\u201ctied\u201d: another model has the same rank."),
                   T(_ranks_table(pg))]
    diag = [k for k in pg.keys if not labels.is_quality(k)]
    if diag:
        blocks += [H("Alt-text diagnostics", 2, "diagnostics"),
                   P("Means over scored items with 95% CIs; shares are percentages of items. Lower is usually "
                     "better, but these are not quality scores."), T(_diag_table(pg, diag))]
    dist = distribution(pg.runs, LENGTH_KEY, "length-distribution", "Prediction length in characters",
                        "Length (characters)", threshold=125, threshold_label="125 characters")
    if dist:
        table, fig = dist
        blocks += [H("Length distribution", 2, "lengths"), F(fig), T(table)]
    if probed(pg.runs):
        blocks += [H("Context and image reliance", 2, "reliance"),
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
