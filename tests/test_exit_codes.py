"""Honest exit codes: a command that ran and wrote its results but scored nothing, or more failures than
``--max-failure-rate`` allows, exits with status 5 after writing everything (the failures listed; a re-run
retries them). The library reports the same through ``RunOutcome.shortfall`` and never exits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import altbench
import altbench.cli as cli_module
from altbench.cli import EXIT_INCOMPLETE, cli
from altbench.errors import AltbenchError
from altbench.models.registry import REGISTRY, ModelEntry
from altbench.results import load_run

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@pytest.fixture(autouse=True)
def isolated(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setitem(REGISTRY._entries, "flaky", ModelEntry("flaky", "adapters_for_tests:Flaky"))
    monkeypatch.chdir(tmp_path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def error_lines(result) -> list[str]:
    """The error lines on stderr (log warnings may come before them), and no traceback."""
    assert "Traceback" not in result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("altbench: error:")]


def flaky_run(*more: str):
    return invoke("run", "--model", "flaky", "--split", "demo", "--limit", "12", "--batch-size", "4",
                  "--out", "out", *more)


def test_exit_incomplete_is_its_own_code():
    assert EXIT_INCOMPLETE == 5  # 1, 3 and 4 are regress's verdicts, 2 a user error


def test_run_with_every_item_failed_exits_5_and_keeps_the_results(monkeypatch):
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", ",".join(str(i) for i in range(12)))
    result = flaky_run()
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "scored 0, failed 12" in result.stdout and "wrote out/results.json" in result.stdout
    (line,) = error_lines(result)
    assert line.startswith("altbench: error: nothing scored: all 12 items failed; ")
    assert "out/results.json" in line and "re-run" in line
    headline = load_run("out").headline  # the results are written, every failure listed
    assert headline.counts["failed"] == 12 and len(headline.failures) == 12
    assert len(Path("out/predictions.jsonl").read_text().splitlines()) == 12

    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", "")
    again = flaky_run()  # the same command retries the failed items
    assert again.exit_code == 0, again.output
    assert load_run("out").headline.counts["scored"] == 12


def test_max_failure_rate_fails_a_run_over_the_limit(monkeypatch):
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", "3")  # fails the batch holding id 3: 4 of 12 items
    default = flaky_run()
    assert default.exit_code == 0, default.output  # the default fails only a run that scored nothing
    strict = flaky_run("--max-failure-rate", "0.05")
    assert strict.exit_code == EXIT_INCOMPLETE, strict.output
    (line,) = error_lines(strict)
    assert line.startswith("altbench: error: 4 of 12 items not scored (33.3%), over --max-failure-rate 0.05; ")
    assert flaky_run("--max-failure-rate", "0.34").exit_code == 0
    bad = invoke("run", "--model", "flaky", "--split", "demo", "--max-failure-rate", "1.5")
    assert bad.exit_code == 2 and "--max-failure-rate" in bad.stderr


def _predictions(path: Path, failed: set[str], n: int = 4) -> Path:
    rows = [{"id": str(i), "prediction": None, "error": "API down"} if str(i) in failed
            else {"id": str(i), "prediction": "a red circle", "error": None} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_of_predictions_that_all_failed_exits_5(tmp_path):
    preds = _predictions(tmp_path / "p.jsonl", {"0", "1", "2", "3"})
    result = invoke("score", str(preds), "--split", "demo", "--out", "scored")
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    (line,) = error_lines(result)
    assert line.startswith("altbench: error: nothing scored: all 4 items failed; ") and "scored/results.json" in line
    assert load_run("scored").headline.counts["failed"] == 4

    some = _predictions(tmp_path / "q.jsonl", {"1"})
    assert invoke("score", str(some), "--split", "demo", "--out", "q").exit_code == 0
    strict = invoke("score", str(some), "--split", "demo", "--out", "q", "--max-failure-rate", "0.2")
    assert strict.exit_code == EXIT_INCOMPLETE
    assert "1 of 4 items not scored (25.0%), over --max-failure-rate 0.2" in strict.stderr


def test_the_library_reports_a_shortfall_and_never_exits(monkeypatch):
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", "3")
    ok = altbench.evaluate("flaky", "demo", limit=12, batch_size=4, out="lib", resamples=100)
    assert ok.ok and ok.shortfall is None  # default max_failure_rate=1.0: only nothing scored fails
    strict = altbench.evaluate("flaky", "demo", limit=12, batch_size=4, out="lib", resamples=100,
                               max_failure_rate=0.05)
    assert not strict.ok
    assert strict.shortfall == "4 of 12 items not scored (33.3%), over max_failure_rate 0.05"
    monkeypatch.setenv("ALTBENCH_TEST_FAIL_IDS", ",".join(str(i) for i in range(12)))
    nothing = altbench.evaluate("flaky", "demo", limit=12, batch_size=4, out="lib2", resamples=100)
    assert nothing.shortfall == "nothing scored: all 12 items failed"
    with pytest.raises(AltbenchError, match="max_failure_rate must be between 0 and 1"):
        altbench.evaluate("flaky", "demo", limit=2, out="lib3", max_failure_rate=-0.1)


@pytest.mark.parametrize("command", ["run", "score", "arena", "judge-check"])
def test_help_documents_the_exit_status(command):
    text = " ".join(invoke(command, "--help").stdout.split())
    assert f"{EXIT_INCOMPLETE} when" in text and "2 " in text
    if command not in ("arena", "judge-check"):
        assert "--max-failure-rate" in text


def test_readme_and_the_cli_table_document_the_exit_codes():
    doc = " ".join((cli_module.__doc__ or "").split())
    for code in ("0", "1", "2", "3", "4", "5", "130"):
        assert re.search(rf"\b{code}\b", doc), code
    readme = " ".join((REPO / "README.md").read_text().split()).replace("**", "").lower()
    assert "exit status 5" in readme and "--max-failure-rate" in readme and "one run per folder" in readme
