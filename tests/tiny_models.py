"""Session fixtures: tiny random vision-language checkpoints built offline (altbench.models.tiny).

Import the fixtures you need into a test module (``from tiny_models import tiny_llava``); each is built
once per session into the session's temporary folder.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # its thread pool only costs on 2 shared cores


def _build(tmp_path_factory, name: str) -> Path:
    torch = pytest.importorskip("torch", reason="the transformers adapters need the hf extra (torch)")
    pytest.importorskip("transformers", reason="the transformers adapters need the hf extra")

    from altbench.models import tiny

    torch.set_num_threads(1)
    path = tmp_path_factory.getbasetemp() / "tiny-models" / name
    if not (path / "config.json").is_file():
        tiny.BUILDERS[name](path, seed=0)
    return path


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "llava")


@pytest.fixture(scope="session")
def tiny_llava_next(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "llava_next")


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "qwen2_vl")


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "qwen2_5_vl")


@pytest.fixture(scope="session")
def tiny_idefics3(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "idefics3")


@pytest.fixture(scope="session")
def demo_batch(tmp_path_factory):
    """Eight demo items and their images (the demo split generated into a session cache)."""
    from altbench.data.images import load_image
    from altbench.data.splits import load_split

    saved = os.environ.get("ALTBENCH_CACHE")
    os.environ["ALTBENCH_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")  # as test_run.py uses
    try:
        items = list(load_split("demo").items[:8])
    finally:
        if saved is None:
            os.environ.pop("ALTBENCH_CACHE")
        else:
            os.environ["ALTBENCH_CACHE"] = saved
    return items, [load_image(it) for it in items]
