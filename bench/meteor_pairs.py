"""Hypothesis/reference pairs that make METEOR 1.5 use its paraphrase table, for full-vs-cut table checks.

Used by ``bench/bench_meteor_table.py`` (at scale) and ``tests/test_coco_paraphrase.py`` (a small draw).
Kinds, each from a seeded ``random.Random``:

* planted: an entry (r, p) of the jar's own table, r inside the hypothesis and p inside a reference (or the
  other way round), amid table words and common words, sometimes several entries, upper-cased, with
  punctuation, hyphens or apostrophes glued on (the jar normalizes and lowercases before matching);
* adversarial: the tokenizer's hard cases (dots, commas in numbers, quotes, dashes, contractions,
  non-breaking prefixes, Unicode letters and spaces, ``|||``), mixed with planted phrases;
* identical hypothesis and reference (the jar then runs exact matching only), empty hypotheses, several
  references.
"""

from __future__ import annotations

import random
import subprocess

COMMON = ["a", "the", "man", "woman", "dog", "cat", "park", "red", "blue", "car", "house", "street", "sign",
          "text", "photo", "picture", "of", "in", "on", "with", "and", "is", "are", "two", "people", "sitting",
          "standing", "next", "to", "near", "white", "black", "small", "large", "group", "young", "old"]
HARD = ["U.S.", "U.S.-based", "e.g.", "Mr.", "Dr.", "No.", "No. 5", "pp.", "a.m.", "...", "..", "1,000", "a,b",
        "1,a", "a,1", ",", "'s", "n't", "1990's", "'", "''", "``", "`", "\u2018", "\u2019", "\u201c", "\u201d",
        "\u2013", "--", "-", "a-b", "1-2", "rock'n'roll", "O'Neil", "'tis", "J.", "etc.", "Inc.", "St.",
        "$5.00", "5.5", "A.B.C.", "x.y", "DOTMULTI", "\u00a0", "\u2003", "\t", "\x01", "\u00e9", "\u00c9",
        "\u00df", "\u0416", "\u4e2d\u6587", "\U0001f600", "\u0130", "\u212a", "\u03a3.", "@", "#tag", "(a)",
        "[b]", "\"", "!", "?", ";", ":", "&amp;", "%", "/", "a_b", "|||", "||", "|"]


def _glue(rng: random.Random, phrase: str) -> str:
    r = rng.random()
    if r < 0.15:
        return phrase.upper()
    if r < 0.25:
        return phrase.capitalize()
    if r < 0.35:
        return phrase + rng.choice([".", ",", "'s", "-", "!", "'", "..."])
    if r < 0.42:
        return rng.choice(["\"", "(", "'", "-", "``"]) + phrase
    if r < 0.48:
        return phrase.replace(" ", rng.choice(["-", "  ", "\u00a0", " , "]))
    return phrase


def _filler(rng: random.Random, vocab: list[str], k: int) -> list[str]:
    return [rng.choice(vocab) if rng.random() < 0.3 else rng.choice(COMMON) for _ in range(k)]


def pairs(n: int, entries: list[tuple[str, str]], vocab: list[str], seed: int = 0) -> list[tuple[str, list[str]]]:
    """``n`` (hypothesis, references) pairs; ``entries`` are (r, p) phrase pairs of the table."""
    rng = random.Random(seed)
    out: list[tuple[str, list[str]]] = []
    while len(out) < n:
        kind = rng.random()
        hyp_parts = _filler(rng, vocab, rng.randint(0, 8))
        ref_parts = _filler(rng, vocab, rng.randint(0, 8))
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            r, p = rng.choice(entries)
            if rng.random() < 0.5:
                r, p = p, r
            hyp_parts.insert(rng.randint(0, len(hyp_parts)), _glue(rng, r))
            ref_parts.insert(rng.randint(0, len(ref_parts)), _glue(rng, p))
        if kind < 0.25:  # adversarial pieces
            for parts in (hyp_parts, ref_parts):
                for _ in range(rng.randint(1, 4)):
                    parts.insert(rng.randint(0, len(parts)), rng.choice(HARD))
        hyp = " ".join(hyp_parts)
        refs = [" ".join(ref_parts)]
        if kind > 0.9:
            refs += [" ".join(_filler(rng, vocab, rng.randint(1, 6))) for _ in range(rng.randint(1, 4))]
        elif kind > 0.87:
            hyp = refs[0]
        elif kind > 0.86:
            hyp = ""
        out.append((hyp.replace("\n", " ").replace("\r", " "), [r.replace("\n", " ").replace("\r", " ")
                                                               for r in refs]))
    return out


def table_sample(index, k: int, seed: int = 0) -> tuple[list[tuple[str, str]], list[str]]:
    """``k`` random entries of a :class:`altbench.metrics.coco.paraphrase.Index` as (r, p) strings, and its
    vocabulary."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(index.entries, size=min(k, index.entries), replace=False))
    starts = index.starts
    out = []
    for e in ids.tolist():
        s, r, p = int(starts[e]), int(index.ref_len[e]), int(index.para_len[e])
        ws = [index.vocab[w] for w in index.words[s : s + r + p].tolist()]
        out.append((" ".join(ws[:r]), " ".join(ws[r:])))
    return out, list(index.vocab)


def jar_normalize(texts: list[str]) -> list[str]:
    """The jar's own ``Normalizer`` main (English, punctuation kept) on each text, in one JVM."""
    from altbench.metrics.coco.tokenize import JAVA_LOCALE, meteor_jar

    cmd = ["java", "-Dfile.encoding=UTF-8", *JAVA_LOCALE, "-cp", str(meteor_jar()), "edu.cmu.meteor.util.Normalizer",
           "en", "true"]
    out = subprocess.run(cmd, input=("\n".join(texts) + "\n").encode(), capture_output=True, check=True)
    return out.stdout.decode().split("\n")[: len(texts)]
