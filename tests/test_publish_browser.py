"""Real-browser checks of the leaderboard: headless Chromium (Debian's) driven by Playwright, with axe-core.

Skipped, with the reason, when Playwright, Chromium or axe-core is absent. Locations:
- Chromium: ``$ALTBENCH_CHROMIUM``, else ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH;
- axe-core: ``$ALTBENCH_AXE_JS`` (path of ``axe.min.js``), else ``node_modules/axe-core/axe.min.js`` under
  ``.cache/node/``, the repository, or ``/tmp/altbench-node/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import test_publish_fixtures as fx

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
AXE_CANDIDATES = [REPO / ".cache" / "node", REPO, Path("/tmp/altbench-node")]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                 "--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check"]
HOSTILE_MODEL = fx.HOSTILE_MODEL
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return fx.build_all(tmp_path_factory)


def _chromium() -> str | None:
    env = os.environ.get("ALTBENCH_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _axe() -> Path | None:
    env = os.environ.get("ALTBENCH_AXE_JS")
    if env:
        return Path(env) if Path(env).is_file() else None
    for base in AXE_CANDIDATES:
        path = base / "node_modules" / "axe-core" / "axe.min.js"
        if path.is_file():
            return path
    return None


# decided at collection, so a machine without a browser skips before building anything
sync_api = pytest.importorskip("playwright.sync_api", reason="Python Playwright is not installed")
CHROMIUM = _chromium()
if CHROMIUM is None:
    pytest.skip("Chromium not found (apt-get install chromium, or set ALTBENCH_CHROMIUM)", allow_module_level=True)
AXE = _axe()


@pytest.fixture(scope="module")
def browser():
    exe = CHROMIUM
    with sync_api.sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start is an environment problem
            pytest.skip(f"Chromium at {exe} does not start: {exc}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE is not None
    return AXE.read_text(encoding="utf-8")


class Watched:
    """A page whose every request, console message, CSP violation and dialog is recorded."""

    def __init__(self, browser, width: int = 1280, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=True)
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.context.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', "
            "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("dialog", self._dialog)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: Path):
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser):
    w = Watched(browser)
    yield w
    w.close()


def _pages(built) -> dict[str, Path]:
    site = built["root"] / "site"
    hostile_model = next((site / "hostile-jsonl").glob("model-script-*.html"))
    metric = min((site / "demo").glob("metric-paper-*.html"))
    return {"overview": site / "index.html", "split": site / "demo" / "index.html", "metric": metric,
            "model": site / "demo" / "model-retrieval.html", "hostile-model": hostile_model,
            "hostile-split": site / "hostile-jsonl" / "index.html", "report": built["report"].out / "index.html",
            "item": site / "demo" / "items" / "item-0.html", "items": site / "demo" / "items" / "index.html",
            "hostile-item": site / "hostile-jsonl" / "items" / "item-0.html"}


PAGES = ["overview", "split", "metric", "model", "hostile-model", "hostile-split", "report", "item", "items",
         "hostile-item"]


@pytest.mark.skipif(AXE is None, reason="axe-core not found (npm install axe-core under .cache/node, "
                                         "or set ALTBENCH_AXE_JS)")
@pytest.mark.parametrize("name", PAGES)
def test_axe_reports_no_violations(built, watched, axe_source, name):
    page = watched.open(_pages(built)[name])
    page.evaluate("(src) => { (0, eval)(src); }", axe_source)  # DevTools evaluation: not subject to the CSP
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}}); "
        "return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }", AXE_TAGS)
    assert result == [], f"axe violations on {name}: {result}"


@pytest.mark.parametrize("name", PAGES)
def test_no_network_request_no_csp_violation_no_error(built, watched, name):
    path = _pages(built)[name]
    page = watched.open(path)
    page.wait_for_timeout(100)
    assert watched.blocked == [], f"network requests attempted: {watched.blocked}"
    assert all(u.startswith(("file://", "data:")) for u in watched.requests), watched.requests
    assert page.evaluate("window.__csp") == []
    assert [m for m in watched.console if m[0] in ("error", "pageerror", "warning")] == []
    # the one inline script ran under the hashed CSP: the sort buttons work (checked below); no other script
    assert page.evaluate("document.scripts.length") == 1


def test_hostile_fixture_renders_as_text(built, watched):
    page = watched.open(_pages(built)["hostile-model"])
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watched.dialogs == []
    assert HOSTILE_MODEL in page.title()
    assert page.locator("h1").inner_text().strip() == f"Model: {HOSTILE_MODEL} on hostile.jsonl"
    # the hostile prediction is a text cell, and the document has no element injected from it
    assert page.locator("td", has_text="</script><script>window.__pwned=1</script>").count() >= 1
    assert page.evaluate("document.querySelectorAll('b, img[src=\"x\"], main script').length") == 0
    for name in ("overview", "hostile-split", "report", "hostile-item"):
        page = watched.open(_pages(built)[name])
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('main b, main script, img[src=\"x\"]').length") == 0
    assert watched.dialogs == []
    # the item page shows the hostile context, references, model name and output as text
    page = watched.open(_pages(built)["hostile-item"])
    main = page.locator("main").inner_text()
    assert "</script><script>window.__pwned=1</script>" in main and HOSTILE_MODEL.split("<")[0] in main
    assert page.locator("#outputs th", has_text="window.__pwned=3").count() == 1


def _column_values(page, table: str, col: int) -> list[float | None]:
    return page.evaluate(
        "([t, c]) => Array.from(document.querySelectorAll(`#${t} tbody tr`)).map(r => {"
        " const v = r.cells[c].getAttribute('data-sort'); return v === '' || v === null ? null : parseFloat(v); })",
        [table, col])


def test_keyboard_sorting_and_visible_focus(built, watched):
    page = watched.open(_pages(built)["model"])
    headers = page.locator("#items thead th")
    labels = [h.strip() for h in headers.all_inner_texts()]
    col = next(i for i, text in enumerate(labels) if text.startswith(("CIDEr", "ROUGE", "BLEU")))
    target = headers.nth(col).locator("button")
    # reach the sort button with the Tab key alone
    for _ in range(300):
        page.keyboard.press("Tab")
        if target.evaluate("b => b === document.activeElement"):
            break
    else:
        pytest.fail("the sort button cannot be reached with Tab")
    outline = target.evaluate("b => { const s = getComputedStyle(b); return [s.outlineStyle, s.outlineWidth]; }")
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline  # visible focus
    page.keyboard.press("Enter")
    assert headers.nth(col).get_attribute("aria-sort") == "ascending"
    values = [v for v in _column_values(page, "items", col) if v is not None]
    assert values == sorted(values) and len(values) == 48
    assert "sorted by" in page.locator("#items-status").inner_text().lower()
    page.keyboard.press("Space")
    assert headers.nth(col).get_attribute("aria-sort") == "descending"
    values = [v for v in _column_values(page, "items", col) if v is not None]
    assert values == sorted(values, reverse=True)
    # only one column carries aria-sort at a time
    assert page.evaluate("document.querySelectorAll('#items th[aria-sort]').length") == 1


def test_failed_items_sort_last(built, watched):
    page = watched.open(next((built["root"] / "site" / "hostile-jsonl").glob("model-flaky.html")))
    headers = page.locator("#items thead th")
    labels = [h.strip() for h in headers.all_inner_texts()]
    col = next(i for i, text in enumerate(labels) if text.startswith(("CIDEr", "ROUGE", "BLEU")))
    for _ in range(2):
        headers.nth(col).locator("button").click()
        values = _column_values(page, "items", col)
        assert values[-1] is None and all(v is not None for v in values[:-1])


@pytest.mark.parametrize("name", ["overview", "model", "item", "hostile-model", "split"])
def test_no_horizontal_scrolling_at_1280_px(built, watched, name):
    """Neither the page nor any of its tables scrolls sideways in a 1280-pixel-wide window."""
    page = watched.open(_pages(built)[name])
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    wide = page.evaluate("Array.from(document.querySelectorAll('.table-wrap')).filter(w => w.offsetParent !== null "
                         "&& w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id)")
    assert wide == [], f"tables scrolling sideways on {name}: {wide}"


def test_filter_narrows_rows_and_the_page_works_without_javascript(built, watched, browser):
    page = watched.open(_pages(built)["model"])
    box = page.locator("#items-filter")
    assert box.is_visible() and page.locator("#items tbody tr").count() == 48
    reference = page.locator("#items tbody tr").nth(3).locator("td").nth(2).inner_text().split()[0:3]
    box.fill(" ".join(reference).upper())  # words, any case
    shown = page.locator("#items tbody tr:not([hidden])")
    assert 1 <= shown.count() < 48
    assert all(all(w.lower() in t.lower() for w in reference) for t in shown.all_inner_texts())
    assert page.locator("#items-count").inner_text() == f"{shown.count()} of 48 rows shown"
    box.fill("")
    assert page.locator("#items tbody tr:not([hidden])").count() == 48
    # without JavaScript: no filter box (it would do nothing), every row shown, links and details still work
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto(_pages(built)["model"].as_uri())
        assert not plain.locator("#items-filter").is_visible()
        assert plain.locator("#items tbody tr:visible").count() == 48
        details = plain.locator("details").first
        assert details.get_attribute("open") is None  # settings collapsed: a summary line shows
        details.locator("summary").click()
        assert details.get_attribute("open") is not None
        plain.locator("#items tbody tr").first.locator("a").first.click()
        assert plain.url.endswith("/items/item-0.html") and "Item 0 on demo" in plain.locator("h1").inner_text()
        plain.locator("a[rel=next]").click()
        assert plain.url.endswith("/items/item-1.html")
    finally:
        context.close()


def test_screenshot(built, browser, tmp_path):
    w = Watched(browser, width=1280, height=900)
    try:
        page = w.open(built["root"] / "site" / "index.html")
        shot = tmp_path / "leaderboard-overview.png"
        page.screenshot(path=str(shot), full_page=True)
        model_shot = tmp_path / "leaderboard-model.png"
        w.open(built["root"] / "site" / "demo" / "model-retrieval.html").screenshot(path=str(model_shot))
    finally:
        w.close()
    assert shot.stat().st_size > 10_000 and model_shot.stat().st_size > 10_000
    print(f"screenshots: {shot} {model_shot}")
    copy_to = os.environ.get("ALTBENCH_SCREENSHOT_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(copy_to) / shot.name)


COMMITTED = REPO / "leaderboards"


def _committed_pages() -> list[str]:
    if not (COMMITTED / "index.html").is_file():
        return []
    pages = ["index.html"]
    for split in sorted(p.parent.name for p in COMMITTED.glob("*/index.html")):
        pages.append(f"{split}/index.html")
        pages.append(min(p.relative_to(COMMITTED).as_posix() for p in (COMMITTED / split).glob("metric-*.html")))
        pages.append(min(p.relative_to(COMMITTED).as_posix() for p in (COMMITTED / split).glob("model-*.html")))
        items = sorted((COMMITTED / split).glob("items/item-*.html"))
        if items:
            pages += [f"{split}/items/index.html", items[0].relative_to(COMMITTED).as_posix()]
    return pages


@pytest.mark.skipif(AXE is None, reason="axe-core not found")
@pytest.mark.parametrize("page_path", _committed_pages() or [pytest.param("", marks=pytest.mark.skip(
    reason="no committed leaderboard in leaderboards/"))])
def test_committed_leaderboard_passes_axe_offline(watched, axe_source, page_path):
    page = watched.open(COMMITTED / page_path)
    page.evaluate("(src) => { (0, eval)(src); }", axe_source)
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))", AXE_TAGS)
    assert result == [], f"axe violations on leaderboards/{page_path}: {result}"
    assert watched.blocked == [] and page.evaluate("window.__csp") == []
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0 && i.alt)")
