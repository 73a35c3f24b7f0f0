import os
from pathlib import Path

import pytest

SAMPLE_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "mcmdpo-sample"
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def sample_root() -> Path:
    """The released 10 train + 10 test items per platform, beside the repo in ../shared (never copied)."""
    if not SAMPLE_ROOT.is_dir():
        pytest.skip(f"released sample data not found at {SAMPLE_ROOT}")
    return SAMPLE_ROOT
