"""METEOR 1.5 on a cut paraphrase table must give the jar's full-table statistics, line for line.

Three layers: the Python transcription of the jar's ``Normalizer`` against the jar's own ``Normalizer`` main;
the index (built from a small synthetic table here, so the parse, the ids and the hashes are checked on
known entries); and the jar itself, run once with its full table and once per cut table, on pairs planted
with real table entries (``bench/meteor_pairs.py``; ``bench/bench_meteor_table.py`` runs 100,000).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from altbench.metrics.coco import meteor as coco_meteor
from altbench.metrics.coco import paraphrase
from altbench.metrics.coco.meteor_normalize import java_trim, nonbreaking_prefixes, normalize_line, tokens

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
from meteor_pairs import HARD, jar_normalize, pairs, table_sample

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs a Java runtime")
pytestmark = pytest.mark.java


@pytest.fixture(scope="module")
def index() -> paraphrase.Index:
    folder = paraphrase.ensure_index()
    if folder is None:
        pytest.skip("no writable place for the paraphrase index")
    return paraphrase.load_index(folder)


# --------------------------------------------------------------------------------------------- tokenizer

def test_java_helpers():
    assert tokens(" a\tb\x0bc\f\rd  e\n") == ["a", "b\x0bc", "d", "e"]  # \x0b is no StringTokenizer delimiter
    assert java_trim("\x00\x1f a b \x20\x7f") == "a b \x20\x7f"  # trim() stops at the first code point > U+0020


@needs_java
def test_normalizer_equals_the_jar():
    import random

    rng = random.Random(5)
    words = ["a", "the", "man", "dog", "park", "red", "car", "of", "in", "with", "is"]
    texts = [" ".join(rng.choice(HARD + words) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += ["U.S. Army's 1,000 men -- in the '90s ... No. 5 e.g. Mr. Smith.", "A.B.C. x.y a-b 1-2 ' '' ``",
              "\u201cquoted\u201d \u2018single\u2019 rock'n'roll O'Neil 1990's it's", "", "   ", "....", "a.. b"]
    nbp = nonbreaking_prefixes(coco_meteor.meteor_jar())
    assert [normalize_line(t, nbp) for t in texts] == jar_normalize(texts)


# --------------------------------------------------------------------------------------------- the index

SMALL_TABLE = [  # (probability line, reference phrase, paraphrase), as in paraphrase-en.gz
    ("0.5", "united states", "us"), ("0.25", "Große halle", "big hall"), ("0.1", "a\tb", "c  d"),
    ("0.2", "united states", "america"), ("0.3", "kick the bucket", "die"), ("0.4", "die", "pass away"),
]


def _write_table(path: Path, entries) -> None:
    text = "".join(f"{p}\r\n{r}\n{q}\r" if i % 2 else f"{p}\n{r}\n{q}\n" for i, (p, r, q) in enumerate(entries))
    path.write_bytes(gzip.compress(text.encode("utf-8")))


def test_index_reads_the_table_as_the_jar_does(tmp_path):
    source = tmp_path / "table.gz"
    _write_table(source, SMALL_TABLE)
    paraphrase.build_index(tmp_path / "index", source)
    index = paraphrase.load_index(tmp_path / "index")
    assert index.entries == len(SMALL_TABLE) and index.max_len == 3
    every = np.arange(index.entries)
    paraphrase.write_table(index, every, tmp_path / "copy.gz")
    lines = gzip.decompress((tmp_path / "copy.gz").read_bytes()).decode().split("\n")
    # StringTokenizer words, the jar's view of each phrase; the ignored probability written as 0
    assert lines[0::3][:-1] == ["0"] * len(SMALL_TABLE)
    assert lines[1::3] == [" ".join(tokens(r)) for _, r, _ in SMALL_TABLE]
    assert lines[2::3] == [" ".join(tokens(q)) for _, _, q in SMALL_TABLE]


def test_cut_keeps_exactly_the_entries_whose_phrases_both_occur(tmp_path):
    source = tmp_path / "table.gz"
    _write_table(source, SMALL_TABLE)
    paraphrase.build_index(tmp_path / "index", source)
    index = paraphrase.load_index(tmp_path / "index")
    nbp = nonbreaking_prefixes(coco_meteor.meteor_jar())

    def kept(*texts):
        return paraphrase.kept_entries(index, paraphrase.corpus_hashes(texts, index, nbp)).tolist()

    # normalized ("U.S." -> "US") and case-folded ("GROSSE" ~ "große") before the phrases are looked up
    assert kept("the United States of", "U.S.") == [0]
    assert kept("united states", "america and us") == [0, 3]  # table order kept
    assert kept("GROSSE Halle", "a big hall") == [1]
    assert kept("a b", "c d") == [2]
    assert kept("kick the", "bucket die") == []  # "kick the bucket" is not consecutive in one text
    assert kept("kick the bucket", "die") == [4]
    assert kept("they will pass away", "die") == [5]
    assert kept("states united", "us") == []
    assert kept() == []


def test_score_line_parts_follow_javas_split():
    assert paraphrase.score_line_parts("SCORE ||| r1 ||| r2 ||| hyp") == ["r1", "r2", "hyp"]
    assert paraphrase.score_line_parts("SCORE ||| r ||| ") == ["r", ""]
    assert paraphrase.score_line_parts("SCORE ||| a || b ||| |||") == ["a || b", ""]  # trailing "" dropped


# --------------------------------------------------------------------------------------------- the jar

@needs_java
def test_cut_tables_give_the_full_tables_statistics(index, tmp_path):
    entries, vocab = table_sample(index, 3000, seed=11)
    drawn = pairs(3000, entries, vocab, seed=11)
    lines = [coco_meteor.score_line(h, refs) for h, refs in drawn]
    full = coco_meteor.MeteorServer()
    try:
        want = full.statistics_lines(lines)
    finally:
        full.close()
    assert sum(any(float(x) > 0 for x in w.split()[16:20]) for w in want) > 1500  # paraphrases do match
    got = []
    for i in range(0, len(lines), 500):  # small cuts: an entry one line needs is missing from no cut
        batch = lines[i : i + 500]
        table = tmp_path / f"cut{i}.gz"
        assert paraphrase.cut_table(batch, table) < index.entries // 20
        server = coco_meteor.MeteorServer(table)
        try:
            got += server.statistics_lines(batch)
        finally:
            server.close()
    assert got == want


@needs_java
def test_score_coco_is_the_same_with_either_table(monkeypatch, sample_root):
    import json

    from altbench.metrics.coco import score_coco

    rows = [json.loads(line) for line in (sample_root / "twitter" / "twitter_test.json").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    refs = [[r["chosen"]] for r in rows]
    hyps = [r["question"].split("Context:\n", 1)[-1] for r in rows]  # the post's text as a hypothesis
    cut = score_coco(refs, hyps, metrics=["meteor"])["meteor"]
    monkeypatch.setattr(coco_meteor, "MIN_LINES_PER_JVM", 2)  # three JVMs share the lines, a shard each
    shared = score_coco(refs, hyps, metrics=["meteor"], meteor_jvms=3)["meteor"]
    assert shared.value == cut.value and list(shared.per_item) == list(cut.per_item)
    monkeypatch.setenv("ALTBENCH_METEOR_TABLE", "full")
    full = score_coco(refs, hyps, metrics=["meteor"])["meteor"]
    coco_meteor.shutdown()
    assert cut.value == full.value and list(cut.per_item) == list(full.per_item)
    assert np.array_equal(cut.stats, full.stats)


def test_setup_meteor_names_the_index():
    from click.testing import CliRunner

    from altbench.cli import cli

    result = CliRunner().invoke(cli, ["setup", "meteor"])
    assert result.exit_code == 0, result.output
    folder = Path(result.output.strip().rsplit(": ", 1)[1])
    assert (folder / "meta.json").is_file() and folder.name.startswith("meteor-paraphrase-v2-")


@needs_java
def test_the_benchmark_runs_and_finds_no_difference():
    script = BENCH / "bench_meteor_table.py"
    out = subprocess.run([sys.executable, str(script), "--n", "300", "--batch", "150", "--seed", "3"],
                         check=False, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "statistics mismatches: 0" in out.stdout and "mismatches 0" in out.stdout


def test_a_damaged_table_is_refused_by_the_index(tmp_path):
    source = tmp_path / "table.gz"
    source.write_bytes(gzip.compress(b"0.5\nunited states\n"))  # the last entry lacks its paraphrase
    with pytest.raises(ValueError, match="ends inside an entry"):
        paraphrase.build_index(tmp_path / "index", source)
