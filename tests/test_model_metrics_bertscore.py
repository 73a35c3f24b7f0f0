"""BERTScore through bert-score with a tiny local BERT: parity with the package, idf from the whole split,
empty predictions, the signature, and the messages when the model is absent."""

import os

import pytest

from altbench.errors import AltbenchError, MissingResourceError
from altbench.metrics.model.registry import score_model_metrics

torch = pytest.importorskip("torch")
bert_score = pytest.importorskip("bert_score")
from test_model_metrics_helpers import build_tiny_bert

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    os.environ.setdefault("ALTBENCH_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
    from altbench.data.splits import load_split

    return load_split("demo")


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("bert") / "tiny-bert")


def _score(demo, items, preds, **args):
    return score_model_metrics(["bertscore"], demo, items, preds, {f"bertscore.{k}": v for k, v in args.items()})


def _preds(items):
    return [it.references[0] if i % 3 == 0 else f"a {it.context[:30]}" for i, it in enumerate(items)]


def test_parity_with_bert_score_package(demo, tiny_bert):
    items = demo.items[:16]
    preds = _preds(items)
    out = _score(demo, items, preds, model=str(tiny_bert), num_layers=2)
    p, r, f = bert_score.score(preds, [list(it.references) for it in items], model_type=str(tiny_bert),
                               num_layers=2, device="cpu", nthreads=0)
    assert out.scores["model/bertscore"].per_item == pytest.approx(f.tolist(), abs=1e-6)
    assert out.scores["model/bertscore.precision"].per_item == pytest.approx(p.tolist(), abs=1e-6)
    assert out.scores["model/bertscore.recall"].per_item == pytest.approx(r.tolist(), abs=1e-6)
    f1 = out.scores["model/bertscore"]
    assert f1.per_item[0] == pytest.approx(1.0, abs=1e-5)  # the prediction is the reference
    sig = f1.signature
    assert sig.startswith("bertscore|score:F1|model:tiny-bert|sha256:")
    for part in ("layer:2", "idf:no", "rescale:no", "bert_score:0.3.13", "transformers:"):
        assert part in sig
    assert out.models["model/bertscore"]["weights"] == str(tiny_bert.resolve())


def test_idf_comes_from_the_whole_split(demo, tiny_bert):
    items = demo.items[:8]
    preds = _preds(items)
    out = _score(demo, items, preds, model=str(tiny_bert), num_layers=2, idf=True)
    all_refs = [r for it in demo.items for r in it.references]
    scorer = bert_score.BERTScorer(model_type=str(tiny_bert), num_layers=2, idf=True, idf_sents=all_refs,
                                   nthreads=0, device="cpu")
    _, _, f = scorer.score(preds, [list(it.references) for it in items])
    assert out.scores["model/bertscore"].per_item == pytest.approx(f.tolist(), abs=1e-6)
    assert f"idf:split(nrefs={len(all_refs)})" in out.scores["model/bertscore"].signature
    # a subset scores its items as the whole run does
    sub = _score(demo, items[:3], preds[:3], model=str(tiny_bert), num_layers=2, idf=True)
    assert sub.scores["model/bertscore"].per_item == pytest.approx(f.tolist()[:3], abs=1e-6)


def test_empty_prediction_scores_zero_as_the_package_defines(demo, tiny_bert):
    items = demo.items[:3]
    out = _score(demo, items, ["", "   ", items[2].references[0]], model=str(tiny_bert), num_layers=2)
    f1 = out.scores["model/bertscore"]
    assert f1.per_item[:2] == (0.0, 0.0) and f1.per_item[2] == pytest.approx(1.0, abs=1e-5)
    assert f1.n_scored == 3  # an empty prediction is a real output, scored, not skipped


def test_folder_saved_without_max_length(demo, tmp_path):
    folder = build_tiny_bert(tmp_path / "nomax", max_length=None)
    out = _score(demo, demo.items[:2], ["a red circle", "a blue bar chart"], model=str(folder), num_layers=1)
    assert out.scores["model/bertscore"].n_scored == 2
    assert "layer:1" in out.scores["model/bertscore"].signature


def test_absent_model_messages(demo, tiny_bert, tmp_path, monkeypatch):
    with pytest.raises(MissingResourceError, match=r"bertscore\.model="):
        _score(demo, demo.items[:1], ["x"], model=str(tmp_path / "missing"), num_layers=2)
    with pytest.raises(AltbenchError, match=r"bertscore\.num_layers"):
        _score(demo, demo.items[:1], ["x"], model=str(tiny_bert))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(MissingResourceError, match=r"roberta-large is not in the Hugging Face cache") as err:
        _score(demo, demo.items[:1], ["x"])  # the default model, not available offline
    assert "\n" not in str(err.value)
    with pytest.raises(AltbenchError, match=r"unknown option --metric-arg bertscore\.layers; did you mean --metric-arg bertscore\.num_layers"):
        _score(demo, demo.items[:1], ["x"], layers=3)
