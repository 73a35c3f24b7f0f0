"""The probe page, the split page with reliance columns and the report's context-blind items in a real
browser: axe-core finds no violation (skipped, with the reason, without Chromium, Playwright or axe-core)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from altbench.cli import cli

pytestmark = pytest.mark.browser

from test_publish_browser import AXE, AXE_TAGS, Watched, axe_source, browser  # noqa: F401


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe-pages")
    runner = CliRunner()

    def ok(*args: str) -> None:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output

    import os

    os.environ.setdefault("ALTBENCH_CACHE", str(root / "cache"))
    for model in ("context-echo", "retrieval"):
        ok("run", "--model", model, "--out", str(root / model), "--resamples", "200", "--probes",
           "context-swap,image-noise")
    ok("leaderboard", str(root / "context-echo"), str(root / "retrieval"), "--out", str(root / "site"))
    ok("report", str(root / "retrieval"), "--out", str(root / "report"))
    return {"probes": root / "site" / "demo" / "probes.html", "split": root / "site" / "demo" / "index.html",
            "report": root / "report" / "index.html"}


@pytest.mark.skipif(AXE is None, reason="axe-core not found (npm install axe-core under .cache/node)")
@pytest.mark.parametrize("name", ["probes", "split", "report"])
def test_probe_pages_have_no_axe_violations(pages, browser, axe_source, name):  # noqa: F811
    watched = Watched(browser)
    try:
        page = watched.open(pages[name])
        page.evaluate("(src) => { (0, eval)(src); }", axe_source)
        result = page.evaluate(
            "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}}); "
            "return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }", AXE_TAGS)
        assert result == [], f"axe violations on {name}: {result}"
        assert watched.blocked == [] and page.evaluate("window.__csp") == []
    finally:
        watched.close()
