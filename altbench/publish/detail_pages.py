"""The leaderboard's metric pages: one metric on one split (values, ranks, the engine's pairwise tests, the
settings in a disclosure). The model pages are in :mod:`altbench.publish.model_page`."""

from __future__ import annotations

from altbench.publish import labels, ranks
from altbench.publish.html import (
    Block,
    Cell,
    Column,
    F,
    Facts,
    H,
    P,
    Site,
    T,
    Table,
)
from altbench.publish.pages import (
    LeaderboardConfig,
    SplitView,
    crumbs,
    metric_page,
    model_page,
    render,
    sort_value,
)
from altbench.publish.runs import RunData, slugify
from altbench.publish.settings import signatures_details
from altbench.publish.tables import (
    ci_figure,
)


def _signature_text(pg: SplitView, key: str) -> str:
    sigs = sorted({str(r.metrics[key].get("signature", "")) for r in pg.runs if key in r.metrics})
    return sigs[0] if len(sigs) == 1 else ""


def metric_page_html(site: Site, pg: SplitView, key: str, cfg: LeaderboardConfig) -> None:
    g = pg.g
    name = labels.metric_name(key)
    conv, _ = labels.split_key(key)
    present = [r for r in pg.runs if key in r.metrics]
    higher = bool(present[0].metrics[key].get("higher_is_better", True)) if present else True
    ranking = pg.rankings.get(key)
    blocks: list[Block] = [
        Facts([("Metric key", key), ("Convention", f"{conv}: {labels.CONVENTION_HELP.get(conv, conv)}"),
               ("Direction", "higher is better" if higher else
                "lower is better" if labels.is_quality(key) else "lower is usually better"),
               ("Split", f"{g.name} ({g.n_items} items)")]),
    ]
    sig = _signature_text(pg, key)
    if sig:
        blocks.append(signatures_details({key: present[0].metrics[key]}, "signature", labels.metric_name(key)))
    elif present:
        blocks.append(P("The runs were scored with different settings; each model's signature is in its row. "
                        "Numbers made with different settings are not ranked against each other.", "note"))
    table = _metric_table(pg, key, present, ranking, with_signature=not sig)
    blocks += [H("Values", 2, "values")]
    if ranking and ranking.note:
        blocks.append(P(ranking.note[0].upper() + ranking.note[1:] + ".", "note"))
    blocks.append(T(table))
    fig = ci_figure(present, key, table.caption)
    if fig:
        blocks.append(F(fig))
    if ranking and ranking.pairs:
        blocks += [H("Pairwise comparisons", 2, "pairs"),
                   P(f"{ranks.METHOD[0].upper()}{ranks.METHOD[1:]}; {ranking.trials:,} trials, seed "
                     f"{ranking.seed}, alpha {ranking.alpha}. Each pair is compared on the items both models "
                     "scored (aligned by item id)."),
                   T(_pairs_table(key, ranking, present[0].metrics[key]))]
    elif not labels.is_quality(key):
        blocks.append(P("Diagnostics are not ranked: they describe the outputs, they do not score them.", "muted"))
    render(site, f"{g.slug}/{metric_page(key)}", cfg, f"{name} on {g.name}", f"{name} on {g.name}", blocks,
            crumbs(pg, name))


def _metric_table(pg: SplitView, key: str, present: list[RunData], ranking: ranks.MetricRanking | None,
                  with_signature: bool) -> Table:
    name = labels.metric_name(key)
    cols = []
    if ranking:
        cols.append(Column("rank", "Rank", numeric=True))
    cols += [Column("model", "Model", row_header=True), Column("value", "Value", numeric=True),
             Column("ci_low", "95% CI low", numeric=True), Column("ci_high", "95% CI high", numeric=True),
             Column("n", "n", numeric=True)]
    if ranking:
        cols += [Column("better", "Significantly better than"), Column("worse", "Significantly worse than"),
                 Column("tied", "Same rank as")]
    if with_signature:
        cols.append(Column("signature", "Signature", sortable=False, cls="code"))
    t = Table(f"metric-{slugify(key)}", f"{name} on {pg.g.name}: value, 95% CI and n per model"
              + (", with significance-aware rank" if ranking else ""), cols,
              sorted_by=("rank", "ascending") if ranking else None)
    for run in present:
        m = run.metrics[key]
        value, ci = m.get("value"), m.get("ci95") or [None, None]
        cells = {"model": Cell(run.label, href=model_page(run), sort=run.label),
                 "value": Cell(labels.fmt(key, value, m), sort=sort_value(value)),
                 "ci_low": Cell(labels.fmt(key, ci[0], m), sort=sort_value(ci[0])),
                 "ci_high": Cell(labels.fmt(key, ci[1], m), sort=sort_value(ci[1])),
                 "n": Cell(str(m.get("n", "")), sort=sort_value(m.get("n"))),
                 "signature": Cell(str(m.get("signature", "")))}
        record = {"model": run.label, "run_id": run.run_id, "metric": key, "value": value, "ci95_low": ci[0],
                  "ci95_high": ci[1], "n": m.get("n"), "signature": m.get("signature")}
        if ranking:
            st = ranking.standings.get(run.label)
            cells["rank"] = Cell(st.rank_text if st else "not ranked",
                                 sort=float(st.rank) if st and st.rank is not None else "")
            cells["better"] = Cell(", ".join(st.better_than) if st and st.better_than else "none")
            cells["worse"] = Cell(", ".join(st.worse_than) if st and st.worse_than else "none")
            cells["tied"] = Cell(", ".join(st.tied_with) if st and st.tied_with else "none")
            record.update({"rank": st.rank if st else None, "significantly_better_than": st.better_than if st else [],
                           "significantly_worse_than": st.worse_than if st else [],
                           "same_rank_as": st.tied_with if st else []})
        t.add(cells, record)
    return t


def _oriented(pair: ranks.PairTest, higher: bool) -> ranks.PairTest:
    """The pair with A the model with the better value, so the difference reads as A's lead."""
    if not labels.finite(pair.diff) or (pair.diff >= 0) == higher or pair.diff == 0:
        return pair
    # 0.0 - x, not -x: a bound of 0.0 stays 0.0 (never -0.0, in the page or its data files)
    return ranks.PairTest(pair.b, pair.a, pair.n, 0.0 - pair.diff, (0.0 - pair.ci95[1], 0.0 - pair.ci95[0]),
                          pair.p, pair.p_holm, pair.better)


def _pairs_table(key: str, ranking: ranks.MetricRanking, meta: dict) -> Table:
    cols = [Column("a", "Model A", row_header=True), Column("b", "Model B"),
            Column("n", "Items compared", numeric=True), Column("diff", "Difference A \u2212 B", numeric=True),
            Column("ci", "95% CI of the difference", sortable=False, cls="nowrap"), Column("p", "p (Holm)", numeric=True),
            Column("result", "Result")]
    t = Table(f"pairs-{slugify(key)}", f"Paired tests on {labels.metric_name(key)}", cols)
    for pair in (_oriented(p, ranking.higher_is_better) for p in ranking.pairs):
        if pair.better:
            result = f"significant: {pair.better} is better"
        elif pair.n == 0:
            result = "not tested: no item scored by both"
        else:
            result = "no significant difference"
        cells = {"a": Cell(pair.a), "b": Cell(pair.b), "n": Cell(str(pair.n), sort=float(pair.n)),
                 "diff": Cell(labels.fmt(key, pair.diff, meta), sort=sort_value(pair.diff)),
                 "ci": Cell(labels.fmt_ci(key, list(pair.ci95), meta)),
                 "p": Cell(labels.fmt_p(pair.p_holm), sort=sort_value(pair.p_holm)),
                 "result": Cell(result)}
        t.add(cells, {"model_a": pair.a, "model_b": pair.b, "n": pair.n, "difference": pair.diff,
                      "ci95_low": pair.ci95[0], "ci95_high": pair.ci95[1], "p": pair.p, "p_holm": pair.p_holm,
                      "significantly_better": pair.better})
    return t
