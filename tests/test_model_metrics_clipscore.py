"""CLIPScore / RefCLIPScore: the formula on hand-computed embeddings, a tiny random open_clip model end to end,
truncation, the image-feature cache, and the messages when weights are missing."""

import json
import math

import numpy as np
import pytest

from altbench.errors import AltbenchError, MissingResourceError
from altbench.metrics.model import clipscore as cs
from altbench.metrics.model.registry import score_model_metrics
from altbench.torch_compat import import_open_clip

torch = pytest.importorskip("torch")
try:  # through torch_compat: torchvision beside a CPU-only torch
    import_open_clip()
except ImportError:
    pytest.skip("open_clip is not installed", allow_module_level=True)
from test_model_metrics_helpers import CLIP_CFG, build_tiny_clip

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import os

    os.environ.setdefault("ALTBENCH_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
    from altbench.data.splits import load_split

    return load_split("demo")


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


# ----------------------------------------------------------------------------------------- the formula
def test_clip_s_and_ref_clip_s_on_hand_computed_embeddings():
    image = cs.normalise(np.array([[3.0, 0.0], [1.0, 0.0], [0.0, 2.0]]))
    cand = cs.normalise(np.array([[0.6, 0.8], [-1.0, 0.0], [0.0, 5.0]]))
    clip = cs.clip_s(image, cand, 2.5)
    np.testing.assert_allclose(clip, [2.5 * 0.6, 0.0, 2.5])  # cos 0.6; cos -1 clipped to 0; cos 1
    refs = cs.normalise(np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    best = cs.best_reference_similarity(cand, refs, [0, 0, 1, 2], 3)
    np.testing.assert_allclose(best, [0.8, -1.0, 1.0])  # max over the item's own references
    ref = cs.ref_clip_s(clip, best)
    np.testing.assert_allclose(ref, [2 * 1.5 * 0.8 / (1.5 + 0.8), 0.0, 2 * 2.5 * 1.0 / 3.5])
    assert np.isnan(cs.clip_s(np.full((1, 2), np.nan), cand[:1], 2.5)).all()  # no image: NaN, not 0


def test_formula_matches_the_reference_code():
    # clipscore.py (jmhessel/clipscore): per = w*np.clip(np.sum(images*candidates, axis=1), 0, None);
    # refclipscore = 2*a*b/(a+b) with b = max over references of cand.dot(ref) (all positive here)
    rng = np.random.default_rng(0)
    images, cands, refs = (np.abs(rng.normal(size=(20, 8))) for _ in range(3))
    images_n = images / np.sqrt(np.sum(images**2, axis=1, keepdims=True))
    cands_n = cands / np.sqrt(np.sum(cands**2, axis=1, keepdims=True))
    refs_n = refs / np.sqrt(np.sum(refs**2, axis=1, keepdims=True))
    per = 2.5 * np.clip(np.sum(images_n * cands_n, axis=1), 0, None)
    text = np.array([np.max(c.dot(r[None].T)) for c, r in zip(cands_n, refs_n)])
    reference = 2 * per * text / (per + text)
    ours = cs.clip_s(cs.normalise(images), cs.normalise(cands), 2.5)
    np.testing.assert_allclose(ours, per, rtol=1e-12)
    best = cs.best_reference_similarity(cs.normalise(cands), cs.normalise(refs), list(range(20)), 20)
    np.testing.assert_allclose(cs.ref_clip_s(ours, best), reference, rtol=1e-12)


# ------------------------------------------------------------------------------------------ end to end
def _score(demo, items, preds, **args):
    opts = {f"clipscore.{k}": v for k, v in args.items()}
    return score_model_metrics(["clipscore", "refclipscore"], demo, items, preds, opts)


def test_tiny_clip_end_to_end(demo, tiny_clip):
    items = demo.items[:12]
    preds = [it.references[0] for it in items]
    out = _score(demo, items, preds, model=str(tiny_clip))
    clip, ref = out.scores["model/clipscore"], out.scores["model/refclipscore"]
    assert len(clip.per_item) == 12 and clip.n_scored == 12
    assert all(0.0 <= v <= 2.5 for v in clip.per_item)
    # the prediction is its reference: best reference cosine is 1, so RefCLIP-S = H-mean(CLIP-S, 1)
    expected = [2 * c / (c + 1) if c > 0 else 0.0 for c in clip.per_item]
    np.testing.assert_allclose(ref.per_item, expected, rtol=1e-5)
    assert clip.value == pytest.approx(np.mean(clip.per_item))
    sig = clip.signature
    assert sig.startswith("clipscore|model:tiny-clip|pretrained:local-dir|sha256:")
    for part in ("prefix:A photo depicts", "w:2.5", "trunc:ctx16", "precision:fp32", "cos:max(cos,0)"):
        assert part in sig
    model = out.models["model/clipscore"]
    assert model["sha256"] and model["weights"] == str(tiny_clip.resolve())
    assert out.failures == {}


def test_long_text_is_truncated_to_the_context_as_the_reference_does(tiny_clip):
    clip = cs.load({**cs.OPTIONS, "model": str(tiny_clip), "device": "cpu"})
    a, b = "red " * 40, "red " * 60 + "and something else entirely"
    feats = cs.text_features(clip, [a, b, "red"], "A photo depicts", 8)
    np.testing.assert_allclose(feats[0], feats[1], atol=1e-6)  # both cut to the first 16 tokens
    assert not np.allclose(feats[0], feats[2])
    tokens = clip.tokenizer(["A photo depicts " + b])[0]
    assert tokens.shape[0] == 16 and int(tokens[-1]) == clip.tokenizer.eot_token_id


def test_image_features_are_cached_per_model(demo, tiny_clip, tmp_path):
    items, preds = demo.items[:10], [it.references[0] for it in demo.items[:10]]
    first = _score(demo, items, preds, model=str(tiny_clip))
    assert first.models["model/clipscore"]["image_features"] == {"cached": 0, "encoded": 10}
    other_preds = [it.context for it in items]  # a second system on the same split
    second = _score(demo, items, other_preds, model=str(tiny_clip))
    assert second.models["model/clipscore"]["image_features"] == {"cached": 10, "encoded": 0}
    again = _score(demo, items, preds, model=str(tiny_clip))
    assert again.scores["model/clipscore"].per_item == pytest.approx(first.scores["model/clipscore"].per_item)
    other_model = build_tiny_clip(tmp_path / "other", seed=1)  # other weights: other features
    third = _score(demo, items, preds, model=str(other_model))
    assert third.models["model/clipscore"]["image_features"] == {"cached": 0, "encoded": 10}


def test_unreadable_image_is_left_unscored_not_zero(demo, tiny_clip, tmp_path):
    import dataclasses

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    items = [dataclasses.replace(demo.items[0], image=broken, image_root=tmp_path), *demo.items[1:4]]
    out = _score(demo, items, ["a red circle"] * 4, model=str(tiny_clip))
    clip = out.scores["model/clipscore"]
    assert math.isnan(clip.per_item[0]) and clip.n_scored == 3
    assert clip.value == pytest.approx(np.mean(clip.per_item[1:]))
    assert out.failures["model/clipscore"] == {"image": 1}


def test_weights_file_with_architecture(demo, tmp_path):
    open_clip = import_open_clip()

    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    (cfg_dir / "tiny-test-clip.json").write_text(json.dumps(CLIP_CFG))
    open_clip.add_model_config(cfg_dir)
    weights = build_tiny_clip(tmp_path / "w") / "open_clip_pytorch_model.bin"
    out = _score(demo, demo.items[:3], ["a red circle"] * 3, model=str(weights), arch="tiny-test-clip",
                 pretrained="none")
    sig = out.scores["model/clipscore"].signature
    assert "model:tiny-test-clip|pretrained:none" in sig
    assert "quick_gelu:True" in sig  # the architecture's config says so; the signature tells the truth
    folder = _score(demo, demo.items[:3], ["a red circle"] * 3, model=str(tmp_path / "w"))
    assert folder.scores["model/clipscore"].per_item == pytest.approx(out.scores["model/clipscore"].per_item,
                                                                       abs=1e-5)


def test_missing_weights_name_the_option(demo, tmp_path, monkeypatch):
    with pytest.raises(MissingResourceError, match=r"clipscore\.model="):
        _score(demo, demo.items[:1], ["x"], model=str(tmp_path / "nope.pt"))
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(MissingResourceError, match=r"ViT-B-32 'openai' weights.*clipscore\.model=") as err:
        _score(demo, demo.items[:1], ["x"])  # the default: ViT-B-32, OpenAI weights
    assert "\n" not in str(err.value)
    with pytest.raises(AltbenchError, match="not an open_clip architecture"):
        _score(demo, demo.items[:1], ["x"], model="ViT-Nope")
