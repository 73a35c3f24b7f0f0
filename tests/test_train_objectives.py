"""mDPO and MPO objectives against transcriptions of their references, on random log-probabilities (float64, 1e-6);
mDPO's corrupted image; MPO = TRL 1.16's DPOTrainer loss when the reward shift is off; the recipes' configs."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from altbench.errors import AltbenchError
from altbench.train import negatives
from altbench.train.config import MPO_WEIGHTS, load_config, plan
from altbench.train.mdpo import ROWS, mdpo_loss
from altbench.train.mpo import RewardShift, mpo_loss, token_mean_nll


def reference_mdpo(pol_c, pol_r, pol_ic, ref_c, ref_r, ref_ic, beta):
    """mDPOTrainer.dpo_loss (luka-group/mDPO, mdpo_trainer.py, reference_free False), term by term: the response
    logits, the image-conditional logits (chosen vs chosen with the corrupted image) and the anchor logits, each
    through its own -log sigmoid(beta * .), summed."""
    response = (pol_c - pol_r) - (ref_c - ref_r)
    image_conditional = (pol_c - pol_ic) - (ref_c - ref_ic)
    anchor = pol_c - ref_c
    return (-F.logsigmoid(beta * response) - F.logsigmoid(beta * image_conditional)
            - F.logsigmoid(beta * anchor))


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_mdpo_loss_matches_the_reference_formula(beta):
    g = torch.Generator().manual_seed(int(beta * 10))
    policy = -60 * torch.rand(3, 32, generator=g, dtype=torch.float64)
    ref = policy + 3 * torch.randn(3, 32, generator=g, dtype=torch.float64)
    ours, logits = mdpo_loss(policy, ref, beta)
    theirs = reference_mdpo(*policy, *ref, beta)
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0), (ours - theirs).abs().max()
    assert set(logits) == {"response", "image_conditional", "anchor"}
    assert ROWS == ("chosen", "rejected", "corrupted_chosen")


def test_mdpo_starts_at_three_ln2_and_rejects_bad_shapes():
    policy = torch.randn(3, 5, dtype=torch.float64)
    losses, logits = mdpo_loss(policy, policy.clone())
    assert all(torch.all(v == 0) for v in logits.values())
    assert torch.allclose(losses, torch.full((5,), 3 * math.log(2), dtype=torch.float64))
    with pytest.raises(ValueError, match="3, batch"):
        mdpo_loss(torch.zeros(2, 4), torch.zeros(2, 4))


class ReferenceRunningMoments:
    """TRL 0.x ``RunningMoments`` (trl/trainer/utils.py) on one process, as its ``bco_pair`` used it (its float32
    cast of the batch moments left out: this test runs in float64)."""

    def __init__(self):
        self.mean, self.var, self.count = 0.0, 1.0, 1e-24

    def update(self, xs):
        xs_count = xs.numel()
        xs_var, xs_mean = torch.var_mean(xs, unbiased=False)
        delta = xs_mean - self.mean
        tot_count = self.count + xs_count
        old_sum = self.var * self.count + delta**2 * self.count * xs_count / tot_count
        self.mean = self.mean + delta * xs_count / tot_count
        self.var = (old_sum + xs_var * xs_count) / tot_count
        self.count = tot_count


def reference_mpo_step(logits, labels, ref_logits, beta, running, weights):
    """InternVL's MultimodalDPOTrainer.get_batch_loss_metrics (internvl/train/trainer_dpo.py) with
    ``loss_type "sigmoid,bco_pair"``, ``sigmoid_loss_weight``, ``bco_pair_loss_weight``, ``rpo_alpha``, on TRL 0.x's
    ``dpo_loss`` and ``get_batch_logps``: batch = [chosen; rejected], summed log-probabilities of the labelled
    tokens, NLL = CrossEntropyLoss of the chosen half."""
    def batch_logps(lg):
        shifted, lab = lg[:, :-1], labels[:, 1:].clone()
        mask = lab != -100
        lab[~mask] = 0
        per_token = torch.gather(shifted.log_softmax(-1), 2, lab.unsqueeze(2)).squeeze(2)
        return (per_token * mask).sum(-1)

    n = labels.shape[0] // 2
    pol, ref = batch_logps(logits), batch_logps(ref_logits)
    pc, pr, rc, rr = pol[:n], pol[n:], ref[:n], ref[n:]
    nll = torch.nn.CrossEntropyLoss()(logits[:n, :-1].reshape(-1, logits.shape[-1]), labels[:n, 1:].reshape(-1))
    sigmoid = -F.logsigmoid(beta * ((pc - pr) - (rc - rr)))
    chosen_logratios, rejected_logratios = pc - rc, pr - rr
    rewards = torch.cat((beta * chosen_logratios, beta * rejected_logratios), 0).mean().detach()
    running.update(rewards)
    delta = running.mean
    bco = -F.logsigmoid(beta * chosen_logratios - delta) - F.logsigmoid(-(beta * rejected_logratios - delta))
    losses = sigmoid * weights["sigmoid"] + bco * weights["bco_pair"]
    losses = losses + nll * weights["sft"]  # rpo_alpha
    return losses.mean()


def ours_mpo_step(logits, labels, ref_logits, beta, shift, weights):
    """The same step through altbench's pieces: per-token log-probabilities as TRL's fused head gives them."""
    def token(lg):
        lab = labels[:, 1:].clone()
        mask = lab != -100
        lab[~mask] = 0
        return torch.gather(lg[:, :-1].log_softmax(-1), 2, lab.unsqueeze(2)).squeeze(2) * mask, mask

    pol_tok, mask = token(logits)
    ref_tok, _ = token(ref_logits)
    pc, pr = pol_tok.sum(1).chunk(2)
    rc, rr = ref_tok.sum(1).chunk(2)
    nll = token_mean_nll(pol_tok.chunk(2)[0], mask.chunk(2)[0])
    delta = shift.update(torch.cat([beta * (pc - rc), beta * (pr - rr)]).mean().item())
    loss, _ = mpo_loss(pc, pr, rc, rr, nll, beta, weights, delta)
    return loss


@pytest.mark.parametrize("weights", [MPO_WEIGHTS, {"sigmoid": 1.0, "bco_pair": 0.5, "sft": 0.1}])
def test_mpo_loss_matches_internvl_over_successive_steps(weights):
    """Five steps, so the reward shift (a running mean over steps) is exercised, with labels masking the prompt
    and padding of different lengths."""
    g = torch.Generator().manual_seed(7)
    running, shift = ReferenceRunningMoments(), RewardShift()
    for step in range(5):
        n, length, vocab = 3, 9, 11
        logits = 4 * torch.randn(2 * n, length, vocab, generator=g, dtype=torch.float64)
        ref_logits = logits + torch.randn(2 * n, length, vocab, generator=g, dtype=torch.float64)
        labels = torch.randint(0, vocab, (2 * n, length), generator=g)
        for row in range(2 * n):  # prompt tokens and right padding are not labelled
            start = 2 + row % 3
            end = length - (row * step) % 3
            labels[row, :start] = -100
            labels[row, end:] = -100
        theirs = reference_mpo_step(logits, labels, ref_logits, 0.1, running, weights)
        ours = ours_mpo_step(logits, labels, ref_logits, 0.1, shift, weights)
        assert abs(float(ours) - float(theirs)) < 1e-6, (step, float(ours), float(theirs))
        assert abs(shift.mean - float(running.mean)) < 1e-12


def test_mpo_starts_at_1_2_ln2_plus_the_nll():
    chosen, rejected = torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    loss, terms = mpo_loss(chosen, rejected, chosen.clone(), rejected.clone(), torch.tensor(5.0, dtype=torch.float64))
    assert float(terms["sigmoid"]) == pytest.approx(math.log(2)) and float(terms["bco_pair"]) == pytest.approx(
        2 * math.log(2))
    assert float(loss) == pytest.approx(0.8 * math.log(2) + 0.2 * 2 * math.log(2) + 5.0, abs=1e-12)
    with pytest.raises(ValueError, match="exactly"):
        mpo_loss(chosen, rejected, chosen, rejected, 0.0, weights={"ipo": 1.0})


def test_reward_shift_is_the_mean_of_the_step_means():
    shift = RewardShift()
    assert [shift.update(v) for v in (1.0, 3.0, -1.0)] == [1.0, 2.0, 1.0]


def test_resized_crop_keeps_one_to_twenty_percent_and_resizes_back():
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        top, left, h, w = negatives.resized_crop_box(336, 336, generator=g)
        assert 0.01 * 336 * 336 * 0.9 <= h * w <= 0.2 * 336 * 336 * 1.1, (h, w)
        assert 3 / 4 - 0.05 <= w / h <= 4 / 3 + 0.05 and top + h <= 336 and left + w <= 336
    assert negatives.resized_crop_box(1, 1000) == (0, 499, 1, 1)  # no try fits: torchvision's central fallback
    pixels = torch.randn(3, 64, 64)
    out = negatives.resized_crop(pixels, generator=torch.Generator().manual_seed(1))
    top, left, h, w = negatives.resized_crop_box(64, 64, generator=torch.Generator().manual_seed(1))
    expected = F.interpolate(pixels[:, top:top + h, left:left + w][None], size=(64, 64), mode="bilinear",
                             align_corners=False, antialias=True)[0]
    assert out.shape == pixels.shape and torch.allclose(out, expected)
    assert torch.equal(negatives.negative_pixels(pixels, "resized_crop", generator=torch.Generator().manual_seed(1)),
                       out)


@pytest.fixture(scope="module")
def tiny_mdpo_trainer(tmp_path_factory):
    pytest.importorskip("trl")
    from altbench.train.data import load_items
    from altbench.train.recipes import build

    items, _ = load_items("demo-train", max_items=4)
    workdir = tmp_path_factory.mktemp("mdpo")
    trainer, _ = build(load_config("baselines/demo-mdpo.yaml", "mdpo"), str(workdir / "out"), items=items,
                       base_dir=str(workdir))
    return trainer


@pytest.mark.parametrize("kind", ["resized_crop", "diffusion", "black", "crop", "rotate", "random"])
def test_mdpo_collator_appends_the_chosen_with_a_corrupted_image(tiny_mdpo_trainer, kind):
    trainer = tiny_mdpo_trainer
    collator = trainer.data_collator
    rows = [trainer.train_dataset[i] for i in range(3)]
    old, collator.kind = collator.kind, kind
    try:
        batch = collator(rows)
    finally:
        collator.kind = old
    n = 3
    assert batch["input_ids"].shape[0] == 3 * n and batch["pixel_values"].shape[0] == 3 * n
    for key in ("input_ids", "attention_mask", "completion_mask"):
        assert torch.equal(batch[key][2 * n:], batch[key][:n]), key  # the chosen tokens again
    assert not torch.equal(batch["input_ids"][:n], batch["input_ids"][n:2 * n])  # chosen vs rejected
    for b in range(n):
        assert torch.equal(batch["pixel_values"][b], batch["pixel_values"][n + b])  # same image, both answers
        assert not torch.equal(batch["pixel_values"][2 * n + b], batch["pixel_values"][b]), kind
    with torch.no_grad():
        out = trainer.model(**{k: batch[k] for k in ("input_ids", "attention_mask", "pixel_values")})
    assert torch.isfinite(out.logits).all()


def test_mpo_without_reward_shift_is_trl_dpotrainer_with_mpo_loss_types(tmp_path):
    """MPOTrainer computes TRL 1.16's sigmoid + bco_pair + sft from the same batch: with the shift off, its loss is
    DPOTrainer's with loss_type [sigmoid, bco_pair, sft] and loss_weights [0.8, 0.2, 1.0]; with the shift on (first
    step: delta = that step's mean reward), the bco_pair term moves by exactly the shift."""
    pytest.importorskip("trl")
    import copy

    from trl import DPOConfig, DPOTrainer

    from altbench.train.data import load_items
    from altbench.train.dpo import dpo_args
    from altbench.train.recipes import build

    items, _ = load_items("demo-train", max_items=4)
    config = load_config("baselines/demo-mpo.yaml", "mpo", bco_reward_shift=False)
    mpo, _ = build(config, str(tmp_path / "mpo"), items=items, base_dir=str(tmp_path))
    with torch.no_grad():  # policy != reference, so every term is non-trivial
        g = torch.Generator().manual_seed(0)
        for p in mpo.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    args = DPOConfig(**{**dpo_args(config, str(tmp_path / "trl")), "loss_type": ["sigmoid", "bco_pair", "sft"]},
                     loss_weights=[0.8, 0.2, 1.0])
    trl_trainer = DPOTrainer(model=copy.deepcopy(mpo.model), ref_model=copy.deepcopy(mpo.ref_model), args=args,
                             train_dataset=mpo.train_dataset, processing_class=mpo.processing_class)
    batch = mpo.data_collator([mpo.train_dataset[i] for i in range(4)])
    mpo.model.train()
    trl_trainer.model.train()
    with torch.no_grad():
        ours = mpo.compute_loss(mpo.model, batch)
        theirs = trl_trainer.compute_loss(trl_trainer.model, batch)
        assert float(ours) == pytest.approx(float(theirs), abs=1e-5)
        mpo.args.bco_reward_shift = True
        shifted = mpo.compute_loss(mpo.model, batch)
    metrics = mpo._metrics["train"]
    delta = (metrics["rewards/chosen"][-1] + metrics["rewards/rejected"][-1]) / 2
    assert mpo.reward_shift.count == 1 and mpo.reward_shift.mean == pytest.approx(delta, abs=1e-6)
    assert metrics["bco_delta"][-1] == pytest.approx(delta, abs=1e-6) and abs(delta) > 1e-4
    bco_shifted, bco_plain = metrics["loss/bco_pair"][-1], metrics["loss/bco_pair"][-2]
    assert float(shifted) - float(ours) == pytest.approx(0.2 * (bco_shifted - bco_plain), abs=1e-5)


def test_mdpo_and_mpo_configs_are_the_references_settings():
    mdpo = load_config("baselines/mdpo.yaml", "mdpo")  # luka-group/mDPO bunny/config.yaml
    assert (mdpo.learning_rate, mdpo.num_train_epochs, mdpo.effective_batch) == (1e-5, 3, 32)
    assert (mdpo.warmup_ratio, mdpo.weight_decay, mdpo.adam_beta2, mdpo.beta) == (0.1, 0.05, 0.98, 0.1)
    assert mdpo.lora["r"] == 64 and mdpo.lora["alpha"] == 128 and mdpo.negative_image == "resized_crop"
    resolved = plan(mdpo, 10_000)
    assert resolved["sequences per pair"] == 3 and "LoRA adapters disabled" in resolved["reference model"]
    assert resolved["optimizer steps"] == 3 * math.ceil(10_000 / 32)
    mpo = load_config("baselines/mpo.yaml", "mpo")  # InternVL2.5-8B-MPO's script
    assert (mpo.learning_rate, mpo.num_train_epochs, mpo.effective_batch) == (1e-6, 1, 256)
    assert (mpo.warmup_ratio, mpo.weight_decay, mpo.beta, mpo.bco_reward_shift) == (0.03, 0.05, 0.1, True)
    assert mpo.mpo_weights == {"sigmoid": 0.8, "bco_pair": 0.2, "sft": 1.0} and mpo.train_vision_tower
    assert plan(mpo, 10_000)["loss"].startswith("MPO, beta 0.1: 0.8 sigmoid (DPO) + 0.2 bco_pair (delta")
    assert load_config(None, "mcmdpo").negative_image == "diffusion"  # each recipe's own reference default
    assert load_config(None, "mdpo").negative_image == "resized_crop"
    for bad in ({"sigmoid": 1.0}, [0.8, 0.2, 1.0]):
        with pytest.raises(AltbenchError, match="mpo_weights needs exactly"):
            load_config(None, "mpo", mpo_weights=bad)
    with pytest.raises(AltbenchError, match="mpo_weights must be numbers"):
        load_config(None, "mpo", mpo_weights={"sigmoid": "high", "bco_pair": 0.2, "sft": 1.0})
    with pytest.raises(AltbenchError, match="adam_beta2"):
        load_config(None, "mdpo", adam_beta2=1.5)


def test_mdpo_and_mpo_configs_refuse_options_their_loss_ignores(tmp_path):
    pytest.importorskip("trl")
    from altbench.models.hf_files import ensure_torchvision

    ensure_torchvision()
    from altbench.train.mdpo import MDPOConfig
    from altbench.train.mpo import MPOConfig

    common = {"output_dir": str(tmp_path), "remove_unused_columns": False, "report_to": "none", "bf16": False}
    assert MPOConfig(**common).mpo_weights == MPO_WEIGHTS  # DPOConfig's default loss becomes MPO's
    MDPOConfig(**common)
    for cls in (MDPOConfig, MPOConfig):
        with pytest.raises(ValueError, match="label_smoothing"):
            cls(**common, label_smoothing=0.1)
    with pytest.raises(ValueError, match="loss_type"):
        MDPOConfig(**common, loss_type=["ipo"])
    with pytest.raises(ValueError, match="MPO is loss_type"):
        MPOConfig(**common, loss_type=["sigmoid", "ipo"], loss_weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="negative_image"):
        MDPOConfig(**common, negative_image="blur")
