"""altbench.metrics.nltk_light: the paper convention without nltk's __init__, and a full nltk after it.

Each case runs in a fresh interpreter (the point is what a process imports, and in which order).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("nltk_data")

SCORE = """
import sys
from altbench.metrics.paper.score import score_paper
scores = score_paper([["A dog runs in the park. It is sunny."]], ["Assistant: A dog is running in a park."])
assert not any(m == "scipy" or m.startswith("scipy.") for m in sys.modules), "scipy imported"
assert type(sys.modules["nltk"]).__name__ == "_Deferred"
"""


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture
def nltk_data():
    from altbench.metrics.nltk_data import ensure_nltk_data

    try:
        ensure_nltk_data()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"NLTK data not available: {exc}")


def test_scoring_skips_nltk_init():
    _run(SCORE)


@pytest.mark.parametrize("first_use", [
    "import nltk; nltk.word_tokenize('x')",                       # attribute of the package
    "from nltk.translate.bleu_score import sentence_bleu",       # a deep import, no `import nltk` before
    "from nltk import corpus",                                    # a submodule not yet imported
    "import nltk.tokenize; nltk.tokenize.sent_tokenize('x. Y.')",  # attribute of a deferred subpackage
])
def test_full_nltk_afterwards_is_a_plain_nltk(first_use):
    out = _run(SCORE + first_use + """
import json, nltk
from nltk.translate.meteor_score import meteor_score
from nltk.corpus import wordnet
assert nltk.word_tokenize("Mr. Smith's dog. It ran.") == ['Mr.', 'Smith', "'s", 'dog', '.', 'It', 'ran', '.']
assert meteor_score([["a", "dog"]], ["a", "dog"]) > 0.9
assert nltk.tokenize.destructive.NLTKWordTokenizer is sys.modules["nltk.tokenize.destructive"].NLTKWordTokenizer
assert nltk.stem.PorterStemmer is nltk.stem.porter.PorterStemmer
for name in ("nltk", "nltk.tokenize", "nltk.stem", "nltk.translate", "nltk.translate.bleu_score"):
    mod = sys.modules[name]
    assert type(mod).__name__ == "module" and mod.__spec__.loader is mod.__loader__, name
    assert type(mod.__loader__).__name__ == "SourceFileLoader", name
print(json.dumps({"modules": sorted(m for m in sys.modules if m.split(".")[0] == "nltk"), "names": dir(nltk)}))
""")
    plain = _run("""
import json, sys, nltk
from nltk.translate.meteor_score import meteor_score
from nltk.corpus import wordnet
print(json.dumps({"modules": sorted(m for m in sys.modules if m.split(".")[0] == "nltk"), "names": dir(nltk)}))
""")
    assert out.splitlines()[-1] == plain.splitlines()[-1]


def test_version_without_init():
    out = _run(SCORE + """
from altbench.metrics import nltk_light
v = nltk_light.version()
import nltk
print(v == nltk.__version__)
""")
    assert out.strip() == "True"
