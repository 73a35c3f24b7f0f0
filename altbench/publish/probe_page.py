"""Counterfactual probes on the pages: reliance columns, a probe page per split, the report's context-blind items.

Everything shown is read from each run's ``probes.json`` (:mod:`altbench.probes.results`) and, for the
report's items, from the probe's predictions; nothing is recomputed differently from ``altbench probe``.
"""

from __future__ import annotations

from typing import Any

from altbench.data.items import Item
from altbench.probes.counterfactuals import CONTEXT_SWAP, DESCRIPTIONS
from altbench.publish import labels
from altbench.publish.html import Block, Cell, Column, F, H, Links, P, Site, T, Table
from altbench.publish.runs import RunData
from altbench.publish.svg import forest
from altbench.publish.tables import Figure, svg_figure
from altbench.publish.thumbs import Thumbnails
from altbench.results.numbers import fmt

PROBE_PAGE = "probes.html"
KINDS = (("context", "Context reliance"), ("image", "Image reliance"))
READING = ("Reliance is 1 minus the mean similarity between a model's alt-text and the alt-text it writes when "
           "one input is changed (1 for an identical output, else ROUGE-L F): 0 means the output never moved. "
           "Context reliance comes from swapping in another post's context, image reliance from replacing the "
           "image by a diffusion-noised copy. A model that ignores the post writes the same alt-text for any "
           "post; for a screen-reader user that means alt-text that cannot say why the image was shared.")


def _f(x: float | None) -> str:
    return fmt(x, digits=3, missing="\u2013")  # the one rounding rule (altbench.results.numbers)


def _ci(ci: Any) -> str:
    lo, hi = ci if ci else (None, None)
    return f"{_f(lo)} to {_f(hi)}"


def _drop(key: str, delta: float) -> str:
    """A signed difference in the metric's reported format."""
    return ("+" if delta > 0 else "") + labels.fmt(key, delta)


def probed(runs: list[RunData]) -> bool:
    return any(r.probes is not None for r in runs)


def reliance_columns(runs: list[RunData]) -> list[Column]:
    """Context and image reliance columns, when at least one run of the split was probed."""
    return [Column(f"{kind}_reliance", label, numeric=True) for kind, label in KINDS] if probed(runs) else []


def reliance_cells(run: RunData) -> tuple[dict[str, Cell], dict[str, Any]]:
    """The reliance cells of one run (value, 95% CI and significance) and their export record."""
    cells: dict[str, Cell] = {}
    record: dict[str, Any] = {}
    report = run.probes
    for kind, _ in KINDS:
        r = report.reliance.get(kind) if report is not None else None
        col = f"{kind}_reliance"
        if r is None or not labels.finite(r.value):
            cells[col] = Cell("not probed", sort="")
            record.update({col: None, f"{col} ci95_low": None, f"{col} ci95_high": None, f"{col} significant": None})
            continue
        verdict = "significant" if r.significant else "not significant"
        cells[col] = Cell(_f(r.value), sort=float(r.value), sub=f"95% CI {_ci(r.ci95)}; {verdict}")
        record.update({col: r.value, f"{col} ci95_low": r.ci95[0], f"{col} ci95_high": r.ci95[1],
                       f"{col} significant": r.significant})
    return cells, record


def reliance_figure(runs: list[RunData], kind: str, label: str, table_caption: str) -> Figure | None:
    shown = [(r, r.probes.reliance[kind]) for r in runs
             if r.probes is not None and kind in r.probes.reliance and labels.finite(r.probes.reliance[kind].value)]
    if not shown:
        return None
    values = [float(x.value) for _, x in shown]
    cis = [list(x.ci95) for _, x in shown]
    svg = forest([r.label for r, _ in shown], values, cis, f"{label} (0 = output never moves)")
    listing = "; ".join(f"{r.label} {_f(x.value)} (95% CI {_ci(x.ci95)}, "
                        f"{'significant' if x.significant else 'not significant'})" for r, x in shown)
    alt = f"Dot plot of {label.lower()} per model with 95% confidence intervals as error bars: {listing}."
    return svg_figure(svg, alt, f"{label} with 95% confidence interval per model. The same numbers are in the "
                                f"table \u201c{table_caption}\u201d.")


def probe_page_html(site: Site, pg: Any, cfg: Any, render: Any, crumbs: Any, model_page: Any) -> None:
    """``<split>/probes.html``: each model's reliance with CIs (chart + table), and every probe's numbers."""
    runs = [r for r in pg.runs if r.probes is not None]
    head = pg.headline
    blocks: list[Block] = [P(READING, "lead"),
                           P("Probes: " + "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())
                             + ". Run them with altbench probe RUN_DIR (docs/probes.md).")]
    summary = Table("reliance", f"Context and image reliance on {pg.g.name}: value with 95% CI",
                    [Column("model", "Model", row_header=True)]
                    + [Column(f"{kind}_reliance", label, numeric=True) for kind, label in KINDS]
                    + [Column(f"{kind}_drop", f"{labels.metric_name(head)} drop under "
                              f"{'context-swap' if kind == 'context' else 'image-noise'}", numeric=True)
                       for kind, _ in KINDS if head])
    for run in runs:
        cells, record = reliance_cells(run)
        cells["model"] = Cell(run.label, href=model_page(run), sort=run.label)
        record = {"model": run.label, "run_id": run.run_id, **record}
        for kind, _ in KINDS:
            if not head:
                continue
            r = run.probes.reliance.get(kind)
            m = r.metric if r is not None else None
            col = f"{kind}_drop"
            if m is None or m.delta is None:
                cells[col] = Cell("\u2013", sort="")
                record[col] = None
                continue
            p = f"p Holm {labels.fmt_p(m.p_holm)}" if labels.finite(m.p_holm) else "not tested"
            cells[col] = Cell(_drop(m.key, m.delta), sort=float(m.delta),
                              sub=f"95% CI {labels.fmt_ci(m.key, list(m.ci95))}; {p}")
            record.update({col: m.delta, f"{col} ci95_low": m.ci95[0], f"{col} ci95_high": m.ci95[1],
                           f"{col} p_holm": m.p_holm})
        summary.add(cells, record)
    blocks += [H("Reliance per model", 2, "reliance-h"), T(summary)]
    for kind, label in KINDS:
        fig = reliance_figure(runs, kind, label, summary.caption)
        if fig:
            blocks.append(F(fig))
    blocks += [H("Every probe", 2, "probes"),
               P("changed: share of items whose output changed; similarity: mean similarity of the probed output "
                 "to the original; the metric: original minus probe, with the permutation p-value Holm-adjusted "
                 "as altbench compare does.")]
    blocks.append(T(_probes_table(runs, head, pg.g.name, model_page)))
    blocks += [H("Pages", 2, "pages"), Links([("Scores on this split", "index.html")]
                                             + [(f"Model: {r.label}", model_page(r)) for r in pg.runs])]
    render(site, f"{pg.g.slug}/{PROBE_PAGE}", cfg, f"Probes on {pg.g.name}", f"Probes: {pg.g.name}", blocks,
           crumbs(pg, "Probes"))


def _probes_table(runs: list[RunData], head: str | None, split: str, model_page: Any) -> Table:
    cols = [Column("model", "Model", row_header=True), Column("probe", "Probe"),
            Column("changed", "Changed", numeric=True), Column("similarity", "Similarity", numeric=True),
            Column("reliance", "Reliance", numeric=True)]
    if head:
        cols.append(Column("drop", f"{labels.metric_name(head)}: original minus probe", numeric=True))
    t = Table("every-probe", f"Every probe of every model on {split}: value with 95% CI", cols)
    for run in runs:
        for name, p in run.probes.probes.items():
            cells = {"model": Cell(run.label, href=model_page(run), sort=run.label), "probe": Cell(name)}
            record: dict[str, Any] = {"model": run.label, "probe": name, "n_paired": p.n_paired}
            for col, est in (("changed", p.changed), ("similarity", p.similarity), ("reliance", p.reliance)):
                cells[col] = Cell(_f(est.value), sort=est.value if labels.finite(est.value) else "",
                                  sub=f"95% CI {_ci(est.ci95)}")
                record.update({col: est.value, f"{col} ci95_low": est.ci95[0], f"{col} ci95_high": est.ci95[1]})
            if head:
                m = p.metrics.get(head)
                if m is None or m.delta is None:
                    cells["drop"] = Cell("\u2013", sort="")
                else:
                    p_text = f"p Holm {labels.fmt_p(m.p_holm)}" if labels.finite(m.p_holm) else "not tested"
                    cells["drop"] = Cell(_drop(head, m.delta), sort=float(m.delta),
                                         sub=f"95% CI {labels.fmt_ci(head, list(m.ci95))}; {p_text}")
                    record.update({"drop": m.delta, "drop p_holm": m.p_holm})
            t.add(cells, record)
    return t


# ------------------------------------------------------------------------------------------- the report
def context_blind_blocks(run: RunData, items: dict[str, Item] | None, thumbs: Thumbnails, top: int) -> list[Block]:
    """The report's section: the items whose output changed least when another post's context was swapped in."""
    import json

    from altbench.probes.measure import SWAPS_FILE, item_similarity
    from altbench.run.predictions import read as read_predictions

    report = run.probes
    if report is None or CONTEXT_SWAP not in report.probes:
        return []
    folder = run.path / report.probes[CONTEXT_SWAP].folder
    try:
        sims = item_similarity(run.path, CONTEXT_SWAP)
        swapped = read_predictions(folder / "predictions.jsonl")
        donors = json.loads((folder / SWAPS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [H("Context-blind items", 2, "context-blind-h"),
                P(f"The context-swap probe's outputs are unreadable ({exc}); re-run altbench probe.", "note")]
    order = {i: n for n, i in enumerate(sims)}
    chosen = sorted(sims, key=lambda i: (-sims[i], order[i]))[:top]
    r = report.context_reliance
    intro = (f"Context reliance {_f(r.value)} (95% CI {_ci(r.ci95)}). " if r is not None else "")
    blocks: list[Block] = [
        H(f"Context-blind items: the {len(chosen)} whose output changed least under context-swap", 2,
          "context-blind-h"),
        P(intro + "Each item was regenerated with another post's context (altbench probe). An alt-text that "
          "stays the same whatever the post says does not use the post; similarity 1 means it did not change.")]
    show_images = thumbs.enabled and items is not None
    cols = ([Column("image", "Image", sortable=False, export=False)] if show_images else []) + [
        Column("id", "Item ID", row_header=True), Column("similarity", "Similarity", numeric=True),
        Column("context", "Its context"), Column("swapped", "Context swapped in"),
        Column("original", "Alt-text with its context"), Column("probed", "Alt-text with the swapped context")]
    t = Table("context-blind", f"The {len(chosen)} items of {run.label} whose output changed least under "
                               "context-swap", cols)
    for item_id in chosen:
        item = items.get(item_id) if items is not None else None
        donor = items.get(str(donors.get(item_id))) if items is not None else None
        original = run.predictions.get(item_id)
        probe = swapped.get(item_id)
        cells = {"id": Cell(item_id),
                 "context": Cell(item.context if item else "\u2013", long=True),
                 "swapped": Cell(donor.context if donor else f"context of item {donors.get(item_id, '?')}",
                                 long=True),
                 "original": Cell(original.prediction if original and original.prediction is not None else "\u2013",
                                  long=True),
                 "probed": Cell(probe.prediction if probe and probe.prediction is not None else "\u2013", long=True),
                 "similarity": Cell(_f(sims[item_id]), sort=sims[item_id])}
        if show_images:
            src = thumbs.get(item) if item is not None else None
            cells["image"] = Cell(img=(src, item.chosen)) if src and item else Cell("no image")
        t.add(cells, {"id": item_id, "context": cells["context"].text, "swapped_context": cells["swapped"].text,
                      "original": cells["original"].text, "probed": cells["probed"].text,
                      "similarity": sims[item_id], "donor": donors.get(item_id)})
    return blocks + [T(t)]
