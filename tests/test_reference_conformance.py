"""Conformance with the real reference scorer: the released ``get_score.py`` (and its ``cider.py``) from
``../shared/reference/mcmdpo-scorer/``, imported as its README says (a stand-in ``tiktoken`` module, whose
encoder the scorer never calls), run next to altbench's paper convention on the same items.

Each case writes the reference's input (test rows with a ``response``), runs ``get_score.one_file`` on it
and scores the same predictions through ``altbench.score`` (the CLI's scoring path: in-memory split, CIDEr-D
document frequencies from every given reference), and requires:

* every reported value equal: ``one_file``'s ``round(mean, 5) * 100`` dict bit for bit against the paper
  scorer's values, and against altbench's stored values (``altbench.score``) up to the documented cleaning of
  the float artefact of ``* 100`` (docs/results-schema.md, "How numbers are rounded": 90.909, not
  90.90899999999999);
* every per-item value the reference writes (``*_score.json``: bleu_1, bleu_4, meteor, rouge) equal, and an
  item the reference's ROUGE failed on (it prints the error and adds nothing) scored 0 by altbench.

Cases: both released samples (TAlt and PAlt) with several prediction sets, and adversarial strings.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import types
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference" / "mcmdpo-scorer"
SAMPLE = SHARED / "data" / "mcmdpo-sample"
# one_file's keys -> altbench's paper metric names
KEYS = {"bleu_4": "bleu4", "METEOR": "meteor", "ROUGE-L": "rougeL", "CIDEr": "cider", "bleu_1": "bleu1",
        "cumulative_bleu_4": "bleu4_cum", "edit_distance": "edit_distance"}
PER_ITEM = {"bleu_1": "bleu1", "bleu_4": "bleu4", "meteor": "meteor", "rouge": "rougeL"}
REFERENCE_RECURSION_LIMIT = 10**5  # what get_score.py sets at import time

pytestmark = pytest.mark.skipif(not (REFERENCE / "get_score.py").is_file(),
                                reason=f"the reference scorer is not at {REFERENCE}")


@contextlib.contextmanager
def _reference_recursion_limit():
    """The reference's recursion limit while it runs (it sets it for its whole process), ours after."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(REFERENCE_RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


@pytest.fixture(scope="module")
def get_score():
    """The released get_score module, imported offline (stand-in tiktoken), WordNet and punkt_tab ready."""
    for module in ("editdistance", "pandas", "rouge", "nltk"):
        pytest.importorskip(module, reason=f"the reference scorer needs {module}")
    from altbench.metrics.nltk_data import ensure_nltk_data

    ensure_nltk_data()
    stand_in = types.ModuleType("tiktoken")

    def get_encoding(name: str):
        class Encoding:  # get_score.py only builds it; num_list_edit_distance, never called, would use it
            def encode(self, text: str):
                raise AssertionError("the reference scorer is not expected to call tiktoken")

        return Encoding()

    stand_in.get_encoding = get_encoding
    saved = {name: sys.modules.get(name) for name in ("tiktoken", "cider", "get_score")}
    sys.modules["tiktoken"] = stand_in
    sys.path.insert(0, str(REFERENCE))
    try:
        with _reference_recursion_limit():
            module = importlib.import_module("get_score")
        yield module
    finally:
        sys.path.remove(str(REFERENCE))
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def _run_reference(get_score, folder: Path, references: list[str], responses: list[str]):
    """(one_file's dict, per-item rows sorted by idx) of the reference on these items."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "preds.jsonl"  # one_file names its output by splitting the path at its first dot
    assert "." not in str(folder), "the reference derives its output file name from the first '.' of the path"
    rows = [{"idx": i, "chosen": ref, "response": resp} for i, (ref, resp) in enumerate(zip(references, responses))]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with _reference_recursion_limit():
        result = get_score.one_file(str(path))
    items = json.loads((folder / "preds_score.jsonl").read_text(encoding="utf-8"))
    return result, items


def _assert_conforms(get_score, folder: Path, references: list[str], responses: list[str]) -> None:
    import altbench
    from altbench.metrics.paper import score_paper
    from altbench.results.numbers import reported

    theirs, their_items = _run_reference(get_score, folder, references, responses)
    ours = altbench.score(responses, references, convention="paper", resamples=20)
    scorer = score_paper([[r] for r in references], responses)
    for key, name in KEYS.items():
        assert scorer[name].value == theirs[key], (key, scorer[name].value, theirs[key])  # bit for bit
        stored = ours.value(f"paper/{name}")
        assert stored == reported(theirs[key], 3) and abs(stored - theirs[key]) < 1e-9, (key, stored, theirs[key])
        assert ours.metrics[f"paper/{name}"].decimals == 3
    assert theirs["sample_count"] == len(responses)
    for key, name in PER_ITEM.items():
        mine = ours.per_item(f"paper/{name}")
        for i, row in enumerate(their_items):
            expected = row.get(key, 0.0)  # the reference skips (adds 0 for) an item whose ROUGE raised
            assert mine[i] == expected, (key, i, references[i][:80], responses[i][:80], mine[i], expected)


def _sample_rows(platform: str) -> tuple[list[dict], list[dict]]:
    folder = SAMPLE / platform
    if not folder.is_dir():
        pytest.skip(f"the released sample is not at {folder}")

    def read(name: str) -> list[dict]:  # the test file is JSON Lines, the train file one JSON array
        text = (folder / name).read_text(encoding="utf-8")
        if text.lstrip().startswith("["):  # training rows keep question/chosen/rejected in a JSON string
            return [json.loads(row["text"]) if "text" in row else row for row in json.loads(text)]
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    return read(f"{platform}_test.json"), read(f"{platform}_train.json")


def _context(question: str) -> str:
    return question.split("Context:\n", 1)[-1]


@pytest.mark.parametrize("platform", ["twitter", "pinterest"])
def test_released_samples_conform(get_score, tmp_path, platform):
    test, train = _sample_rows(platform)
    refs = [r["chosen"] for r in test]
    n = len(refs)
    prediction_sets = {
        "context-echo": [_context(r["question"])[:125] for r in test],
        "train-reference": [train[i % len(train)]["chosen"] for i in range(n)],
        "train-rejected": [train[i % len(train)]["rejected"] for i in range(n)],
        "other-item": [refs[(i + 1) % n] for i in range(n)],
        "assistant-prefixed-copy": ["Assistant: " + r for r in refs],
        "first-words": [" ".join(r.split()[:4]) for r in refs],
        "lowercased-context": [_context(r["question"]).lower() for r in test],
    }
    for name, preds in prediction_sets.items():
        _assert_conforms(get_score, tmp_path / platform / name.replace("-", "_"), refs, preds)


ADVERSARIAL = [
    ("A red circle on a blue background.", "a red circle on a blue background"),
    ("A red circle on a blue background.", ""),
    ("A red circle on a blue background.", "Assistant:"),
    ("A red circle on a blue background.", "Assistant: Assistant: a red circle"),
    ("A red circle on a blue background.", "  Assistant:a red circle  "),
    ("The dogs were running; they ran fast.", "The dog runs. It is running quickly!"),
    ("Don't panic: it's a \"quoted\" word (really).", "do n't panic , it 's a `` quoted '' word"),
    ("Screenshot of https://example.com/a?b=c&d=e", "screenshot of example.com"),
    ("Café naïve résumé — déjà vu…", "cafe naive resume - deja vu..."),
    ("😀 emoji 👍 and #hashtags @user", "emoji and hashtags user 😀"),
    ("Zahlen 1,234.56 und 3.14", "numbers 1234.56 and 3.14 !!!"),
    ("the the the the the", "the the the"),
    ("Mr. Smith went to Washington. He arrived at 5 p.m. on Jan. 3.", "Smith went to Washington at 5 pm."),
    ("a. b. c. d. e.", "a b c d e"),
    ("x", "x"),
    ("x", "y"),
    ("日本語のテキスト", "日本語"),
    ("Line one\nline two\ttabbed", "line one line two tabbed"),
    ("A photo of a cat sitting on a mat", "An image of a kitten resting on a rug"),
    ("large big huge enormous", "big large enormous huge"),
    ("<b>bold</b> & <i>html</i>", "bold & html"),
    ("He said: 'yes'.", "He said yes"),
    ("...", "..."),
    ("a caption", "."),
    ("", "a caption for an empty reference"),
    (".", "a caption"),
    ("  leading and trailing  ", "leading and trailing"),
    ("word " * 300, "word " * 250),
    (" ".join(f"w{i}" for i in range(400)), " ".join(f"w{i}" for i in range(0, 400, 2))),
]


def test_adversarial_strings_conform(get_score, tmp_path):
    refs, preds = [r for r, _ in ADVERSARIAL], [p for _, p in ADVERSARIAL]
    _assert_conforms(get_score, tmp_path / "adversarial", refs, preds)


def test_adversarial_single_items_conform(get_score, tmp_path):
    """One item per file: CIDEr-D's document frequencies from a single reference (idf of log(1) edge)."""
    for i, (ref, pred) in enumerate(ADVERSARIAL[:8]):
        _assert_conforms(get_score, tmp_path / f"single{i}", [ref], [pred])
