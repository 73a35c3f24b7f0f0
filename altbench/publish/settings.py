"""Settings as people read them: a metric's signature and a run's bootstrap settings in words, the raw strings
kept one click away (in a disclosure), where they used to fill the metric tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from altbench.publish import labels
from altbench.publish.html import Block, Cell, Column, Details, Table

FIELD_NAMES = {
    "conv": "convention", "tok": "tokenizer", "smooth": "smoothing", "round": "rounded to decimals",
    "scale": "scale", "version": "version", "df": "document frequencies", "sigma": "sigma", "n": "n-grams",
    "case": "case", "lang": "language", "model": "model", "refs": "references", "impl": "implementation",
}


def split_signature(signature: str | None) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, the metric's settings, the interval's settings) of ``name|key:value|...|ci:...|...``."""
    parts = [p for p in str(signature or "").split("|") if p]
    if not parts:
        return "", [], []
    name, rest = parts[0], parts[1:]
    settings: list[tuple[str, str]] = []
    interval: list[tuple[str, str]] = []
    target = settings
    for part in rest:
        key, _, value = part.partition(":")
        if key == "ci":
            target = interval
        target.append((key, value))
    return name, settings, interval


def interval_text(interval: list[tuple[str, str]] | Mapping[str, Any]) -> str:
    """``ci:percentile-bootstrap|...|n:10000|seed:0|level:0.95`` -> "95% percentile bootstrap over items, 10,000
    resamples, seed 0"."""
    d = dict(interval)
    if not d:
        return ""
    method = "percentile" if "percentile" in str(d.get("ci") or d.get("method") or "percentile") else \
        str(d.get("ci") or d.get("method")).replace("-bootstrap", "")
    level = d.get("level")
    try:
        pct = f"{float(level) * 100:g}% " if level is not None else ""
    except (TypeError, ValueError):
        pct = ""
    n = d.get("n", d.get("resamples"))
    try:
        resamples = f", {int(n):,} resamples" if n is not None else ""
    except (TypeError, ValueError):
        resamples = f", {n} resamples"
    seed = f", seed {d['seed']}" if d.get("seed") is not None else ""
    return f"{pct}{method} bootstrap over items{resamples}{seed}"


def settings_text(settings: list[tuple[str, str]]) -> str:
    return "; ".join(f"{FIELD_NAMES.get(k, k)} {v}" if v else FIELD_NAMES.get(k, k) for k, v in settings) or "\u2013"


def signatures_details(metrics: Mapping[str, Mapping[str, Any]], table_id: str, what: str) -> Block:
    """A disclosure holding one row per metric: its settings and its interval in words, and the signature."""
    t = Table(table_id, f"Settings and signatures of {what}", export=False, columns=
              [Column("metric", "Metric", row_header=True), Column("settings", "Settings"),
               Column("interval", "95% CI"), Column("signature", "Signature", sortable=False, cls="code")])
    for key in labels.metric_order(list(metrics)):
        sig = str(metrics[key].get("signature") or "")
        _, settings, interval = split_signature(sig)
        t.add({"metric": Cell(labels.metric_name(key), sub=key), "settings": Cell(settings_text(settings)),
               "interval": Cell(interval_text(interval) or "\u2013"), "signature": Cell(sig)},
              {"metric": key, "signature": sig})
    conventions = sorted({dict(split_signature(str(m.get("signature")))[1]).get("conv", "") for m in metrics.values()}
                         - {""})
    intervals = sorted({interval_text(split_signature(str(m.get("signature")))[2]) for m in metrics.values()} - {""})
    summary = "Settings and signatures" + (f": {', '.join(conventions)} convention" if conventions else "") + (
        f"; intervals: {intervals[0]}" if len(intervals) == 1 else "")
    return Details(summary, [Block("table", table=t)])
