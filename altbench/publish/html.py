"""Rendering: Jinja2 with autoescaping, a strict Content-Security-Policy, tables and their CSV/JSON exports.

Every page is self-contained: the style sheet and the small sort script are inlined and allowed by their
sha256 hashes (no ``'unsafe-inline'``), images are ``data:`` URLs, and ``default-src 'none'`` forbids any other
load, so a page opened from ``file://`` makes no network request. All data is rendered into the HTML by
the templates (autoescaped), so no page parses JSON at run time. CSV and JSON downloads are files
written beside the page, linked with ``download``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib
import io
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from altbench.errors import MissingResourceError

TEMPLATES = "templates"
STATIC = "static"


def require(module: str):
    """Import a publishing dependency, or say how to install it (the ``publish`` extra)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingResourceError(f"publishing needs the Python package {module.split('.')[0]!r}: "
                                   "pip install 'altbench[publish]'") from None


def _static(name: str) -> str:
    return (resources.files("altbench.publish") / STATIC / name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@dataclass(frozen=True)
class Assets:
    css: str
    js: str

    @property
    def csp(self) -> str:
        return ("default-src 'none'; img-src data:; "
                f"style-src {csp_hash(self.css)}; script-src {csp_hash(self.js)}; "
                "base-uri 'none'; form-action 'none'")


@lru_cache(maxsize=1)
def assets() -> Assets:
    return Assets(_static("site.css").strip(), _static("sort.js").strip())


@lru_cache(maxsize=1)
def environment():
    jinja2 = require("jinja2")

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("altbench.publish", TEMPLATES),
        autoescape=True,  # every template, whatever its name: nothing reaches a page unescaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["table_rows"] = table_rows
    return env


def table_rows(t: Table):
    """The ``<tbody>`` rows of a table, escaped exactly as the template's autoescaping would (markupsafe).

    Written in Python rather than as a template loop: a leaderboard of 100 models renders 100,000 rows, and a
    template call per cell made that most of the build's time."""
    markupsafe = require("markupsafe")
    esc = markupsafe.escape
    cols = [(c.key, c.row_header, "num" if c.numeric else "", c.cls) for c in t.columns]
    out: list[str] = []
    for row in t.rows:
        out.append("<tr>\n")
        for key, header, num, ccls in cols:
            cell = row[key]
            cls = num or ("long" if cell.long else ccls)
            out.append('<th scope="row"' if header else "<td")
            if cls:
                out.append(f' class="{esc(cls)}"')
            if cell.sort is not None:
                out.append(f' data-sort="{esc(cell.sort_attr)}"')
            out.append(">")
            if cell.img:
                out.append(f'<img src="{esc(cell.img[0])}" alt="{esc(cell.img[1])}">')
                if cell.href:
                    out.append(f'<a href="{esc(cell.href)}">{esc(cell.text)}</a>')
            elif cell.href:
                out.append(f'<a href="{esc(cell.href)}">{esc(cell.text)}</a>')
            else:
                out.append(str(esc(cell.text)))
            if cell.sub:
                out.append(f'<span class="sub">{esc(cell.sub)}</span>')
            out.append("</th>\n" if header else "</td>\n")
        out.append("</tr>\n")
    return markupsafe.Markup("".join(out))


def render(template: str, **context: Any) -> str:
    markupsafe = require("markupsafe")

    a = assets()
    return environment().get_template(template).render(
        csp=a.csp, css=markupsafe.Markup(a.css), js=markupsafe.Markup(a.js), **context)


# --- tables -----------------------------------------------------------------------------------------


@dataclass
class Column:
    key: str
    label: str
    numeric: bool = False
    sortable: bool = True
    row_header: bool = False
    export: bool = True  # thumbnails are not exported
    cls: str = ""  # extra class of the column's cells: nowrap | code


@dataclass
class Cell:
    text: str = ""
    sort: float | str | None = None  # sort key (data-sort); None: the text
    href: str | None = None
    img: tuple[str, str] | None = None  # (data URL, alt text)
    sub: str | None = None  # secondary line, e.g. a confidence interval
    long: bool = False  # free text (context, prediction): wraps, never truncated

    @property
    def sort_attr(self) -> str:
        if self.sort is None:
            return self.text
        if isinstance(self.sort, float):
            return repr(self.sort)
        return str(self.sort)


@dataclass
class Table:
    id: str
    caption: str
    columns: list[Column]
    rows: list[dict[str, Cell]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # what the downloads hold
    sorted_by: tuple[str, str] | None = None  # (column key, "ascending"|"descending") of the rows as given
    note: str | None = None  # shown under the caption
    downloads: dict[str, str] = field(default_factory=dict)  # format -> href, set by Page.export
    filterable: bool = False  # a text filter over the rows (shown only when the script runs)
    export: bool = True  # CSV/JSON downloads beside the page (item pages leave theirs to the model pages')

    def add(self, cells: dict[str, Cell] | None, record: dict[str, Any]) -> None:
        """A row (``cells`` None: in the downloads only) and its export record."""
        if cells is not None:
            self.rows.append({c.key: cells.get(c.key) or Cell() for c in self.columns})
        self.records.append(record)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(v: Any) -> Any:
    """Spreadsheet-safe: a text cell starting like a formula gets a leading apostrophe (OWASP)."""
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, (list, tuple, dict)):
        v = json.dumps(v, ensure_ascii=False)
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return "" if v is None else v


def table_csv(table: Table) -> str:
    keys: list[str] = []
    for rec in table.records:
        keys.extend(k for k in rec if k not in keys)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys)
    for rec in table.records:
        writer.writerow([_csv_value(rec.get(k)) for k in keys])
    return buf.getvalue()


def table_json(table: Table) -> str:
    try:  # most tables hold no NaN: then the records are dumped as they are, without a copy
        rows = json.dumps(table.records, ensure_ascii=False, allow_nan=False, default=_json_default,
                          separators=(",", ":"))
    except ValueError:
        rows = json.dumps(safe_json(table.records), ensure_ascii=False, allow_nan=False, default=_json_default,
                          separators=(",", ":"))
    return '{"table":' + json.dumps(table.caption, ensure_ascii=False) + ',"rows":' + rows + "}\n"


def _json_default(o: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def safe_json(records: Any) -> Any:
    """NaN/inf -> None, recursively (JSON has no NaN)."""
    if isinstance(records, float):
        return records if math.isfinite(records) else None
    if isinstance(records, dict):
        return {k: safe_json(v) for k, v in records.items()}
    if isinstance(records, (list, tuple)):
        return [safe_json(v) for v in records]
    return records


class Site:
    """Files of a generated site: relative path -> bytes, written in one go by the caller."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def add(self, path: str, content: str | bytes) -> None:
        if path in self.files:
            raise ValueError(f"generated twice: {path}")
        self.files[path] = content.encode("utf-8") if isinstance(content, str) else content

    def page(self, path: str, template: str, tables: list[Table], **context: Any) -> None:
        """Render ``template`` to ``path``, writing each table's CSV and JSON under ``data/`` beside it."""
        folder, _, filename = path.rpartition("/")
        prefix = f"{folder}/" if folder else ""
        stem = filename.rsplit(".", 1)[0]
        for table in tables:
            if not table.export:
                continue
            for ext, text in (("csv", table_csv(table)), ("json", table_json(table))):
                name = f"data/{stem}--{table.id}.{ext}"
                self.add(prefix + name, text)
                table.downloads[ext] = name
        self.add(path, render(template, **context))


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


# --- page content: short constructors (H, P, T, F...) keep the page builders readable ---------------


@dataclass
class Block:
    """One piece of a page, rendered by ``page.html`` (everything in it is escaped)."""

    kind: str  # h | p | facts | links | list | table | figure | pre | details | nav | columns
    text: str = ""
    level: int = 2
    id: str | None = None
    cls: str = ""
    items: list[Any] = field(default_factory=list)
    table: Table | None = None
    figure: Any = None
    blocks: list[Block] = field(default_factory=list)  # details: its content; columns: one block per column


def H(text: str, level: int = 2, id: str | None = None) -> Block:
    return Block("h", text, level=level, id=id)


def P(text: str, cls: str = "") -> Block:
    return Block("p", text, cls=cls)


def Facts(pairs: list[tuple[str, str]]) -> Block:
    return Block("facts", items=[(str(a), str(b)) for a, b in pairs])


def Links(pairs: list[tuple[str, str]], cls: str = "links") -> Block:
    return Block("links", items=pairs, cls=cls)


def Bullets(texts: list[str]) -> Block:
    return Block("list", items=[str(t) for t in texts])


def T(table: Table) -> Block:
    return Block("table", table=table)


def F(figure: Any) -> Block:
    return Block("figure", figure=figure)


def Pre(text: str, id: str | None = None) -> Block:
    return Block("pre", text, id=id)


def Details(summary: str, blocks: list[Block]) -> Block:
    """A disclosure: ``summary`` (what a reader needs) always shown, ``blocks`` (the raw settings) on demand."""
    return Block("details", summary, blocks=blocks)


def Nav(label: str, links: list[tuple[str, str | None]], cls: str = "pager") -> Block:
    """A navigation landmark named ``label``; a link without a target is shown as plain text."""
    return Block("nav", label, items=links, cls=cls)


def Columns(blocks: list[Block]) -> Block:
    """Blocks side by side on a wide screen, one below the other on a narrow one (a :func:`Group` per column
    holds several)."""
    return Block("columns", blocks=blocks)


def Group(blocks: list[Block]) -> Block:
    return Block("group", blocks=blocks)


def page_tables(blocks: list[Block]) -> list[Table]:
    out: list[Table] = []
    for b in blocks:
        if b.table is not None:
            out.append(b.table)
        out += page_tables(b.blocks)
    return out
