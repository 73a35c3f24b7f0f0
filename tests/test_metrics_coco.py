"""The ``coco`` convention: ``score_coco`` must equal pycocoevalcap's own pipeline, item by item.

Reference numbers come from :func:`altbench.metrics.coco.reference.reference_scores` (PTBTokenizer, Bleu(4),
Meteor(), Rouge(), Cider() exactly as pycocoevalcap users call them). Tests that start a JVM are marked
``java`` and skipped without one.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from altbench.errors import AltbenchError, DataError, MissingResourceError
from altbench.metrics.base import AGGREGATORS
from altbench.metrics.coco import METRICS, meteor_stats, score_coco
from altbench.metrics.coco import meteor as coco_meteor
from altbench.metrics.coco import meteor_eval as coco_meteor_scores
from altbench.metrics.coco import tokenize as coco_tokenize
from altbench.metrics.coco.reference import reference_scores
from altbench.metrics.coco.rouge import lcs_length

HAVE_JAVA = shutil.which("java") is not None
java = pytest.mark.java
needs_java = pytest.mark.skipif(not HAVE_JAVA, reason="needs a Java runtime")
PLATFORMS = ("twitter", "pinterest")
ITEM_TOL = 1e-9


@pytest.fixture(scope="module", autouse=True)
def _stop_meteor():
    yield
    coco_meteor.shutdown()


# ----------------------------------------------------------------------------------------------- data

def _load(root: Path, platform: str) -> list[dict]:
    path = root / platform / f"{platform}_test.json"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _context(question: str) -> str:
    for marker in ("Context:\n", "context:\n"):
        if marker in question:
            return question.split(marker, 1)[1]
    return question


def _perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    kept = [w for i, w in enumerate(words) if i % 4 != 1]  # drop every fourth word
    if len(kept) > 2:
        i = rng.randrange(len(kept) - 1)
        kept[i], kept[i + 1] = kept[i + 1], kept[i]
    return " ".join(kept).lower()


def _truncate(text: str) -> str:
    words = text.split()
    return " ".join(words[: max(1, len(words) // 2)])


def prediction_sets(rows: list[dict]) -> dict[str, list[str]]:
    rng = random.Random(7)
    refs = [r["chosen"] for r in rows]
    return {
        "other_reference": refs[1:] + refs[:1],
        "context": [_context(r["question"]) for r in rows],
        "perturbed": [_perturb(t, rng) for t in refs],
        "truncated": [_truncate(t) for t in refs],
        "reference": list(refs),
    }


@pytest.fixture(scope="module")
def samples(sample_root) -> dict[str, tuple[list[list[str]], list[str]]]:
    """Per platform, all prediction kinds in one set: the ``chosen`` as reference of every item."""
    out = {}
    for platform in PLATFORMS:
        rows = _load(sample_root, platform)
        refs, preds = [], []
        for kind_preds in prediction_sets(rows).values():
            refs += [[r["chosen"]] for r in rows]
            preds += kind_preds
        out[platform] = (refs, preds)
    return out


_WORDS = ["a", "dog", "runs", "on", "the", "beach", "near", "red", "boats", "."]
LONG = " ".join(random.Random(3).choice(_WORDS) for _ in range(2000))
ADVERSARIAL: list[tuple[list[str], str]] = [
    (["A dog runs on the beach."], ""),
    (["A dog runs on the beach."], "... !!! ??? ,,, ;; -- : ' \" ` ( ) { }"),
    (["A dog with a party hat 🎉"], "😀🐶🔥 a dog 🎉 with a hat"),
    (["A dog runs on the beach near red boats."], LONG),
    (["A dog runs\non the beach."], "A dog\nrunning on\n\nthe beach"),
    (["A dog runs on the beach."], "Assistant: A dog runs on the beach."),
    (["一只狗在海滩上奔跑"], "一只狗在海滩上"),
    (["كلب يركض على الشاطئ"], "كلب على الشاطئ"),
    (["Ein Hund läuft am Strand — café, naïve, Ærø"], "Ein Hund läuft — café naïve"),
    (["A dog runs on the beach."], "A\tdog\t\truns on\tthe beach"),
    (["A dog runs on the beach."], "dog dog dog dog dog dog dog dog dog dog dog"),
    (["A dog runs on the beach."], "   "),
    (["A dog runs on the beach."], "a dog ||| runs on ||| the beach"),
    (["3 1/2 cups of flour, 2 eggs & milk"], "3 1/2 cups of flour and 2 eggs"),  # PTB keeps U+00A0 in "3 1/2"
    (["<b>Bold</b> text &amp; a link www.example.com"], "bold text & a link www.example.com"),
    (["It's the U.S. flag, isn't it?"], "It is the US flag, is not it?"),
    (["A sign that reads No."], "No. 3 cats sit on a mat"),  # the PTB lexer looks at the next line
    (["A man and a woman.", "Two people on a bench.", "A couple sitting outside."],
     "Two people sit on a bench."),
    (["The letter a.", "A big letter A."], "The letter A."),
    (["A dog runs on the beach."], "A dog runs on the beach."),
    ([""], "A dog on the beach."),
    ([""], ""),
    (["Letters on a wall read a."], "The wall reads a."),  # last reference: the ref/pred boundary
]


def _assert_parity(fast: dict, ref: dict, names=METRICS) -> None:
    for name in names:
        value, items = ref[name]
        got = fast[name]
        assert len(got.per_item) == len(items), name
        diff = np.abs(np.asarray(got.per_item) - np.asarray(items))
        assert diff.max(initial=0.0) <= ITEM_TOL, (name, float(diff.max()), int(diff.argmax()))
        assert got.value == value, (name, got.value, value)


# ----------------------------------------------------------------------------------------- parity

@java
@needs_java
@pytest.mark.parametrize("platform", PLATFORMS)
def test_parity_with_pycocoevalcap_on_samples(samples, platform):
    refs, preds = samples[platform]
    _assert_parity(score_coco(refs, preds), reference_scores(refs, preds))


@java
@needs_java
@pytest.mark.parametrize("platform", PLATFORMS)
def test_parity_per_prediction_kind_without_meteor(sample_root, platform):
    rows = _load(sample_root, platform)
    names = [m for m in METRICS if m != "meteor"]
    for kind, preds in prediction_sets(rows).items():
        refs = [[r["chosen"]] for r in rows]
        fast = score_coco(refs, preds, metrics=names)
        assert list(fast) == names, kind
        _assert_parity(fast, reference_scores(refs, preds, meteor=False), names)


@pytest.fixture(scope="module")
def adversarial():
    refs = [list(r) for r, _ in ADVERSARIAL]
    preds = [p for _, p in ADVERSARIAL]
    return refs, preds, score_coco(refs, preds), reference_scores(refs, preds)


@java
@needs_java
def test_parity_on_adversarial_inputs(adversarial):
    _, _, fast, ref = adversarial
    _assert_parity(fast, ref)
    assert fast["rougeL"].per_item[21] == 1.0  # pycocoevalcap: empty vs empty is one equal empty token


@java
@needs_java
def test_adversarial_quirks_are_pycocoevalcap_behaviour(adversarial):
    _, preds, fast, _ = adversarial
    for i in (0, 11):  # empty and white-space-only predictions: an empty hypothesis
        assert fast["bleu4"].per_item[i] < 1e-20
        assert fast["meteor"].per_item[i] == 0.0
        assert fast["cider"].per_item[i] == 0.0
    assert fast["bleu4"].per_item[19] == pytest.approx(1.0)  # the reference itself
    assert fast["meteor"].per_item[19] > 0.99
    tokens = fast_tokens(preds)
    # -lowerCase turns -LRB- into -lrb-, which PUNCTUATIONS (upper case) no longer removes; "!!!" stays too
    assert tokens[1] == "!!! ??? -lrb- -rrb- -lcb- -rcb-"
    assert tokens[2] == "a dog with a hat"  # emoji are "untokenizable" and dropped
    assert tokens[4] == "a dog running on the beach"  # \n inside a caption is a space
    assert tokens[5] == "assistant a dog runs on the beach"  # no prefix stripping in the coco convention
    assert tokens[13] == "3\xa01/2 cups of flour and 2 eggs"  # BLEU/CIDEr split U+00A0, ROUGE-L does not
    assert tokens[12] == "a dog | | | runs on | | | the beach"  # METEOR's ||| separator cannot clash


@java
@needs_java
def test_line_breaks_other_than_newline_count_as_spaces(samples):
    refs, preds = samples["twitter"]
    refs, preds = refs[:6], list(preds[:6])
    preds[1] = "A dog\r\nruns\u2028on the\x0cbeach"
    fast = score_coco(refs, preds)
    cleaned = [p.translate(str.maketrans("\r\x0b\x0c\u2028\u2029", "     ")) for p in preds]
    names = [m for m in METRICS if m != "meteor"]  # METEOR gets the same tokens; its parity is tested above
    _assert_parity(fast, reference_scores(refs, cleaned, meteor=False), names)
    # pycocoevalcap itself misaligns: the tokenizer emits extra lines and later items get others' text
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    raw = PTBTokenizer().tokenize({i: [{"caption": p}] for i, p in enumerate(preds)})
    assert raw[2] != fast_tokens(preds)[2]


def fast_tokens(captions: list[str]) -> list[str]:
    return coco_tokenize.tokenize_groups([captions])[0]


@java
@needs_java
def test_one_jvm_tokenizes_like_two_pycocoevalcap_calls():
    # the PTB lexer looks ahead across lines: a caption ending in "a." is tokenized differently when the next
    # one starts with a capital; references and predictions must each end at their own end of input.
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    refs = ["A sign that reads No.", "Letters on a wall read a."]
    preds = ["The wall reads a.", "No. 3 cats"]
    tok = PTBTokenizer()
    want_refs = tok.tokenize({i: [{"caption": r}] for i, r in enumerate(refs)})
    want_preds = tok.tokenize({i: [{"caption": p}] for i, p in enumerate(preds)})
    got_refs, got_preds = coco_tokenize.tokenize_groups([refs, preds])
    assert got_refs == [want_refs[i][0] for i in range(2)]
    assert got_preds == [want_preds[i][0] for i in range(2)]
    joined = coco_tokenize.tokenize_groups([refs + preds])[0]
    assert joined[:2] != got_refs  # what concatenating them would have got wrong


# ------------------------------------------------------------------------------------- aggregators

def _all_results(samples, adversarial):
    out = [score_coco(*samples[p]) for p in PLATFORMS]
    out.append(adversarial[2])
    return out


@java
@needs_java
def test_bleu_aggregators_reproduce_corpus_values(samples, adversarial):
    for result in _all_results(samples, adversarial):
        for k in range(1, 5):
            m = result[f"bleu{k}"]
            assert m.aggregator == f"coco_bleu{k}" and m.stats.shape == (len(m.per_item), 10)
            corpus = float(m.aggregate(m.stats.sum(0), len(m.per_item)))
            assert corpus == pytest.approx(m.value, rel=0, abs=1e-12)


@java
@needs_java
def test_meteor_aggregator_reproduces_the_jar(samples, adversarial):
    # The jar prints its statistics and scores with Double.toString (round-trip precision); the only
    # possible difference is Math.pow against C pow, at most an ulp or two.
    for result in _all_results(samples, adversarial):
        m = result["meteor"]
        assert m.aggregator == "coco_meteor" and m.stats.shape == (len(m.per_item), 24)
        assert float(m.aggregate(m.stats.sum(0), len(m.per_item))) == pytest.approx(m.value, rel=0, abs=1e-12)
        per_row = AGGREGATORS["coco_meteor"](m.stats, np.ones(len(m.stats)))
        np.testing.assert_allclose(per_row, m.per_item, rtol=0, atol=1e-12)


@java
@needs_java
def test_resampled_bleu_and_meteor_equal_pycocoevalcap_on_the_subset(samples):
    refs, preds = samples["twitter"]
    full = score_coco(refs, preds)
    rng = np.random.default_rng(11)
    pick = rng.choice(len(preds), size=25, replace=True)  # a bootstrap resample: repeats allowed
    sub_refs, sub_preds = [refs[i] for i in pick], [preds[i] for i in pick]
    want = reference_scores(sub_refs, sub_preds, meteor=False)
    # METEOR on the subset from the jar itself (score_coco's corpus value is the jar's, see the parity tests)
    want["meteor"] = (score_coco(sub_refs, sub_preds, metrics=["meteor"])["meteor"].value, [])
    counts = np.bincount(pick, minlength=len(preds)).astype(float)
    for name in ("bleu1", "bleu2", "bleu3", "bleu4", "meteor"):
        m = full[name]
        got = float(m.aggregate(counts @ m.stats, len(pick)))
        assert got == pytest.approx(want[name][0], rel=0, abs=1e-12), name
    # CIDEr-D keeps the split's df: a resample is the mean of the picked items' scores
    cider = full["cider"]
    assert float(cider.aggregate(counts @ cider.stats, len(pick))) == pytest.approx(
        float(np.mean(np.asarray(cider.per_item)[pick])), rel=0, abs=1e-12)
    rouge = full["rougeL"]
    assert float(rouge.aggregate(counts @ rouge.stats, len(pick))) == pytest.approx(
        float(np.mean(want["rougeL"][1])), rel=0, abs=1e-12)


def test_aggregators_are_vectorised():
    rng = np.random.default_rng(0)
    bleu_rows = rng.integers(0, 20, size=(7, 10)).astype(float)
    meteor_rows = rng.integers(0, 20, size=(7, 24)).astype(float)
    for name, rows in [*((f"coco_bleu{k}", bleu_rows) for k in range(1, 5)), ("coco_meteor", meteor_rows)]:
        batch = AGGREGATORS[name](rows, np.full(7, 3.0))
        assert batch.shape == (7,)
        assert np.allclose(batch, [AGGREGATORS[name](r, 3.0) for r in rows], equal_nan=True)


# ------------------------------------------------------------------------ df, signatures, errors

@java
@needs_java
def test_cider_df_from_the_whole_split(samples):
    refs, preds = samples["pinterest"]
    full = score_coco(refs, preds, metrics=["cider"])
    sub = list(range(0, len(preds), 3))
    part = score_coco([refs[i] for i in sub], [preds[i] for i in sub], df_references=refs, metrics=["cider"])
    assert part["cider"].per_item == pytest.approx([full["cider"].per_item[i] for i in sub], rel=0, abs=1e-12)
    assert f"df:split(nrefs={len(refs)})" in part["cider"].signature
    own = score_coco([refs[i] for i in sub], [preds[i] for i in sub], metrics=["cider"])
    assert f"df:split(nrefs={len(sub)})" in own["cider"].signature
    same = score_coco(refs, preds, df_references=[list(r) for r in refs], metrics=["cider"])
    assert same["cider"].per_item == full["cider"].per_item


@java
@needs_java
def test_signatures_pin_the_settings(samples):
    refs, preds = samples["twitter"]
    out = score_coco(refs, preds)
    assert list(out) == list(METRICS)
    assert out["bleu4"].signature == "bleu4|conv:coco|tok:ptb|nrefs:1|bp:closest|pycocoevalcap:1.2|scale:raw"
    assert out["meteor"].signature == (
        f"meteor|conv:coco|version:1.5|lang:en|norm:yes|jar:{coco_meteor.jar_sha8()}|task:rank|tok:ptb"
        "|nrefs:1|scale:raw")
    assert out["cider"].signature == (
        f"cider|conv:coco|tok:ptb|nrefs:1|n:4|sigma:6|df:split(nrefs={len(refs)})|pycocoevalcap:1.2|scale:raw")
    assert out["rougeL"].signature.startswith("rougeL|conv:coco|tok:ptb|nrefs:1|beta:1.2")
    assert all(m.scale == 1.0 and m.higher_is_better for m in out.values())
    assert out["rougeL"].aggregator == "mean" and out["cider"].aggregator == "mean"


@java
@needs_java
def test_meteor_falls_back_to_the_jar_when_pow_is_ambiguous(samples, monkeypatch):
    refs, preds = samples["pinterest"]
    want = score_coco(refs, preds, metrics=["meteor"])["meteor"]
    monkeypatch.setattr(coco_meteor_scores, "_candidates", lambda frag: [0.5])  # no candidate fits
    got = score_coco(refs, preds, metrics=["meteor"])["meteor"]
    assert got.per_item == want.per_item and got.value == want.value


@java
@needs_java
def test_lone_surrogate_does_not_crash():
    # pycocoevalcap's tokenizer raises UnicodeEncodeError; here it is "?", which is dropped as punctuation
    out = score_coco([["a dog on a beach"]], ["a \ud83d dog on a beach"], metrics=["bleu4", "rougeL"])
    assert out["bleu4"].per_item[0] == pytest.approx(1.0)


def test_meteor_score_reconstruction_recovers_a_different_pow():
    # A fake jar whose pow is one ulp above C's for some frag values: the per-row scores must be the fake
    # jar's to the last bit, from a few probes (and the fallback for what stays ambiguous).
    rng = np.random.default_rng(5)
    n = 400
    printed = np.zeros((n, 23))
    printed[:, 0] = rng.integers(3, 15, n)
    printed[:, 1] = rng.integers(3, 15, n)
    printed[:, 2] = np.minimum(printed[:, 0], rng.integers(0, 5, n))
    printed[:, 3] = np.minimum(printed[:, 1], rng.integers(0, 5, n))
    matched = np.minimum(printed[:, 0], printed[:, 1]) * rng.random(n)
    printed[:, 4] = printed[:, 5] = np.floor(matched)
    printed[:, 20] = np.minimum(printed[:, 4], rng.integers(1, 5, n))
    printed[:, 21] = printed[:, 22] = printed[:, 4]
    stats = meteor_stats.aggregable(printed)
    lines = [" ".join(f"{v:.1f}" for v in row) for row in printed]

    def fake_pow(frag):
        p = np.power(frag, meteor_stats.BETA)
        bump = (np.round(frag * 1000) % 3 == 0)
        return np.where(bump, np.nextafter(p, np.inf), p)

    def fake_score(rows_stats, chunks_column):
        fmean, frag = meteor_stats.fmean_and_frag(rows_stats, chunks_column)
        with np.errstate(invalid="ignore"):
            return meteor_stats.final_score(fmean, 1.0 - meteor_stats.GAMMA * fake_pow(frag))

    calls = []

    def evaluate(rows):
        calls.append(len(rows))
        parsed = np.array([r.split() for r in rows], dtype=float)
        return fake_score(meteor_stats.aggregable(parsed), 20).tolist()

    scores, corpus = coco_meteor_scores.jar_scores(stats, lines, evaluate)
    assert np.array_equal(scores, fake_score(stats, 20))
    assert corpus == float(fake_score(stats.sum(0), 23))
    assert calls[0] < n  # far fewer rows than an EVAL of every item


def test_missing_java_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(coco_tokenize.shutil, "which", lambda name: None)
    with pytest.raises(MissingResourceError) as err:
        score_coco([["a dog"]], ["a dog"])
    assert str(err.value) == "coco convention needs Java (apt-get install default-jre-headless)"


def test_spice_is_out():
    with pytest.raises(AltbenchError) as err:
        score_coco([["a dog"]], ["a dog"], metrics=["bleu4", "spice"])
    assert "\n" not in str(err.value) and "download" in str(err.value)


def test_input_checks():
    with pytest.raises(DataError):
        score_coco([["a"], ["b"]], ["a"])
    with pytest.raises(DataError):
        score_coco([[]], ["a"])
    with pytest.raises(DataError):
        score_coco(["a dog"], ["a dog"])  # a bare string is not a list of references
    with pytest.raises(DataError):
        score_coco([["a dog"]], [None])  # type: ignore[list-item]
    with pytest.raises(AltbenchError):
        score_coco([["a dog"]], ["a dog"], metrics=["bleu5"])
    empty = score_coco([], [])
    assert list(empty) == list(METRICS)
    assert all(np.isnan(m.value) and m.per_item == () for m in empty.values())


def test_bit_parallel_lcs_matches_pycocoevalcap():
    from pycocoevalcap.rouge.rouge import my_lcs

    rng = random.Random(0)
    for _ in range(3000):
        vocab = ["a", "b", "c", "", "d"][: rng.randint(1, 5)]
        x = [rng.choice(vocab) for _ in range(rng.randint(0, 30))]
        y = [rng.choice(vocab) for _ in range(rng.randint(0, 30))]
        assert lcs_length(x, y) == my_lcs(x, y)
