"""MCM-DPO logits against a direct transcription of the reference formula; negatives; config checks."""

from __future__ import annotations

import math
import random

import pytest

torch = pytest.importorskip("torch")

from altbench.errors import AltbenchError
from altbench.train import negatives
from altbench.train.config import REFERENCE_WEIGHTS, load_config, plan
from altbench.train.mcmdpo import mcmdpo_logits, mcmdpo_loss, sequence_index

# The reference hyper-parameters (scripts/mcmdpo.sh, llava/train/llava_trainer.py mcmdpo_loss): para_r3 is the response term, r2 image, r1 context,
# r4 context+response, r5 image+response, r6 context+image, r7 all three; norm 2.8.
R = {"r1": 0.5, "r2": 0.5, "r3": 1.0, "r4": 0.2, "r5": 0.2, "r6": 0.2, "r7": 0.2, "norm": 2.8}


def reference_logits(p: dict, r: dict, num: int):
    """The reference trainer's formula (use_cross_modal_loss True), term by term in its own order and nesting
    (num = use_cl_reward_num: <= 2 gives the response and image terms)."""
    w = lambda k: R[k] / R["norm"]
    logits = w("r3") * (p["cw_mw_yw"] - p["cw_mw_yl"]) - w("r3") * (r["cw_mw_yw"] - r["cw_mw_yl"])
    if True:  # use_cross_modal_loss
        logits = logits + w("r2") * (p["cw_mw_yw"] - r["cw_mw_yw"])
        logits = logits - w("r2") * (p["cw_ml_yw"] - r["cw_ml_yw"])
        if num > 2:
            logits = logits + w("r1") * (p["cw_mw_yw"] - p["cl_mw_yw"])
            logits = logits - w("r1") * (r["cw_mw_yw"] - r["cl_mw_yw"])
            if num > 3:
                logits = logits + w("r4") * (p["cw_mw_yw"] - p["cl_mw_yl"])
                logits = logits - w("r4") * (r["cw_mw_yw"] - r["cl_mw_yl"])
                if num > 4:
                    logits = logits + w("r5") * (p["cw_mw_yw"] - p["cw_ml_yl"])
                    logits = logits - w("r5") * (r["cw_mw_yw"] - r["cw_ml_yl"])
                    if num > 5:
                        logits = logits + w("r6") * (p["cw_mw_yw"] - p["cl_ml_yw"])
                        logits = logits - w("r6") * (r["cw_mw_yw"] - r["cl_ml_yw"])
                        if num > 6:
                            logits = logits + w("r7") * (p["cw_mw_yw"] - p["cl_ml_yl"])
                            logits = logits - w("r7") * (r["cw_mw_yw"] - r["cl_ml_yl"])
    return logits


def as_named(rows):
    return {f"{'cl' if c else 'cw'}_{'ml' if m else 'mw'}_{'yl' if y else 'yw'}": rows[sequence_index(c, m, y)]
            for c in (False, True) for m in (False, True) for y in (False, True)}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("num", range(2, 8))
def test_logits_match_reference_formula(num, dtype):
    g = torch.Generator().manual_seed(num)
    policy = (-60 * torch.rand(8, 16, generator=g, dtype=torch.float64)).to(dtype)
    ref = (policy.double() + torch.randn(8, 16, generator=g, dtype=torch.float64)).to(dtype)
    ours = mcmdpo_logits(policy, ref, use_cl_reward_num=num)
    theirs = reference_logits(as_named(policy), as_named(ref), num)
    tol = 1e-6 if dtype == torch.float64 else 1e-4  # float32 sums of ~60-magnitude log-probs
    assert torch.allclose(ours, theirs, atol=tol, rtol=0), (ours - theirs).abs().max()
    loss, _ = mcmdpo_loss(policy, ref, beta=0.1, use_cl_reward_num=num)
    assert torch.allclose(loss, -torch.nn.functional.logsigmoid(0.1 * theirs), atol=tol)


def test_weights_are_named_as_the_reference():
    """para_rk by name: changing one weight moves exactly its term (r1 context, r2 image, r3 response, ...)."""
    policy, ref = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 4, dtype=torch.float64)
    d = policy - ref
    base = mcmdpo_logits(policy, ref, use_cl_reward_num=7)
    negatives_by_name = {"para_r1": (True, False, False), "para_r2": (False, True, False),
                         "para_r3": (False, False, True), "para_r4": (True, False, True),
                         "para_r5": (False, True, True), "para_r6": (True, True, False),
                         "para_r7": (True, True, True)}
    for name, (c, m, y) in negatives_by_name.items():
        bumped = mcmdpo_logits(policy, ref, use_cl_reward_num=7, weights={name: REFERENCE_WEIGHTS[name] + 1.0})
        assert torch.allclose(bumped - base, (d[0] - d[sequence_index(c, m, y)]) / 2.8), name


def test_equal_policy_and_reference_gives_ln2():
    policy = torch.randn(8, 5, dtype=torch.float64)
    loss, logits = mcmdpo_loss(policy, policy.clone())
    assert torch.all(logits == 0)
    assert torch.allclose(loss, torch.full((5,), math.log(2), dtype=torch.float64))


def test_one_term_has_no_reference_counterpart_and_is_refused():
    with pytest.raises(ValueError, match="one-term"):
        mcmdpo_logits(torch.zeros(8, 2), torch.zeros(8, 2), use_cl_reward_num=1)
    with pytest.raises(AltbenchError, match="use_cross_modal_loss: false"):
        load_config(None, "mcmdpo", use_cl_reward_num=1)
    with pytest.raises(AltbenchError, match="mcmdpo_terms -> use_cl_reward_num"):
        load_config(None, "mcmdpo", mcmdpo_terms=3)


def test_use_cross_modal_loss_false_is_plain_dpo_in_the_plan():
    resolved = plan(load_config(None, "mcmdpo", use_cross_modal_loss=False), 10)
    assert "plain DPO" in resolved["loss"] and resolved["sequences per pair"] == 2
    assert "mcm-dpo terms" not in resolved


def test_dpo_options_the_mcmdpo_loss_ignores_are_refused(tmp_path):
    pytest.importorskip("trl")
    from altbench.models.hf_files import ensure_torchvision

    ensure_torchvision()
    from altbench.train.mcmdpo import MCMDPOConfig
    from altbench.train.variants import IGNORED_DPO_OPTIONS

    common = {"output_dir": str(tmp_path), "remove_unused_columns": False, "report_to": "none", "bf16": False}
    MCMDPOConfig(**common)  # the defaults are fine
    changed = {"use_weighting": True, "ld_alpha": 0.5, "label_smoothing": 0.1, "loss_weights": [1.0],
               "f_divergence_type": "js_divergence", "precompute_ref_log_probs": True}
    assert set(changed) <= set(IGNORED_DPO_OPTIONS)
    for key, value in changed.items():
        with pytest.raises(ValueError, match=key):
            MCMDPOConfig(**common, **{key: value})
    with pytest.raises(ValueError, match="loss_type"):
        MCMDPOConfig(**common, loss_type=["ipo"])
    with pytest.raises(TypeError):  # TRL 1.16's DPOConfig has no rpo_alpha at all
        MCMDPOConfig(**common, rpo_alpha=1.0)


def test_logits_reject_bad_shapes():
    with pytest.raises(ValueError):
        mcmdpo_logits(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError):
        mcmdpo_logits(torch.zeros(8, 2), torch.zeros(8, 2), use_cl_reward_num=8)


def test_diffusion_schedule_at_step_700():
    a, b = negatives.diffusion_coefficients(700)
    assert a == pytest.approx(0.593, abs=2e-3) and b == pytest.approx(0.805, abs=2e-3)
    assert a * a + b * b == pytest.approx(1.0, abs=1e-5)
    x = torch.ones(3, 8, 8)
    n1, n2 = negatives.diffusion_noise(x, 700), negatives.diffusion_noise(x, 700)
    assert not torch.equal(n1, n2)  # fresh noise each time
    assert float((n1 - a * x).mean()) == pytest.approx(0.0, abs=0.2)
    assert torch.equal(negatives.negative_pixels(x, "black"), torch.zeros_like(x))


def test_negative_context_is_another_item_seeded_by_index():
    picks = [negatives.other_index(i, 10) for i in range(10)]
    assert all(j != i for i, j in enumerate(picks))
    assert picks == [negatives.other_index(i, 10) for i in range(10)]
    with pytest.raises(ValueError):
        negatives.other_index(0, 1)


def test_image_negatives():
    from PIL import Image

    image = Image.new("RGB", (96, 96), (200, 30, 30))
    image.paste((0, 0, 200), (30, 30, 60, 60))
    rot = negatives.negative_image(image, "rotate", random.Random(0))
    assert rot.size == image.size and rot.tobytes() != image.tobytes()
    crop = negatives.negative_image(image, "crop", random.Random(0))
    assert crop.size == (48, 48)
    other = Image.new("RGB", (96, 96))
    assert negatives.negative_image(image, "random", random.Random(0), other) is other
    with pytest.raises(ValueError):
        negatives.negative_image(image, "diffusion", random.Random(0))


def test_config_checks_and_paper_plans():
    with pytest.raises(AltbenchError):
        load_config(None, "mcmdpo", use_cl_reward_num=9)
    with pytest.raises(AltbenchError):
        load_config("baselines/sft.yaml", "dpo")  # an SFT file given to dpo
    expected = {"sft": (128, 2e-5, 1), "dpo": (64, 5e-7, 1), "mcmdpo": (64, 5e-7, 2)}
    for recipe, (batch, lr, epochs) in expected.items():
        config = load_config(f"baselines/{recipe}.yaml", recipe)
        assert (config.effective_batch, config.learning_rate, config.num_train_epochs) == (batch, lr, epochs)
        assert config.train_vision_tower and config.lr_scheduler_type == "cosine" and config.warmup_ratio == 0.03
        resolved = plan(config, 18_000)
        assert resolved["effective batch"].startswith(str(batch))
    mcm = load_config("baselines/mcmdpo.yaml", "mcmdpo")
    assert mcm.weights == REFERENCE_WEIGHTS and mcm.para_norm == 2.8 and mcm.diffusion_step == 700
    assert mcm.use_cross_modal_loss and mcm.use_cl_reward_num == 7
    assert "576 tokens" in plan(mcm, 18_000)["images"]
    terms = plan(mcm, 18_000)["mcm-dpo terms"]
    assert terms.startswith("para_r3 response 1.0, para_r2 image 0.5, para_r1 context 0.5, "
                            "para_r4 context+response 0.2, para_r5 image+response 0.2")
    assert plan(mcm, 18_000)["optimizer steps"] == 2 * math.ceil(18_000 / 64)
