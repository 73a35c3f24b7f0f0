"""Structural checks of the leaderboard and the report, without a browser (see test_publish_browser.py)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import test_publish_fixtures as fx
from click.testing import CliRunner

from altbench.cli import cli
from altbench.errors import AltbenchError
from altbench.publish import charts, html, labels, ranks
from altbench.publish.report import ReportConfig, build_report, md_escape
from altbench.publish.runs import load_run
from altbench.publish.site import LeaderboardConfig, build_leaderboard

REPO = Path(__file__).resolve().parents[1]
HOSTILE_MODEL = fx.HOSTILE_MODEL


@pytest.fixture(autouse=True)
def _test_cache(tmp_path_factory, monkeypatch):
    """Demo images go to the session's cache, never to the user's ~/.cache."""
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return fx.build_all(tmp_path_factory)


@pytest.fixture
def run_env(tmp_path_factory, monkeypatch):
    fx.use_run_env(monkeypatch, tmp_path_factory)


@pytest.fixture
def hostile_models(monkeypatch):
    fx.use_hostile_models(monkeypatch)


class Page(HTMLParser):
    """Collects what the checks need from one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._raw: list[str] | None = None
        self.tables: list[dict] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("script", "style"):
            self._raw = []
        if tag == "table":
            self.tables.append({"caption": False, "ths": [], "in_thead": False, "buttons": 0, "id": a.get("id")})
        if self.tables and tag == "caption":
            self.tables[-1]["caption"] = True
        if self.tables and tag == "thead":
            self.tables[-1]["in_thead"] = True
        if self.tables and tag == "tbody":
            self.tables[-1]["in_thead"] = False
        if self.tables and tag == "th":
            self.tables[-1]["ths"].append((self.tables[-1]["in_thead"], a))
        if self.tables and tag == "button":
            self.tables[-1]["buttons"] += 1
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "script" and self._raw is not None:
            self.scripts.append("".join(self._raw))
            self._raw = None
        if tag == "style" and self._raw is not None:
            self.styles.append("".join(self._raw))
            self._raw = None

    def handle_data(self, data):
        if self._raw is not None:
            self._raw.append(data)
        else:
            self.text.append(data)


def parse(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


def pages(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.html"))


def test_site_layout(built):
    site = built["root"] / "site"
    names = {p.relative_to(site).as_posix() for p in pages(site)}
    assert "index.html" in names and "demo/index.html" in names
    assert any(n.startswith("demo/metric-paper-") for n in names)
    assert {"demo/model-context-echo.html", "demo/model-retrieval.html"} <= names
    assert any(n.startswith("hostile-jsonl/model-script-window-pwned") for n in names)  # hostile name, slugged
    manifest = json.loads((site / "site-manifest.json").read_text())
    assert set(manifest["files"]) == set(built["site"].files)
    for rel, size in built["site"].files.items():
        assert (site / rel).stat().st_size == size


def test_every_page_is_self_contained_and_accessible_by_structure(built):
    for folder in (built["root"] / "site", built["report"].out):
        for path in pages(folder):
            _, page = parse(path)
            where = path.relative_to(folder)
            # one hashed inline style and one hashed inline script, nothing else executable
            assert len(page.scripts) == 1 and len(page.styles) == 1, where
            csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") ==
                       "Content-Security-Policy")
            assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert html.csp_hash(page.scripts[0]) in csp and html.csp_hash(page.styles[0]) in csp
            for tag, a in page.tags:
                assert tag not in ("link", "iframe", "object", "embed", "base", "form"), (where, tag)
                assert not any(k.startswith("on") for k in a), (where, tag, a)  # no inline handlers
                assert "style" not in a, (where, tag)  # style attributes would need 'unsafe-inline'
                if tag == "script":
                    assert "src" not in a
                if tag == "img":
                    assert a.get("alt"), (where, "img without alt text")
                    assert a["src"].startswith("data:image/"), (where, a["src"][:40])
                if tag == "a":
                    href = a["href"]
                    assert not re.match(r"^([a-z]+:|//)", href), (where, href)  # relative links only
                    target = href.split("#")[0]
                    if target:
                        assert (path.parent / target).is_file(), (where, href)  # no broken link
                    if "download" in a:
                        assert target.startswith("data/") and target.endswith((".csv", ".json"))
            assert page.tags[0][0] == "html" and dict(page.tags[0][1]).get("lang") == "en"
            assert [t for t, _ in page.tags].count("h1") == 1, where
            assert [t for t, _ in page.tags].count("main") == 1, where
            for table in page.tables:
                assert table["caption"], (where, table["id"])
                for in_head, a in table["ths"]:
                    assert a.get("scope") == ("col" if in_head else "row"), (where, table["id"], a)
                assert table["buttons"] >= 1 or table["id"] is None, (where, table["id"])
            # sort buttons are real buttons; aria-sort only on header cells
            for tag, a in page.tags:
                if "aria-sort" in a:
                    assert tag == "th" and a["aria-sort"] in ("ascending", "descending")
                if tag == "button":
                    assert a.get("type") == "button"


def test_hostile_strings_are_text_everywhere(built):
    marker = re.compile(r"<script>window|<img src=x|<b>bold|</title><img", re.IGNORECASE)
    seen_model = seen_text = False
    for folder in (built["root"] / "site", built["report"].out):
        for path in pages(folder):
            text, page = parse(path)
            assert not marker.search(text), path  # never raw markup
            assert text.count("<script") == 1 and text.count("</script>") == 1, path
            visible = "".join(page.text)
            seen_model |= HOSTILE_MODEL in visible  # it parses back to exactly the original string
            seen_text |= "</script><script>window.__pwned=1</script>" in visible
            assert "\u2028" not in text or "&" in text  # raw separators only inside escaped text
    assert seen_model and seen_text
    md = (built["report"].out / "summary.md").read_text()
    assert "\\</script\\>" in md and not re.search(r"(?<!\\)<", md)  # every < escaped in Markdown


def test_ranks_ties_and_significance_text(built):
    site = built["root"] / "site"
    _, page = parse(site / "demo" / "metric-paper-rougel.html")
    visible = " ".join("".join(page.text).split())
    assert "Significantly better than" in visible and ("tied" in visible or "none" in visible)
    data = json.loads((site / "demo" / "data" / "metric-paper-rougel--metric-paper-rougel.json").read_text())
    rows = {r["model"]: r for r in data["rows"]}
    assert set(rows) == {"context-echo", "retrieval"}
    for r in rows.values():  # rank = 1 + number of models significantly better
        assert r["rank"] == 1 + len(r["significantly_worse_than"])
        assert r["ci95_low"] <= r["value"] <= r["ci95_high"] and r["n"] == 48


def _synthetic_group(tmp_path, columns_by_model):
    from altbench.publish.runs import group_by_split
    from altbench.publish.runs import load_run as load_published
    from altbench.stats.synthetic import write_run

    folders = [write_run(tmp_path / name, cols, model=name) for name, cols in columns_by_model.items()]
    (group,) = group_by_split([load_published(f) for f in folders])
    return group


def _rank(group, key, trials=400):
    from altbench.stats.engine import Policy

    policy = Policy(resamples=trials, trials=trials)
    return ranks.rank_metric(group.runs, key, ranks.analyse_group(group.runs, policy), policy)


def test_holm():
    from altbench.stats.paired import holm

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    adj = holm([float("nan"), 0.2])
    assert np.isnan(adj[0]) and adj[1] == pytest.approx(0.2)


def test_rank_metric_ties_share_ranks(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 0.5, 60)
    group = _synthetic_group(tmp_path, {"A": {"paper/x": base + 0.3},
                                        "B": {"paper/x": base + 0.3 + rng.normal(0, 0.01, 60)},
                                        "C": {"paper/x": base}})
    st = _rank(group, "paper/x").standings
    assert st["A"].rank == st["B"].rank == 1 and st["C"].rank == 3
    assert st["A"].tied_with == ["B"] and st["A"].rank_text == "1 (tied)" and st["C"].rank_text == "3"
    assert set(st["C"].worse_than) == {"A", "B"}


def test_runs_scored_with_other_settings_are_not_ranked(tmp_path):
    from altbench.stats.synthetic import Column

    x = np.linspace(0, 1, 20)
    same = _synthetic_group(tmp_path / "same", {"A": {"paper/x": Column(x, settings="tok:a")},
                                                "BB": {"paper/x": Column(x, settings="tok:a")}})
    r = _rank(same, "paper/x", 100)
    assert r.standings["A"].rank == 1 and not r.note
    other = _synthetic_group(tmp_path / "other", {"A": {"paper/x": Column(x, settings="tok:a")},
                                                  "B": {"paper/x": Column(x, settings="tok:b")}})
    r = _rank(other, "paper/x", 100)
    assert r.standings["A"].rank is None and r.standings["A"].rank_text == "not ranked"
    assert "other settings" in r.note and r.pairs == []


def test_tables_export_csv_safely():
    t = html.Table("t", "caption", [html.Column("a", "A")])
    t.add({"a": html.Cell("x")}, {"a": "=HYPERLINK(\"http://evil\")", "b": -1.5, "c": None, "d": float("nan")})
    rows = list(csv.reader(io.StringIO(html.table_csv(t))))
    assert rows[0] == ["a", "b", "c", "d"] and rows[1][0].startswith("'=") and rows[1][1] == "-1.5"
    assert json.loads(html.table_json(t))["rows"][0]["d"] is None


def test_charts_are_deterministic_text_svgs():
    from altbench.publish import svg

    hostile = "$x^2$ \\ <b>\"&'"
    a = svg.forest(["m1", hostile], [10.0, 20.0], [[8.0, 12.0], [15.0, 25.0]], "CIDEr (paper)")
    assert a == svg.forest(["m1", hostile], [10.0, 20.0], [[8.0, 12.0], [15.0, 25.0]], "CIDEr (paper)")
    assert a.startswith("<svg") and "&lt;b&gt;" in a and "<b>" not in a  # label text escaped inside the SVG
    for drawing in (a, svg.histogram_panels([(hostile, ["0", "9"], [1, 0, 3])]),
                    svg.box_rows([hostile], [[1, 2, 3, 4, 5]], "Length", 10, 5, "5"),
                    svg.ci_bars([hostile], [0.3], [[0.1, 0.5]], "tau")):
        ET.fromstring(drawing)  # well-formed XML: every label escaped
        assert "<b>" not in drawing and drawing.count("<text") >= 1
    assert svg.nice_ticks(0.0, 0.93) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    # values apart by less than any reported decimal (a coco BLEU of about -1e-17): one unit, distinct ticks
    assert svg.nice_ticks(-3e-17, -1e-18) == [-1.0, -0.8, -0.6, -0.4, -0.2, 0.0]
    assert svg.nice_ticks(5.0, 5.0) == [5.0, 5.2, 5.4, 5.6, 5.8, 6.0]
    svg.forest(["a", "b"], [-2e-17, -1e-17], [[-3e-17, -1e-18], [-2e-17, 0.0]], "BLEU")  # drew a ValueError
    h = charts.bar_panels([0.0, 25.0, 50.0], {"m": [1, 2, 3]}, "Length", 125, "125 characters")
    assert h == charts.bar_panels([0.0, 25.0, 50.0], {"m": [1, 2, 3]}, "Length", 125, "125 characters")
    assert charts.histogram([0, 24.9, 25, 1000], [0.0, 25.0, 50.0]) == [2, 1, 1]


def test_rebuild_is_byte_identical_and_removes_stale_files(built, tmp_path):
    root = built["root"]
    out = tmp_path / "site"
    first = build_leaderboard(LeaderboardConfig(runs=[root / "demo"], out=out, resamples=300))
    second = build_leaderboard(LeaderboardConfig(runs=[root / "demo"], out=out, resamples=300))
    assert first.files == second.files and not second.removed
    again = json.loads((out / "site-manifest.json").read_text())
    assert again["files"] == json.loads((out / "site-manifest.json").read_text())["files"]
    only = build_leaderboard(LeaderboardConfig(runs=[root / "demo" / "retrieval"], out=out, resamples=300))
    assert "demo/model-context-echo.html" in only.removed and not (out / "demo" / "model-context-echo.html").exists()
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "index.html").write_text("mine")
    with pytest.raises(AltbenchError, match="did not generate"):
        build_leaderboard(LeaderboardConfig(runs=[root / "demo"], out=tmp_path / "foreign"))


def test_thumbnails_are_small_and_optional(built, tmp_path):
    site = built["root"] / "site"
    from PIL import Image

    text = (site / "demo" / "model-retrieval.html").read_text()
    thumbs = re.findall(r'src="data:image/(?:jpeg|png);base64,([^"]+)"', text)
    assert len(thumbs) == 48
    for b64 in thumbs:
        img = Image.open(io.BytesIO(base64.b64decode(b64)))
        assert max(img.size) <= 96 and len(b64) < 8000
    out = build_leaderboard(LeaderboardConfig(runs=[built["root"] / "demo"], out=tmp_path / "s", images=False,
                                              resamples=200))
    assert not re.search("image/(jpeg|png)", (out.out / "demo" / "model-retrieval.html").read_text())


def test_thumbnails_pick_the_smaller_encoding_losslessly_for_drawings(tmp_path):
    from PIL import Image, ImageDraw

    from altbench.data.items import Item
    from altbench.publish.thumbs import thumbnail

    flat = Image.new("RGB", (300, 200), (250, 210, 40))
    ImageDraw.Draw(flat).rectangle((50, 50, 120, 120), fill=(40, 80, 220))
    flat.save(tmp_path / "flat.png")
    noise = Image.effect_noise((300, 200), 60).convert("RGB")
    noise.save(tmp_path / "photo.png")

    def item(name):
        return Item(name, tmp_path / name, tmp_path, "", "", ("ref",), "test")

    assert thumbnail(item("flat.png")).startswith("data:image/png;")
    assert thumbnail(item("photo.png")).startswith("data:image/jpeg;")
    assert thumbnail(item("missing.png")) is None


def test_report_of_a_run_with_failed_items(built):
    out = built["report"].out
    _, page = parse(out / "index.html")
    visible = " ".join("".join(page.text).split())
    assert "Failed items" in visible and "image not found" in visible
    assert "Worst" in visible and "Best" in visible and "Configuration" in visible
    assert "signature" in visible.lower() and "95% CI" in visible
    md = (out / "summary.md").read_text()
    assert md.startswith("# altbench report: flaky on hostile.jsonl") and "## Failed items (1)" in md
    assert "| paper/cider |" in md.replace("\\", "") or "| paper" in md.replace("\\", "")


def test_report_when_every_item_failed_or_files_are_missing(tmp_path, run_env, hostile_models, monkeypatch):
    from altbench.run.runner import RunConfig, run
    split = fx.write_hostile_split(tmp_path / "split")
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", "0,1,2,3,4,5")
    r = run(RunConfig(model="flaky", split=str(split), out=tmp_path / "run", resamples=200, batch_size=1))
    assert r.results["counts"]["scored"] == 0
    res = build_report(ReportConfig(run=r.run_dir, out=tmp_path / "rep"))
    text = (res.out / "index.html").read_text()
    assert "No metric could be computed" in text and "model exploded" in text
    (r.run_dir / "predictions.jsonl").unlink()
    r.scoring.scores_path.unlink()
    res = build_report(ReportConfig(run=r.run_dir / "results.json", out=tmp_path / "rep2"))
    assert any("no per-item scores" in n for n in res.notes) and any("predictions" in n for n in res.notes)


def test_cli_leaderboard_and_report(built, tmp_path):
    runner = CliRunner()
    root = built["root"]
    res = runner.invoke(cli, ["leaderboard", str(root / "demo"), "--out", str(tmp_path / "lb"), "--resamples", "200",
                              "--no-images"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "lb" / "index.html").is_file() and "wrote" in res.output
    res = runner.invoke(cli, ["report", str(built["hostile"][1]), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rep" / "index.html").is_file() and (tmp_path / "rep" / "summary.md").is_file()
    bad = tmp_path / "notarun"
    bad.mkdir()
    res = runner.invoke(cli, ["leaderboard", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "no results.json" in res.output and "Traceback" not in res.output
    res = runner.invoke(cli, ["report", str(root / "demo"), "--out", str(tmp_path / "y")])
    assert res.exit_code == 2 and "takes one run folder" in res.output


def test_only_the_build_script_writes_the_committed_site(built, tmp_path, monkeypatch):
    """leaderboards/ holds a marker: any other command's site there is refused (it would replace the committed
    pages); the build script's module passes committed=True. `altbench leaderboard` defaults to site/."""
    from altbench.publish.site_files import COMMITTED_MARKER

    assert (REPO / "leaderboards" / COMMITTED_MARKER).is_file()
    site = tmp_path / "committed"
    site.mkdir()
    (site / COMMITTED_MARKER).write_text("committed\n")
    runner = CliRunner()
    for args in (["leaderboard", str(built["root"] / "demo"), "--out", str(site), "--no-images"],
                 ["report", str(built["demo"][0]), "--out", str(site), "--no-images"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 2 and "only leaderboards/build.sh rewrites" in res.output, res.output
    assert sorted(p.name for p in site.iterdir()) == [COMMITTED_MARKER]
    build_leaderboard(LeaderboardConfig(runs=[built["root"] / "demo"], out=site, images=False, resamples=200,
                                        committed=True))
    assert (site / "index.html").is_file()
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(cli, ["leaderboard", str(built["root"] / "demo"), "--no-images", "--resamples", "200"])
    assert res.exit_code == 0 and (tmp_path / "site" / "index.html").is_file(), res.output


def test_report_default_folder(built, tmp_path):
    run = load_run(built["hostile"][1])
    assert run.report_name.startswith("flaky-hostile-jsonl-")
    res = build_report(ReportConfig(run=built["hostile"][1], reports_root=tmp_path))
    assert res.out == tmp_path / run.report_name and (res.out / "index.html").is_file()


def test_markdown_escape():
    assert md_escape("<script>|x|*y*") == "\\<script\\>\\|x\\|\\*y\\*"
    assert md_escape("a\nb   c") == "a b c" and md_escape("x" * 10, limit=5) == "xxxx\u2026"


def test_labels():
    assert labels.metric_name("paper/cider") == "CIDEr (paper)" and labels.metric_name("diag/empty") == "Empty output"
    assert labels.headline(["diag/empty", "coco/bleu4", "paper/rougeL"]) == "paper/rougeL"
    assert labels.fmt("diag/over_125_chars", 0.125) == "12.50%" and labels.fmt("paper/cider", None) == "\u2013"
    # the one display rule (altbench.results.numbers): the metric's scale and reported decimals, half up, no -0
    paper = {"scale": 100.0, "signature": "bleu1|conv:paper|round:5|scale:100|ci:percentile-bootstrap"}
    edit = {"scale": 1.0, "signature": "edit_distance|conv:paper|round:3|scale:1|ci:percentile-bootstrap"}
    assert labels.fmt("paper/bleu1", 72.095, paper) == "72.10" and labels.fmt("paper/edit_distance", 2.688, edit) == "2.688"
    assert labels.fmt("coco/bleu4", -1e-17) == "0.0000" and labels.fmt_ci("paper/bleu4", [-0.0, 0.0], paper) == "0.00 to 0.00"


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_palette_meets_wcag_aa_contrast():
    css = html.assets().css
    var = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    for text in ("ink", "muted", "link", "visited"):
        for bg in ("#ffffff", var["stripe"], var["head"]):
            assert contrast(var[text], bg) >= 4.5, (text, bg)
    assert contrast(var["warn"], var["warn-bg"]) >= 4.5
    assert contrast(var["focus"], "#ffffff") >= 3 and contrast(var["focus"], var["head"]) >= 3  # focus ring
    assert contrast(charts.ACCENT, "#ffffff") >= 3 and contrast(charts.INK, "#ffffff") >= 4.5


def test_matplotlib_is_not_on_the_scoring_import_path():
    code = ("import sys; import altbench.cli.score_cmd, altbench.run.rescore, altbench.run.runner, "
            "altbench.publish.site, altbench.publish.report, altbench.cli.publish_cmd; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
            "assert 'jinja2' not in sys.modules, 'jinja2 imported'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("platform", ["talt", "palt"])
def test_sample_split_leaderboard_with_downscaled_images(sample_root, tmp_path, run_env, platform):
    from altbench.run.runner import RunConfig, run

    r = run(RunConfig(model="context-echo", split=f"{platform}-sample", data_root=sample_root, out=tmp_path / "run",
                      resamples=200))
    out = build_leaderboard(LeaderboardConfig(runs=[r.run_dir], out=tmp_path / "site", data_root=sample_root,
                                              resamples=200))
    assert not [n for n in out.notes if "could not be loaded" in n]
    text = (tmp_path / "site" / f"{platform}-sample" / "model-context-echo.html").read_text()
    thumbs = re.findall(r'src="data:image/(?:jpeg|png);base64,([^"]+)"', text)
    assert len(thumbs) >= 9 and all(len(t) < 12000 for t in thumbs)  # downscaled, never the photos
    items = sorted((tmp_path / "site" / f"{platform}-sample" / "items").glob("item-*.html"))
    images = [re.findall(r'src="data:image/(?:jpeg|png);base64,([^"]+)"', p.read_text()) for p in items]
    assert len(items) >= 9 and all(len(i) == 1 and len(i[0]) < 60000 for i in images)  # 320 px, not the photo
    assert out.total_bytes < 800_000  # 10 thumbnails, 10 item pages with their 320 px image, the other pages


def test_real_altbench_runs_publish(tmp_path, monkeypatch):
    """`altbench run` with the real scorers (no stand-in) -> `altbench leaderboard` and `altbench report`."""
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    for model in ("context-echo", "retrieval"):
        res = runner.invoke(cli, ["run", "--model", model, "--split", "demo", "--resamples", "200",
                                  "--out", str(tmp_path / "runs" / model)])
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["leaderboard", str(tmp_path / "runs"), "--out", str(tmp_path / "lb"),
                              "--resamples", "200"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "lb" / "data" / "index--summary-demo.json").read_text())
    assert {r["model"] for r in summary["rows"]} == {"context-echo", "retrieval"}
    assert all(r["rank"] >= 1 and r["n_scored"] == 48 for r in summary["rows"])
    assert (tmp_path / "lb" / "demo" / "metric-paper-cider.html").is_file()
    res = runner.invoke(cli, ["report", str(tmp_path / "runs" / "retrieval"), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "paper/cider" in (tmp_path / "rep" / "summary.md").read_text().replace("\\", "")


def test_item_table_caps_rows_but_not_downloads(built):
    from altbench.publish.runs import group_by_split
    from altbench.publish.tables import item_table
    from altbench.publish.thumbs import Thumbnails

    run = load_run(built["demo"][0])
    group_by_split([run])
    t = item_table(run, None, Thumbnails(enabled=False), "items", "Items", max_rows=5)
    assert len(t.rows) == 5 and len(t.records) == 48 and "5 lowest-scoring" in t.note
    key = next(k for k in run.metrics if labels.is_quality(k) and k == labels.headline(list(run.metrics)))
    shown = sorted(float(r[key].sort) for r in t.rows)
    rest = sorted(r[key] for r in t.records if r["id"] not in {row["id"].text for row in t.rows})
    assert max(shown) <= min(rest) * (1 + 1e-9) + 1e-12


def test_report_of_an_altbench_score_output(built, tmp_path):
    runner = CliRunner()
    preds = built["demo"][1] / "predictions.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        fx.use_run_env(mp, _Factory(built["root"]))
        res = runner.invoke(cli, ["score", str(preds), "--split", "demo", "--out", str(tmp_path / "scored"),
                                  "--resamples", "200"])
        assert res.exit_code == 0, res.output
        res = runner.invoke(cli, ["report", str(tmp_path / "scored"), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "rep" / "index.html").read_text()
    assert "no predictions.jsonl" not in text  # found through results.json's model.predictions
    assert "Worst" in text


class _Factory:
    """The bit of tmp_path_factory that use_run_env needs, pointing at the session's build."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def getbasetemp(self) -> Path:
        return self.root.parent


def test_overview_links_arena_and_meta_eval_pages_written_into_its_folder(tmp_path):
    from altbench.publish.site import LeaderboardConfig, build_leaderboard
    from altbench.stats.synthetic import write_run

    runs = [write_run(tmp_path / "runs" / name, {"paper/x": np.linspace(0, 1, 10) * k}, model=name)
            for k, name in ((1, "A"), (0.5, "B"))]
    out = tmp_path / "site"
    build_leaderboard(LeaderboardConfig(runs=runs, out=out, images=False, resamples=200))
    assert "arena/index.html" not in (out / "index.html").read_text()
    (out / "arena").mkdir()
    (out / "arena" / "index.html").write_text("<html></html>")
    build_leaderboard(LeaderboardConfig(runs=runs, out=out, images=False, resamples=200))
    index = (out / "index.html").read_text()
    assert 'href="arena/index.html"' in index and "meta-eval/index.html" not in index
    assert (out / "arena" / "index.html").is_file()  # a rebuild leaves the other command's page alone
    (out / "judge-check").mkdir()  # altbench judge-check --out SITE/judge-check: linked the same way
    (out / "judge-check" / "index.html").write_text("<html></html>")
    build_leaderboard(LeaderboardConfig(runs=runs, out=out, images=False, resamples=200))
    assert 'href="judge-check/index.html"' in (out / "index.html").read_text()
