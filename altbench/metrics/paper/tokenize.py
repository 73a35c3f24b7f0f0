"""``nltk.word_tokenize``, exactly, several times faster on ordinary text.

Deliberate reimplementation for speed. nltk 3.10's ``word_tokenize`` = Punkt sentence split, then
``NLTKWordTokenizer`` per sentence: ~25 regex substitutions, each run through ``nltk.redos`` (the
third-party ``regex`` engine under a wall-clock timeout), ~0.25 ms per alt-text. We produce the same
tokens:

* sentence split: a text in which Punkt's own ``period_context_re`` finds no candidate boundary is one
  sentence, ``text[:len(text.rstrip())]`` (what ``PunktSentenceTokenizer.span_tokenize`` yields then),
  or none when blank; otherwise ``span_tokenize`` is replayed with the tokenizer's own methods, the
  break decision for each candidate (a pure function of its short context, e.g. ``"park. The"``) cached;
* word split: the *same* pattern strings, in the same order, compiled with the stdlib ``re``; a step is
  skipped when none of the characters it needs is in the text (triggers keyed by the exact pattern text,
  so a pattern changed by a future nltk is simply always applied). ``re`` and ``regex`` agree on these
  patterns only for characters whose ``\\w``/``\\s``/``\\d``/case behaviour is the same in both engines
  (see :func:`_char_is_safe`): a text with any other character goes through nltk's own word tokenizer.
  Without stdlib support for the patterns (possessive ``*+`` needs Python 3.11) everything does.

``tests/test_metrics_paper.py`` checks equality with ``nltk.word_tokenize`` on the released samples, an
adversarial set and a random fuzz corpus.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import cache, lru_cache, partial

from altbench.metrics import nltk_light

NLTKWordTokenizer = nltk_light.module("nltk.tokenize.destructive").NLTKWordTokenizer

# Categories where re's \w (str.isalnum() or "_"), \s (str.isspace()) and \d agree with regex's Unicode
# properties: letters and decimal digits are \w in both, punctuation (except Pc) and symbols in neither.
_SAFE_CATEGORIES = frozenset(
    ["Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"]
)
_ASCII_UNSAFE = re.compile(r"[^\t\n\r\x20-\x7e]")

# Characters without which a pattern cannot match (it needs one of them), keyed by pattern text. The
# pipeline only ever adds " " (always there after padding), "`" (from '"' or "''") and "'" (from '"'), so
# the characters of the input plus those bound what every step can see.
_TRIGGERS: dict[str, str | None] = {
    "([«“‘„]|[`]+)": "«“‘„`",
    '^\\"': '"',
    "(``)": "`",
    "([ \\(\\[{<])(\\\"|\\'{2})": "\"'",
    "(?i)(?<!\\w)(\\')(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)": "'",
    "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*+)\\s*$": ".",
    "([:,])([^\\d])": ":,",
    "([:,])$": ":,",
    "\\.{2,}": ".",
    "[;@#$%&]": ";@#$%&",
    "[\\u2012-\\u2015]": "\u2012\u2013\u2014\u2015",
    "([^\\.])(\\.)([\\]\\)}>\"\\']*)\\s*$": ".",
    "[?!]": "?!",
    "([^'])' ": "'",
    "[*]": "*",
    "[\\]\\[\\(\\)\\{\\}\\<\\>]": "[](){}<>",
    "--": "-",
    "([»”’])": "»”’",
    "''": "'",
    '"': '"',
    "\\s+": None,  # always applied
    "([^' ])('[sS]|'[mM]|'[dD]|') ": "'",
    "([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": "'",
}
# nltk's case-insensitive contraction patterns (already stdlib ``re`` there) can only match where the
# lower-cased input has one of these words: the earlier steps insert spaces around punctuation and rewrite
# '"', which never joins letters. Only used on texts with no case mapping into ASCII (see _char_is_safe).
_CONTRACTIONS = {
    "(?i)\\b(can)(?#X)(not)\\b": "cannot",
    "(?i)\\b(d)(?#X)('ye)\\b": "d'ye",
    "(?i)\\b(gim)(?#X)(me)\\b": "gimme",
    "(?i)\\b(gon)(?#X)(na)\\b": "gonna",
    "(?i)\\b(got)(?#X)(ta)\\b": "gotta",
    "(?i)\\b(lem)(?#X)(me)\\b": "lemme",
    "(?i)\\b(more)(?#X)('n)\\b": "more'n",
    "(?i)\\b(wan)(?#X)(na)(?=\\s)": "wanna",
    "(?i) ('t)(?#X)(is)\\b": "'tis",
    "(?i) ('t)(?#X)(was)\\b": "'twas",
}
_MISSING = object()


_GROUP_REF = re.compile(r"\\(?:(\d+)|g<(\d+)>)")


def _replacement(template: str):
    """A callable equal to ``re``'s expansion of ``template`` (group references as ``\\N`` / ``\\g<N>``,
    an unmatched group as ""), without ``re``'s per-match Python template machinery; or the template
    itself when it is a plain literal or uses other escapes."""
    if "\\" not in template:
        return template
    literals, groups, pos = [], [], 0
    for m in _GROUP_REF.finditer(template):
        literals.append(template[pos : m.start()])
        groups.append(int(m.group(1) or m.group(2)))
        pos = m.end()
    literals.append(template[pos:])
    if any("\\" in lit for lit in literals):
        return template
    fmt = "{}".join(lit.replace("{", "{{").replace("}", "}}") for lit in literals)
    if len(groups) == 1:
        (g,) = groups
        return lambda m: fmt.format(m.group(g) or "")
    return lambda m: fmt.format(*[x or "" for x in m.group(*groups)])


def _compile_steps():
    """(steps, contraction steps, contraction guard) mirroring NLTKWordTokenizer.tokenize, or None.

    A step is (sub, replacement, trigger chars or None); None as a step is ``text = " " + text + " "``.
    """
    T = NLTKWordTokenizer
    try:
        before = [*T.STARTING_QUOTES, *T.PUNCTUATION, T.PARENS_BRACKETS, T.DOUBLE_DASHES]
        steps: list = []
        for pattern, repl in [*before, (None, None), *T.ENDING_QUOTES]:
            if pattern is None:
                steps.append(None)
                continue
            trig = _TRIGGERS.get(pattern.pattern, _MISSING)
            sub = re.compile(pattern.pattern).sub
            steps.append((sub, _replacement(repl), None if trig in (None, _MISSING) else frozenset(trig)))
        contraction = _replacement(r" \1 \2 ")
        contractions = [
            partial(re.compile(p.pattern).sub, contraction) for p in [*T.CONTRACTIONS2, *T.CONTRACTIONS3]
        ]
        known = all(p.pattern in _CONTRACTIONS for p in [*T.CONTRACTIONS2, *T.CONTRACTIONS3])
        guard = re.compile("|".join(map(re.escape, _CONTRACTIONS.values()))).search if known else None
        return steps, contractions, guard
    except (re.error, AttributeError, TypeError, ValueError):  # an nltk we do not know, or Python < 3.11
        return None


_COMPILED = _compile_steps()
_NLTK_TREEBANK = NLTKWordTokenizer()  # what nltk.word_tokenize uses per sentence


@cache
def _char_is_safe(c: str) -> bool:
    if unicodedata.category(c) not in _SAFE_CATEGORIES:
        return False
    # No case mapping into ASCII (e.g. KELVIN SIGN -> k, LONG S -> S, DOTTED I -> i + mark).
    return not any(ch.isascii() for ch in c.lower() + c.upper() + c.casefold())


def _is_safe(text: str) -> bool:
    if text.isascii():
        return _ASCII_UNSAFE.search(text) is None
    return all(_char_is_safe(c) if not c.isascii() else _ASCII_UNSAFE.match(c) is None for c in set(text))


_TRIGGER_CHARS = frozenset(
    c for step in (_COMPILED[0] if _COMPILED else ()) if step is not None and step[2] for c in step[2]
)


@lru_cache(maxsize=4096)
def _plan(present: frozenset[str]) -> tuple:
    """The steps whose trigger characters are present (None: the padding step), in pipeline order."""
    return tuple(
        None if step is None else step[:2]
        for step in _COMPILED[0]
        if step is None or step[2] is None or not step[2].isdisjoint(present)
    )


# The commonest alt-text sentence: ASCII words (inner single hyphens allowed) separated by " " or ", ",
# optionally ending in ".". Of the pipeline only three rules touch it -- ", " -> " , ", the final period
# split off, white space collapsed -- plus the contraction rules, which the guard rules out.
_WORD = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_SIMPLE = re.compile(rf"{_WORD}(?:,? {_WORD})*\.?")


def _treebank(text: str) -> list[str]:
    """NLTKWordTokenizer().tokenize(text) for a safe text (convert_parentheses=False)."""
    _, contractions, guard = _COMPILED
    lower = text.lower()
    if _SIMPLE.fullmatch(text) and guard is not None and not guard(lower):
        if text.endswith("."):
            return [*text[:-1].replace(", ", " , ").split(" "), "."]
        return text.replace(", ", " , ").split(" ")
    present = _TRIGGER_CHARS.intersection(text)
    if '"' in present:  # rewritten to `` or ''
        present |= {"`", "'"}
    elif "'" in present:  # '' can become ``
        present |= {"`"}
    for step in _plan(present):
        if step is None:
            text = " " + text + " "
        else:
            text = step[0](step[1], text)
    if guard is None or guard(lower):
        for sub in contractions:
            text = sub(text)
    return text.split()


def _stdlib(pattern):
    """``pattern`` (an nltk regex) compiled with the stdlib ``re``: equal on safe texts; None if it fails."""
    try:
        flags = pattern.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE)
        return re.compile(pattern.pattern, flags)
    except (re.error, AttributeError, TypeError):
        return None


@lru_cache(maxsize=1)
def _punkt():
    """(tokenizer, its period-context regex, the same two regexes in stdlib re or None)."""
    # what nltk.tokenize._get_punkt_tokenizer("english") builds, without importing nltk's __init__
    tok = nltk_light.module("nltk.tokenize.punkt").PunktTokenizer("english")
    period_context = tok._lang_vars.period_context_re()
    fast = (_stdlib(period_context), _stdlib(tok._lang_vars.re_boundary_realignment))
    return tok, period_context, fast if None not in fast else None


@lru_cache(maxsize=1 << 16)
def _contains_sentbreak(context: str) -> bool:
    """Punkt's decision for one candidate boundary: a pure function of its short context string."""
    return _punkt()[0].text_contains_sentbreak(context)


def _last_whitespace_index(text: str) -> int:
    """PunktSentenceTokenizer._get_last_whitespace_index: last index of string.whitespace, else 0."""
    return max(max(map(text.rfind, string.whitespace)), 0)


def _end_contexts(text: str, finditer):
    """PunktSentenceTokenizer._match_potential_end_contexts, transcribed, with a given finditer."""
    previous_slice, previous_match = slice(0, 0), None
    for match in finditer(text):
        before_text = text[previous_slice.stop : match.start()]
        index_after_last_space = _last_whitespace_index(before_text)
        if index_after_last_space:
            index_after_last_space += previous_slice.stop + 1
        else:
            index_after_last_space = previous_slice.start
        prev_word_slice = slice(index_after_last_space, match.start())
        if previous_match and previous_slice.stop <= prev_word_slice.start:
            yield (
                previous_match,
                text[previous_slice] + previous_match.group() + previous_match.group("after_tok"),
            )
        previous_match, previous_slice = match, prev_word_slice
    if previous_match:
        yield (
            previous_match,
            text[previous_slice] + previous_match.group() + previous_match.group("after_tok"),
        )


def _realign(text: str, slices: list[slice], match):
    """PunktSentenceTokenizer._realign_boundaries, transcribed, with a given boundary-realignment match."""
    realign = 0
    for k, sentence1 in enumerate(slices):
        sentence1 = slice(sentence1.start + realign, sentence1.stop)
        if k + 1 == len(slices):
            if text[sentence1]:
                yield sentence1
            continue
        sentence2 = slices[k + 1]
        m = match(text[sentence2])
        if m:
            yield slice(sentence1.start, sentence2.start + len(m.group(0).rstrip()))
            realign = m.end()
        else:
            realign = 0
            if text[sentence1]:
                yield sentence1


def _sentences(text: str, safe: bool = False) -> list[str]:
    """``nltk.sent_tokenize(text)``: ``PunktSentenceTokenizer.span_tokenize`` replayed, decisions cached;
    on a safe text with stdlib regexes and transcribed functions, otherwise with the tokenizer's own."""
    tok, period_context, fast = _punkt()
    stdlib = fast is not None and safe
    if (fast[0].search if stdlib else period_context.search)(text) is None:
        end = len(text.rstrip())
        return [text[:end]] if end else []
    contexts = _end_contexts(text, fast[0].finditer) if stdlib else tok._match_potential_end_contexts(text)
    slices, last_break = [], 0
    for m, context in contexts:
        if _contains_sentbreak(context):
            slices.append(slice(last_break, m.end()))
            last_break = m.start("next_tok") if m.group("next_tok") else m.end()
    slices.append(slice(last_break, len(text.rstrip())))
    realigned = _realign(text, slices, fast[1].match) if stdlib else tok._realign_boundaries(text, slices)
    return [text[sl] for sl in realigned]


def word_tokenize(text: str) -> list[str]:
    """Same tokens as ``nltk.word_tokenize(text)`` (language english, preserve_line False)."""
    safe = _COMPILED is not None and _is_safe(text)
    treebank = _treebank if safe else _NLTK_TREEBANK.tokenize
    return [tok for sent in _sentences(text, safe) for tok in treebank(sent)]


class TokenCache:
    """Tokenize each distinct string once."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> tuple[str, ...]:
        toks = self._cache.get(text)
        if toks is None:
            toks = self._cache[text] = tuple(word_tokenize(text))
        return toks
