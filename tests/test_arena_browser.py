"""The arena, judge-check and meta-evaluation pages in a real browser: axe-core finds no violation, no network request,
no CSP violation, no console error; the same setup (and skips) as tests/test_publish_browser.py."""

from __future__ import annotations

import json

import pytest
from test_arena import length_runs, make_run
from test_model_metrics_helpers import FakeJudge
from test_publish_browser import AXE, AXE_TAGS, axe_source, browser, watched  # noqa: F401 - pytest fixtures

from altbench.arena import ArenaSettings, run_arena
from altbench.judges.check import CheckSettings, run_judge_check
from altbench.metaeval.evaluate import meta_evaluate
from altbench.metaeval.records import read_jsonl
from altbench.publish.arena_page import render_arena_page
from altbench.publish.judgecheck_page import render_judge_check_page
from altbench.publish.metaeval_page import render_metaeval_page

pytestmark = pytest.mark.browser
HOSTILE = "</script><script>window.__pwned=1</script><b>x</b>"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    import os

    root = tmp_path_factory.mktemp("arena-pages")
    before = os.environ.get("ALTBENCH_CACHE")
    os.environ["ALTBENCH_CACHE"] = str(root / "cache")  # restored below: the judge cache stays in this folder
    from altbench.data.splits import load_split

    split = load_split("demo")
    runs = length_runs(root / "runs", split, n=6)
    hostile = make_run(root / "runs" / "hostile", HOSTILE, split, {it.id: f"a b {it.id}" for it in split.items[:6]})
    with FakeJudge() as judge:
        result = run_arena(ArenaSettings(runs=[runs["short"], hostile], anchors=[runs["medium"], runs["long"]],
                                         judge={"model": "fake-judge", "url": judge.url, "backoff": 0.01},
                                         resamples=50))
        check = run_judge_check(CheckSettings(
            judges=[{"model": "fake-judge", "url": judge.url, "backoff": 0.01},
                    {"model": HOSTILE, "url": judge.url, "backoff": 0.01}, {"model": "metric:paper/rougeL"}],
            runs=[runs["short"], hostile, runs["long"]], repeats=2, resamples=50))
    arena_page = render_arena_page(result, root / "arena")
    check_page = render_judge_check_page(check, root / "judge-check")
    rows = [{"id": f"s{i}", "references": [f"a red circle number {i}"], "candidate": c, "human": h,
             "model": HOSTILE if i % 2 else "m0"}
            for i, (c, h) in enumerate([("a red circle number 0", 4), ("a circle", 2), ("a dog", 1),
                                        ("a red circle number 3", 4), ("red", 2), (HOSTILE, 1)])]
    rows.append({"id": "p0", "references": ["a red circle"], "candidate_a": "a red circle", "candidate_b": HOSTILE,
                 "preference": "a", "category": "HM"})
    (root / "j.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = meta_evaluate(read_jsonl(root / "j.jsonl"), metrics=["judge"], resamples=50,  # with a judge card
                         metric_args={"judge.model": "metric:paper/rougeL", "judge.mode": "both"})
    meta_page = render_metaeval_page(meta, root / "meta")
    if before is None:
        os.environ.pop("ALTBENCH_CACHE", None)
    else:
        os.environ["ALTBENCH_CACHE"] = before
    return {"arena": arena_page, "meta-eval": meta_page, "judge-check": check_page}


@pytest.mark.skipif(AXE is None, reason="axe-core not found (npm install axe-core under .cache/node, "
                                         "or set ALTBENCH_AXE_JS)")
@pytest.mark.parametrize("name", ["arena", "meta-eval", "judge-check"])
def test_axe_reports_no_violations(pages, watched, axe_source, name):  # noqa: F811 - fixtures
    page = watched.open(pages[name])
    page.evaluate("(src) => { (0, eval)(src); }", axe_source)  # DevTools evaluation: not subject to the CSP
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}}); "
        "return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})); }", AXE_TAGS)
    assert result == [], f"axe violations on {name}: {result}"


@pytest.mark.parametrize("name", ["arena", "meta-eval", "judge-check"])
def test_no_network_no_csp_violation_no_injection(pages, watched, name):  # noqa: F811 - fixtures
    page = watched.open(pages[name])
    page.wait_for_timeout(100)
    assert watched.blocked == [] and page.evaluate("window.__csp") == []
    assert [m for m in watched.console if m[0] in ("error", "pageerror", "warning")] == []
    assert page.evaluate("typeof window.__pwned") == "undefined" and watched.dialogs == []
    assert page.evaluate("document.querySelectorAll('main b, main script').length") == 0
    assert page.evaluate("document.scripts.length") == 1  # only the hashed sort script


def test_arena_ratings_fit_1280_px(pages, watched):  # noqa: F811 - fixtures
    """The ratings table (plain and length-controlled, lengths, W / T / L) does not scroll sideways at 1280 px."""
    page = watched.open(pages["arena"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    wide = page.evaluate("Array.from(document.querySelectorAll('.table-wrap')).filter(w => w.offsetParent !== null "
                         "&& w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id)")
    assert "ratings" not in wide, wide
    cells = page.locator("table#ratings tbody tr").first.locator("td").all_inner_texts()
    assert any(" / " in c for c in cells)  # wins / ties / losses in one cell
