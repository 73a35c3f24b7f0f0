import os
from pathlib import Path

import pytest

SAMPLE_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mcmdpo-sample"
# One thread for torch and the tokenizers: on 2 shared cores, more threads are 5-25x slower (machine-facts).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Make NLTK's punkt_tab + WordNet available as `altbench setup nltk --offline` would, if not yet there.

    Left alone when it cannot be built (e.g. no Debian WordNet): the tests that need it then fail with the
    scorer's own one-line message naming `altbench setup nltk`.
    """
    from altbench.errors import MissingResourceError
    from altbench.metrics.nltk_data import ensure_nltk_data, setup_nltk

    try:
        ensure_nltk_data()
    except MissingResourceError:
        try:
            setup_nltk(online=False)
        except Exception:  # noqa: BLE001, S110 - reported by the tests that need the data
            pass


@pytest.fixture(scope="session")
def sample_root() -> Path:
    """The released 10 train + 10 test items per platform, beside the repo in ../shared (never copied)."""
    if not SAMPLE_ROOT.is_dir():
        pytest.skip(f"released sample data not found at {SAMPLE_ROOT}")
    return SAMPLE_ROOT
