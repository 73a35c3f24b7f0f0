"""AltbenchEvalCallback during a tiny SFT run: metrics every N steps in log_history and the loggers, equal to
`altbench run` on the saved checkpoint."""

import pytest

torch = pytest.importorskip("torch", reason="the callback needs the train extra (torch)")

from altbench.torch_compat import import_torchvision

import_torchvision()  # transformers imports torchvision, whose C++ ops cannot load beside a CPU-only torch
transformers = pytest.importorskip("transformers", reason="the callback needs the train extra")
pytest.importorskip("trl", reason="the callback test trains with TRL's SFTTrainer")

from click.testing import CliRunner

import altbench
from altbench.cli import cli
from altbench.errors import AltbenchError
from altbench.train.callback import AltbenchEvalCallback, evaluate_model

EVAL = {"limit": 4, "batch_size": 4, "resamples": 200, "generation": {"max_new_tokens": 8}}


@pytest.fixture(autouse=True)
def one_thread(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class Recorder(transformers.TrainerCallback):
    """Stands in for a report_to logger: records what the trainer's on_log hands every callback."""

    def __init__(self):
        self.logs = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append((state.global_step, dict(logs or {})))


def tiny_sft(tmp_path, steps=4):
    from altbench.train.config import load_config
    from altbench.train.data import load_items
    from altbench.train.recipes import build

    items, _ = load_items("demo-train", max_items=8, need_pairs=False)
    config = load_config("baselines/demo-sft.yaml", "sft", max_steps=steps, logging_steps=1,
                         per_device_train_batch_size=4, warmup_ratio=0.0, lr_scheduler_type="constant")
    trainer, _ = build(config, str(tmp_path / "out"), items=items, base_dir=str(tmp_path))
    return trainer


def test_callback_logs_metrics_every_n_steps_through_the_trainer(tmp_path):
    trainer = tiny_sft(tmp_path)
    recorder = Recorder()
    trainer.add_callback(recorder)
    side = trainer.processing_class.tokenizer.padding_side
    cb = AltbenchEvalCallback("demo", every_n_steps=2, **EVAL).attach(trainer)
    trainer.train()

    evals = [h for h in trainer.state.log_history if "altbench/paper/rougeL" in h]
    assert [h["step"] for h in evals] == [2, 4]  # every 2 steps; the end (step 4) is not scored twice
    assert [s for s, _ in cb.history] == [2, 4]
    for h, (_, scoring) in zip(evals, cb.history):
        assert h["altbench/paper/rougeL"] == scoring.metrics["paper/rougeL"].value
        assert h["altbench/failed"] == 0.0 and scoring.counts["scored"] == 4
        assert "altbench/diag/length_chars" in h
        assert "entropy" not in h and "loss" not in h  # the trainer's own step metrics stay in its loss log
    # the loggers (report_to integrations are callbacks like this one) received the same dicts
    logged = [(step, logs) for step, logs in recorder.logs if "altbench/paper/rougeL" in logs]
    assert [step for step, _ in logged] == [2, 4]
    assert logged[-1][1]["altbench/paper/bleu4"] == evals[-1]["altbench/paper/bleu4"]
    # training went on normally: a loss every step, the model back in training mode, padding side restored
    assert len([h for h in trainer.state.log_history if "loss" in h]) == 4
    assert trainer.processing_class.tokenizer.padding_side == side

    # the last evaluation equals `altbench run` on the saved checkpoint (same generation, same scorer; float32
    # as the trainer's model, which `altbench run` would load as bfloat16 on a GPU)
    out = tmp_path / "ckpt"
    trainer.save_model(str(out))
    trainer.processing_class.save_pretrained(str(out))
    res = CliRunner().invoke(cli, ["run", "--model", str(out), "--split", "demo", "--limit", "4",
                                   "--model-arg", "max_new_tokens=8", "--model-arg", "dtype=float32", "--out", str(tmp_path / "run"),
                                   "--resamples", "200", "--batch-size", "4"])
    assert res.exit_code == 0, res.output
    run = altbench.load_run(tmp_path / "run")
    last = cb.history[-1][1]
    assert {k: m.value for k, m in run.headline.metrics.items()} == {k: m.value for k, m in last.metrics.items()}
    again = evaluate_model(trainer.model, trainer.processing_class, cb.split(), **EVAL)
    assert again.metrics == last.metrics  # deterministic: the same model scored again gives the same numbers


def test_callback_without_trainer_says_how_to_attach(tmp_path):
    cb = AltbenchEvalCallback("demo", every_n_steps=1, limit=1)

    class State:
        global_step = 1
        is_world_process_zero = True

    with pytest.raises(AltbenchError, match="attach"):
        cb.on_step_end(None, State(), None, model=None)
    with pytest.raises(AltbenchError, match="at least 1"):
        AltbenchEvalCallback("demo", every_n_steps=0)
