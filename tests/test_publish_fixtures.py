"""Run folders for the publishing tests, made by the real ``altbench run`` pipeline.

- ``demo_runs``: context-echo and retrieval on the embedded demo split;
- ``hostile_runs``: a custom split whose contexts and references are hostile strings (``</script>``, quotes,
  HTML, U+2028), a model whose *name* is hostile, and a model that fails some items (one image is missing);
  context-echo copies the hostile context into its predictions, so hostile text reaches every page.

Every run is scored by the real scorers (no stand-in: if the paper scorer fails, these tests fail).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

HOSTILE_TEXT = ('</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> '
                '"double" \'single\' & &amp; <b>bold</b> \u2028line\u2029sep =HYPERLINK("x")')
HOSTILE_MODEL = '<script>window.__pwned=3</script>"evil" & \'model\' </title><img src=x onerror=window.__pwned=4> $x^2$ \\'
MARKERS = ("__pwned",)


def use_run_env(mp: pytest.MonkeyPatch, factory) -> None:
    """Demo images in a test cache; the test adapters importable."""
    mp.setenv("ALTBENCH_CACHE", str(factory.getbasetemp() / "cache"))
    mp.syspath_prepend(str(TESTS))


def make_demo_runs(root: Path, models=("context-echo", "retrieval"), limit: int | None = None) -> list[Path]:
    from altbench.run.runner import RunConfig, run

    return [run(RunConfig(model=m, split="demo", out=root / m, resamples=200, limit=limit)).run_dir for m in models]


def write_hostile_split(folder: Path, n: int = 6) -> Path:
    """A custom test-format split: hostile contexts and references; item 3's image is missing."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        name = f"img{i}.png"
        if i != 3:
            Image.new("RGB", (160, 120), ((40 * i) % 256, 90, 200 - 20 * i)).save(folder / name)
        context = "ok" if i == 5 else f"post {i} {HOSTILE_TEXT}"
        rows.append({"image_path": name, "idx": i,
                     "question": "Given an image and context, generate alt-text for the image.\nContext:\n" + context,
                     "chosen": f"reference {i} {HOSTILE_TEXT}"})
    path = folder / "hostile.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def use_hostile_models(mp: pytest.MonkeyPatch) -> None:
    """Register a model with a hostile name (context-echo) and the flaky test adapter."""
    from altbench.models.registry import REGISTRY, ModelEntry

    mp.setitem(REGISTRY._entries, HOSTILE_MODEL, ModelEntry(HOSTILE_MODEL, "altbench.models.baselines:ContextEcho"))
    mp.setitem(REGISTRY._entries, "flaky", ModelEntry("flaky", "adapters_for_tests:Flaky"))
    mp.setenv("ALTBENCH_TEST_FAIL_IDS", "")


def make_hostile_runs(root: Path) -> tuple[Path, list[Path]]:
    """(split file, [hostile-named echo run, flaky run with failed items])."""
    from altbench.run.runner import RunConfig, run

    split = write_hostile_split(root / "split")
    echo = run(RunConfig(model=HOSTILE_MODEL, split=str(split), out=root / "runs" / "hostile", resamples=200))
    flaky = run(RunConfig(model="flaky", split=str(split), out=root / "runs" / "flaky", resamples=200, batch_size=1))
    return split, [echo.run_dir, flaky.run_dir]


_BUILT: dict[str, dict] = {}


def build_all(factory) -> dict:
    """Demo runs + hostile runs (one with failed items), a leaderboard and a report; built once a session."""
    from altbench.publish.report import ReportConfig, build_report
    from altbench.publish.site import LeaderboardConfig, build_leaderboard

    key = str(factory.getbasetemp())
    if key in _BUILT:
        return _BUILT[key]
    root = factory.mktemp("publish")
    with pytest.MonkeyPatch.context() as mp:
        use_run_env(mp, factory)
        use_hostile_models(mp)
        demo = make_demo_runs(root / "demo")
        split, hostile = make_hostile_runs(root / "hostile")
        site = build_leaderboard(LeaderboardConfig(runs=[root / "demo", *hostile], out=root / "site",
                                                   resamples=300))
        report = build_report(ReportConfig(run=hostile[1], reports_root=root / "reports"))
    _BUILT[key] = {"root": root, "demo": demo, "hostile": hostile, "split": split, "site": site, "report": report}
    return _BUILT[key]
