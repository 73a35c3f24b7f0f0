"""Strict parsing of the judge's answers, and probability-weighted scores from log-probabilities.

An answer is accepted only if it is exactly one JSON object of the requested shape (white space around it, or
one Markdown code fence around it, is tolerated): every criterion present and no other key, each with a
non-empty ``justification`` string and an integer ``score`` from 1 to 5 (pairwise: ``justification`` and
``winner`` in ``A``, ``B``, ``tie``). Anything else raises :class:`ParseError`: the item is counted as a parse
failure and left unscored, never scored as zero.

Probability weighting (G-Eval style): where the backend returned per-token log-probabilities, the token that
holds a score (or the winner) is found in the answer, and the probabilities of the alternatives at that
position (its top log-probabilities) give a distribution over 1..5 (over A/B/tie); the expected value
replaces the integer. Where the token cannot be found exactly, there is no distribution and the integer
stands.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

from altbench.metrics.model.judge.backends import TokenLogprob
from altbench.metrics.model.judge.prompts import WINNERS
from altbench.metrics.model.judge.rubric import CRITERION_NAMES

SCORES = ("1", "2", "3", "4", "5")
_FENCE = re.compile(r"\A```(?:json)?[ \t]*\n(.*)\n[ \t]*```\Z", re.DOTALL)


class ParseError(ValueError):
    """The judge answered, but not in the required form."""


def _load_object(text: str) -> dict:
    s = text.strip()
    fenced = _FENCE.match(s)
    if fenced:
        s = fenced.group(1).strip()
    if not s.startswith("{"):
        raise ParseError(f"not a JSON object: {s[:40]!r}")
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(obj, dict):
        raise ParseError("not a JSON object")
    return obj


def _check_keys(obj: dict, wanted: Sequence[str], where: str) -> None:
    missing = [k for k in wanted if k not in obj]
    extra = [k for k in obj if k not in wanted]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                ([f"unexpected {', '.join(map(str, extra))}"] if extra else [])
        raise ParseError(f"{where}: {'; '.join(parts)}")


def _justification(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"{where}: justification must be a non-empty string")
    return value.strip()


def parse_absolute(text: str) -> dict[str, tuple[int, str]]:
    """criterion -> (score 1..5, justification), for every criterion of the rubric."""
    obj = _load_object(text)
    _check_keys(obj, CRITERION_NAMES, "answer")
    out = {}
    for name in CRITERION_NAMES:
        entry = obj[name]
        if not isinstance(entry, dict):
            raise ParseError(f"{name}: expected an object with justification and score")
        _check_keys(entry, ("justification", "score"), name)
        score = entry["score"]
        if type(score) is not int or not 1 <= score <= 5:
            raise ParseError(f"{name}: score must be an integer from 1 to 5, got {score!r}")
        out[name] = (score, _justification(entry["justification"], name))
    return out


def parse_pairwise(text: str) -> tuple[str, str]:
    """(winner ``A`` | ``B`` | ``tie``, justification)."""
    obj = _load_object(text)
    _check_keys(obj, ("justification", "winner"), "answer")
    winner = obj["winner"]
    if winner not in WINNERS:
        raise ParseError(f"winner must be one of {', '.join(WINNERS)}, got {winner!r}")
    return winner, _justification(obj["justification"], "answer")


# ------------------------------------------------------------------------------------ probability weights
def _unescaped_key(key: str) -> str:
    return r'(?<!\\)"' + re.escape(key) + r'"\s*:\s*'


def score_offsets(text: str) -> dict[str, int]:
    """criterion -> character offset of its score's digit in the raw answer (where found)."""
    out = {}
    for name in CRITERION_NAMES:
        head = re.search(_unescaped_key(name) + r"\{", text)
        if not head:
            continue
        value = re.compile(_unescaped_key("score") + r"([1-5])").search(text, head.end())
        if value:
            out[name] = value.start(1)
    return out


def winner_offset(text: str) -> int | None:
    m = re.search(_unescaped_key("winner") + r'"', text)
    return m.end() if m else None


def _token_at(tokens: Sequence[TokenLogprob], text: str, offset: int) -> TokenLogprob | None:
    joined = "".join(t.token for t in tokens)
    shift = joined.find(text) if joined != text else 0
    if shift < 0:
        return None  # the tokens do not spell the answer: no alignment
    pos, target = 0, offset + shift
    for t in tokens:
        if pos <= target < pos + len(t.token):
            return t
        pos += len(t.token)
    return None


def _core(token: str) -> str:
    return token.strip().strip('"').strip()


def distribution(tokens: Sequence[TokenLogprob] | None, text: str, offset: int | None,
                 choices: Sequence[str]) -> dict[str, float] | None:
    """Normalised probabilities of ``choices`` at the token that holds the value at ``offset``."""
    if not tokens or offset is None:
        return None
    tok = _token_at(tokens, text, offset)
    if tok is None or _core(tok.token) not in choices or not text[offset:].startswith(_core(tok.token)):
        return None
    mass: dict[str, float] = {}
    seen: set[str] = set()
    for alt, logprob in ((tok.token, tok.logprob), *tok.top):
        core = _core(alt)
        if core in choices and alt not in seen and math.isfinite(logprob):
            seen.add(alt)
            mass[core] = mass.get(core, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {c: mass.get(c, 0.0) / total for c in choices}


def absolute_distributions(text: str, tokens: Sequence[TokenLogprob] | None) -> dict[str, dict[str, float]]:
    """criterion -> distribution over "1".."5" (only criteria whose score token was found)."""
    out = {}
    for name, offset in score_offsets(text).items():
        dist = distribution(tokens, text, offset, SCORES)
        if dist is not None:
            out[name] = dist
    return out


def expected_score(dist: dict[str, float]) -> float:
    return sum(int(k) * p for k, p in dist.items())
