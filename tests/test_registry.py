from importlib.metadata import EntryPoint

import pytest

from altbench.errors import AltbenchError, MissingResourceError
from altbench.models import registry as reg
from altbench.models.baselines import ContextEcho, Retrieval, clean_context, default_train_split
from altbench.models.registry import REGISTRY, Registry, UnknownModelError


def test_did_you_mean():
    with pytest.raises(UnknownModelError, match="did you mean 'context-echo'"):
        REGISTRY.get("context-ecco")


def test_listing_has_baselines_and_paper_checkpoints():
    names = {e.name for e in REGISTRY.entries()}
    assert {"context-echo", "retrieval", "sft-7b", "dpo-7b", "mcmdpo-7b"} <= names
    assert "ALTBENCH_MCMDPO_7B" in REGISTRY.get("mcmdpo-7b").needs


def test_paper_checkpoint_without_weights_says_how(monkeypatch, tmp_path):
    monkeypatch.delenv("ALTBENCH_MCMDPO_7B", raising=False)
    with pytest.raises(MissingResourceError, match="ALTBENCH_MCMDPO_7B=DIR"):
        REGISTRY.create("mcmdpo-7b")
    with pytest.raises(MissingResourceError, match="expected .*config.json"):
        REGISTRY.create("mcmdpo-7b", {"path": str(tmp_path)})


def test_bad_model_args_are_a_user_error():
    with pytest.raises(AltbenchError, match="bad arguments"):
        REGISTRY.create("context-echo", {"nope": 1})


def test_entry_point_plugins_are_listed_and_lazy(monkeypatch):
    ep = EntryPoint(name="my-model", value="altbench.models.baselines:ContextEcho", group="altbench.adapters")
    monkeypatch.setattr(reg, "entry_points", lambda group: [ep] if group == "altbench.adapters" else [])
    registry = Registry()
    registry.add(reg.ModelEntry("context-echo", "altbench.models.baselines:ContextEcho"))
    assert [e.name for e in registry.entries()] == ["context-echo", "my-model"]
    _, adapter = registry.create("my-model")
    assert isinstance(adapter, ContextEcho)


def test_non_adapter_target_is_refused():
    with pytest.raises(AltbenchError, match="not an altbench Adapter"):
        reg.load_target("altbench.models.baselines:TfidfIndex")


def test_clean_context():
    text = 'Check this out @bob https://t.co/x #NewLogo   "quoted"\n\nmore'
    assert clean_context(text) == 'Check this out NewLogo "quoted" more'
    long = "word " * 100
    cut = clean_context(long)
    assert len(cut) <= 125 and not cut.endswith(" ") and cut.endswith("word")


def test_retrieval_returns_nearest_training_reference(sample_root):
    adapter = Retrieval(train="talt-sample-train", data_root=str(sample_root))
    adapter.prepare("talt-sample")
    from altbench.data.splits import load_split

    train = load_split("talt-sample-train", sample_root)
    # a training item's own context retrieves its own reference
    gens = adapter.generate(train.items[:3], None)
    assert [g.prediction for g in gens] == [it.chosen for it in train.items[:3]]
    assert adapter.fingerprint()["train_sha256"] == train.sha256()


def test_default_train_split():
    assert default_train_split("demo") == "demo-train"
    assert default_train_split("talt-sample") == "talt-sample-train"
    assert default_train_split("palt-test") == "palt-train"
    assert default_train_split("mine.jsonl") is None
    with pytest.raises(AltbenchError, match="--model-arg train="):
        Retrieval().prepare("mine.jsonl")
