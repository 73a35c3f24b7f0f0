"""METEOR 1.5's ``-norm`` tokenizer (``edu.cmu.meteor.util.Normalizer.normalizeLine``, English, punctuation
kept), transcribed from the jar's class so that Python knows which words the jar will see.

Used only to decide which paraphrase-table entries a scoring can use (:mod:`.paraphrase`); the scores still
come from the jar, which normalizes the lines itself. Transcription notes (Java regex -> Python ``re``):
``\\s`` is Java's ``[ \\t\\n\\x0B\\f\\r]`` (Python's ``\\s`` knows more spaces), ``\\p{Digit}`` is ASCII
``[0-9]`` and ``\\p{Lower}`` ASCII ``[a-z]`` (Java's POSIX classes, no UNICODE_CHARACTER_CLASS), ``$1`` is
``\\1``, ``String.replace`` is ``str.replace``, ``StringTokenizer`` splits on ``" \\t\\n\\r\\f"`` and
``String.trim`` strips code points <= U+0020. The character lists are the jar's constants (its class file,
meteor-1.5.jar of 2015-03-12, equal to ``cmu-mtlab/meteor``'s source). ``tests/test_coco_paraphrase.py``
compares :func:`normalize_line` with the jar's own ``Normalizer`` main on adversarial and random lines.
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache
from pathlib import Path

_ALPHA = ("A-Za-z\u0160\u017d\u0161\u017e\u0178\xc0-\xd6\xd8-\xf6\xf8-\u017e"
          "\u0400-\u04ff\u0500-\u0527\ua640-\ua66e\ua67e-\ua697\u1d00-\u1d7f")
_ALNUM = "0-9" + _ALPHA
_JAVA_SPACE = " \t\n\x0b\f\r"  # Java regex \s

_SEP_OTHER = re.compile("([^" + _ALNUM + _JAVA_SPACE + ".'`,\\-\u2018\u2019])")
_MULTI_DOT = re.compile(r"\.([\.]+)")
_MULTI_DOT2 = re.compile(r"DOTMULTI\.([^\.])")
_COMMA = re.compile(r"([^0-9])[,]([^0-9])")
_COMMA2 = re.compile(r"([0-9])[,]([^0-9])")
_COMMA3 = re.compile(r"([^0-9])[,]([0-9])")
_QUOTE = re.compile("([`\u2018\u2019])")
_QUOTE2 = re.compile("([\u201c\u201d]|'')")
_RM_DASH = re.compile("([" + _ALNUM + r"\.])[\-]([" + _ALNUM + "])")
_CONT_EN = re.compile("([^" + _ALPHA + "])[']([^" + _ALPHA + "])")
_CONT_EN2 = re.compile("([^" + _ALPHA + "0-9])[']([" + _ALPHA + "])")
_CONT_EN3 = re.compile("([" + _ALPHA + "])[']([^" + _ALPHA + "])")
_CONT_EN4 = re.compile("([" + _ALPHA + "])[']([" + _ALPHA + "])")
_CONT_EN5 = re.compile(r"([0-9])[']([s])")
_WHITE = re.compile("[  \u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
                    "\u3000\xa0]+")
_NBP1 = re.compile("[" + _ALPHA + "]")
_NBP2 = re.compile("^[a-z]")
_NBP3 = re.compile("^[0-9]+")
_TOKEN_SPLIT = re.compile("[ \t\n\r\f]+")  # java.util.StringTokenizer's default delimiters

NBP_ANY, NBP_NUM_ONLY = 1, 2  # Constants.NBP_ANY / NBP_NUM_ONLY


_PY_ONLY_SPACES = "\x0b\x1c\x1d\x1e\x1f"  # ASCII white space to str.split() but not to StringTokenizer


def tokens(text: str) -> list[str]:
    """``new StringTokenizer(text)`` as a list (``str.split()`` where it splits the same: ASCII text without
    the characters only Python counts as spaces)."""
    if text.isascii() and not any(c in text for c in _PY_ONLY_SPACES):
        return text.split()
    return [t for t in _TOKEN_SPLIT.split(text) if t]


def java_trim(text: str) -> str:
    """``String.trim()``: leading and trailing code points <= U+0020."""
    if not text or (text[0] > " " and text[-1] > " "):
        return text
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


@lru_cache(maxsize=4)
def nonbreaking_prefixes(jar: Path) -> dict[str, int]:
    """``Normalizer.nbpList(LANG_EN)``: the jar's ``nonbreaking/english.prefixes``."""
    table: dict[str, int] = {}
    with zipfile.ZipFile(jar) as zf:
        text = zf.read("nonbreaking/english.prefixes").decode("utf-8")
    for line in re.split("\r\n|\r|\n", text):  # BufferedReader.readLine
        words = tokens(line)
        if not words or words[0].startswith("#"):
            continue
        table[words[0]] = NBP_NUM_ONLY if len(words) > 1 and words[1] == "#NUMERIC_ONLY#" else NBP_ANY
    return table


def normalize_line(line: str, nbp: dict[str, int]) -> str:
    """``Normalizer.normalizeLine(line, LANG_EN, keepPunctuation=true)``.

    A step is skipped when the characters it needs are absent (it could change nothing then): each ``in``
    test below names what the step's pattern or literal requires."""
    s = _SEP_OTHER.sub(r" \1 ", " " + line + " ")
    if ".." in s:
        s = _MULTI_DOT.sub(r" DOTMULTI\1", s)
    while "DOTMULTI." in s:
        s = _MULTI_DOT2.sub(r"DOTDOTMULTI \1", s)
        s = s.replace("DOTMULTI.", "DOTDOTMULTI")
    if "," in s:
        s = _COMMA.sub(r"\1 , \2", s)
        s = _COMMA2.sub(r"\1 , \2", s)
        s = _COMMA3.sub(r"\1 , \2", s)
    if not s.isascii():
        s = _QUOTE.sub("'", s)
    if "`" in s:
        s = s.replace("`", "'")  # the ASCII member of _QUOTE's class
    if "''" in s or not s.isascii():
        s = _QUOTE2.sub(' " ', s)
    s = s.replace("\u2013", "-").replace("--", "-")
    if "-" in s:
        s = _RM_DASH.sub(r"\1 \2", s)
    if "'" in s:
        s = _CONT_EN.sub(r"\1 ' \2", s)
        s = _CONT_EN2.sub(r"\1 ' \2", s)
        s = _CONT_EN3.sub(r"\1 ' \2", s)
        s = _CONT_EN4.sub(r"\1 '\2", s)
        s = _CONT_EN5.sub(r"\1 '\2", s)
    words = tokens(s)
    if "." in s:
        s = "".join(_break_dots(words, nbp))
    else:
        s = " ".join(words) + " "  # what the loop builds when no word ends with "."
    while "DOTDOTMULTI" in s:
        s = s.replace("DOTDOTMULTI", "DOTMULTI.")
    s = s.replace("DOTMULTI", ".")
    if not s.isascii() or "  " in s:
        s = _WHITE.sub(" ", s)
    return java_trim(s)


def normalized_tokens(line: str, nbp: dict[str, int]) -> list[str]:
    """``StringTokenizer(normalize_line(line))`` words: the normalized line is single-space separated (its
    words come from :func:`tokens`, runs of spaces are collapsed and the ends trimmed)."""
    out = normalize_line(line, nbp)
    return out.split(" ") if out else []


def _break_dots(words: list[str], nbp: dict[str, int]):
    """The rebuild loop: each word (a final dot split off unless nonbreaking), then a space."""
    last = len(words) - 1
    for i, word in enumerate(words):
        if len(word) > 1 and word.endswith("."):
            pre = word[:-1]
            kind = nbp.get(pre)
            if "." in pre and _NBP1.search(pre):
                yield word.replace(".", "")  # U.S. -> US
            elif kind == NBP_ANY or (i < last and _NBP2.match(words[i + 1])):  # noqa: SIM114 - as the jar
                yield word
            elif kind == NBP_NUM_ONLY and i < last and _NBP3.match(words[i + 1]):
                yield word
            else:
                yield pre + " ."
        else:
            yield word
        yield " "
