"""``AltbenchEvalCallback``: score the model being trained on an altbench split every N steps.

A transformers ``TrainerCallback`` (so it works with TRL's ``SFTTrainer`` / ``DPOTrainer`` too). Every
``every_n_steps`` optimizer steps it wraps the in-memory model and processor in altbench's transformers
adapter (the same batched, left-padded generation as ``altbench run``; the model is not saved or reloaded),
generates alt-text for the split, scores it as ``altbench score`` does, and logs every metric through
``trainer.log``: into ``state.log_history`` and to every logger ``report_to`` set up (TensorBoard, W&B...),
as ``altbench/<metric key>`` (``altbench/paper/rougeL``). Each scoring is also kept in :attr:`history`.

The model is put back in the mode it was in, and the tokenizer's padding side restored (generation pads
left, training collators may pad right). Evaluation runs on the main process only; do not use it with a
model sharded across processes (FSDP, ZeRO-3), which needs every process to generate.

torch and transformers are imported by the adapter, not here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from altbench.errors import AltbenchError, MissingResourceError
from altbench.stats import defaults


def _trainer_callback_base() -> type:
    """transformers' ``TrainerCallback`` (the trainer calls every one of its events), or ``object`` when the
    train extra is absent (then the callback refuses to be built, saying what to install)."""
    try:  # transformers imports torchvision, whose C++ ops cannot load beside a CPU-only torch (torch_compat)
        from altbench.torch_compat import import_torchvision

        import_torchvision()
    except ImportError:
        pass  # no torchvision: transformers does without it
    try:
        from transformers import TrainerCallback
    except ImportError:
        return object
    return TrainerCallback


TrainerCallback = _trainer_callback_base()

PREFIX = "altbench/"


class AltbenchEvalCallback(TrainerCallback):  # type: ignore[misc]
    """Evaluate on ``split`` every ``every_n_steps`` steps and log the metrics to the trainer's loggers.

    split:          split name or path (as ``altbench run --split``), or a resolved :class:`Split`.
    every_n_steps:  evaluate when ``state.global_step`` is a multiple of it (and at the end with ``at_end``).
    trainer:        the trainer whose ``log`` receives the metrics; or call :meth:`attach` (which also adds the
                    callback to the trainer).
    processor:      default: the trainer's ``processing_class``.
    limit:          only the first N items of the split.
    convention:     ``paper``, ``coco`` or ``both``; ``resamples`` / ``seed``: the bootstrap of the CIs.
    generation:     adapter options (``max_new_tokens``, ``num_beams``, ``prompt``...; see the HF adapters).
    batch_size:     items per generate call.
    keys:           metric keys to log (default: every metric, diagnostics included).
    data_root, images: where the split's data is (as ``--data-root`` / ``--images``).
    """

    def __init__(self, split: Any = "demo", every_n_steps: int = 100, *, trainer: Any = None,
                 processor: Any = None, limit: int | None = None, convention: str = "paper",
                 resamples: int = defaults.RESAMPLES, seed: int = defaults.SEED, generation: Mapping[str, Any] | None = None,
                 batch_size: int = 8, keys: Sequence[str] | None = None, at_end: bool = True,
                 data_root: str | Path | None = None, images: str | Path | None = None) -> None:
        from altbench.run.scoring import conventions_for

        if TrainerCallback is object:
            raise MissingResourceError("AltbenchEvalCallback needs transformers: pip install 'altbench[train]'")
        if every_n_steps < 1 or batch_size < 1:
            raise AltbenchError("AltbenchEvalCallback: every_n_steps and batch_size must be at least 1")
        conventions_for(convention)
        self.split_spec = split
        self.every_n_steps = int(every_n_steps)
        self.trainer = trainer
        self.processor = processor
        self.limit = limit
        self.convention = convention
        self.resamples = int(resamples)
        self.seed = int(seed)
        self.generation = dict(generation or {})
        self.batch_size = int(batch_size)
        self.keys = list(keys) if keys is not None else None
        self.at_end = at_end
        self.data_root = Path(data_root) if data_root is not None else None
        self.images = Path(images) if images is not None else None
        self.history: list[tuple[int, Any]] = []  # (global step, Scoring)
        self._split: Any = None
        self._last_step = -1

    def attach(self, trainer: Any) -> AltbenchEvalCallback:
        """Log through ``trainer`` and add this callback to it; returns the callback."""
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    # -- TrainerCallback events ---------------------------------------------------------------------------

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step % self.every_n_steps == 0:
            self._evaluate(state, control, kwargs)
        return control

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.at_end:
            self._evaluate(state, control, kwargs)
        return control

    # -- evaluation ---------------------------------------------------------------------------------------

    def split(self) -> Any:
        """The resolved split (loaded once)."""
        if self._split is None:
            from altbench.data.splits import Split, load_split

            spec = self.split_spec
            self._split = spec if isinstance(spec, Split) else load_split(str(spec), self.data_root, self.images)
        return self._split

    def _evaluate(self, state: Any, control: Any, kwargs: Mapping[str, Any]) -> None:
        if state.global_step == self._last_step or not getattr(state, "is_world_process_zero", True):
            return
        self._last_step = state.global_step
        if self.trainer is None:
            raise AltbenchError("AltbenchEvalCallback needs the trainer to log through: pass trainer= or use "
                                "AltbenchEvalCallback(...).attach(trainer)")
        model = kwargs.get("model")
        model = self.trainer.model if model is None else model
        processor = next((p for p in (self.processor, kwargs.get("processing_class"),
                                      getattr(self.trainer, "processing_class", None)) if p is not None), None)
        if processor is None:
            raise AltbenchError("AltbenchEvalCallback: no processor (pass processor= or give the trainer one)")
        scoring = evaluate_model(model, processor, self.split(), limit=self.limit, convention=self.convention,
                                 resamples=self.resamples, seed=self.seed, generation=self.generation,
                                 batch_size=self.batch_size)
        self.history.append((state.global_step, scoring))
        logs = {f"{PREFIX}{k}": m.value for k, m in scoring.metrics.items()
                if m.value is not None and (self.keys is None or k in self.keys)}
        logs[f"{PREFIX}failed"] = float(scoring.counts.get("failed", 0))
        self._log(logs, control)

    def _log(self, logs: dict[str, float], control: Any) -> None:
        """``Trainer.log`` itself: into ``state.log_history`` and every callback's ``on_log`` (the report_to
        loggers). Two things are kept as they were: the step's own loss log (``Trainer.log`` clears
        ``control.should_log``, which the trainer reads after ``on_step_end``), and a subclass's buffered
        training metrics (TRL's ``log`` override would fold its entropy/accuracy averages into this entry,
        so the base method is called)."""
        import transformers

        should_log = getattr(control, "should_log", None)
        if isinstance(self.trainer, transformers.Trainer):
            transformers.Trainer.log(self.trainer, logs)
        else:
            self.trainer.log(logs)
        if should_log is not None:
            control.should_log = should_log


def adapter_class(model: Any) -> type:
    """altbench's adapter class for the model's architecture (LLaVA, Qwen-VL, Idefics3; else the generic)."""
    from altbench.models.hf_base import HFVisionAdapter
    from altbench.models.idefics import Idefics3Adapter
    from altbench.models.llava import LlavaAdapter
    from altbench.models.qwen_vl import QwenVLAdapter

    model_type = getattr(getattr(model, "config", None), "model_type", "")
    by_type = {"llava": LlavaAdapter, "llava_next": LlavaAdapter, "qwen2_vl": QwenVLAdapter,
               "qwen2_5_vl": QwenVLAdapter, "idefics3": Idefics3Adapter}
    return by_type.get(model_type, HFVisionAdapter)


def in_memory_adapter(model: Any, processor: Any, folder: Path, **options: Any) -> Any:
    """An altbench adapter around an already loaded ``model`` and ``processor`` (nothing is read from disk).

    The adapter class's ``load`` hook is overridden to hand back the given objects; ``folder`` only holds
    the model's config, which the adapter's checkpoint check reads.
    """
    base = adapter_class(model)

    class InMemory(base):  # type: ignore[misc,valid-type]
        def load(self, source: str, dtype: Any) -> tuple[Any, Any]:
            self.architecture = getattr(model.config, "model_type", "unknown")
            return model, processor

    model.config.save_pretrained(str(folder))
    dtype = str(getattr(model, "dtype", "float32")).replace("torch.", "")
    settings: dict[str, Any] = {"device": str(model.device), "dtype": dtype, **options}
    if base.__name__ == "LlavaAdapter":
        settings.setdefault("image_mode", "native")  # the processor as trained, not the paper's re-padding
    return InMemory(path=str(folder), **settings)


def evaluate_model(model: Any, processor: Any, split: Any, *, limit: int | None = None, convention: str = "paper",
                   resamples: int = defaults.RESAMPLES, seed: int = defaults.SEED, generation: Mapping[str, Any] | None = None,
                   batch_size: int = 8) -> Any:
    """Generate with an in-memory model on ``split`` and score it; returns the :class:`Scoring` (rows set).

    An unreadable image or a failed generation fails its item, as in ``altbench run``.
    """
    from altbench.data.images import ImageLoadError, load_image
    from altbench.run.predictions import PredictionRecord
    from altbench.run.results import to_scoring, utc_now
    from altbench.run.scoring import score_split

    started = utc_now()
    items = list(split.items[:limit] if limit is not None else split.items)
    tokenizer = getattr(processor, "tokenizer", processor)
    padding_side, pad_token, was_training = tokenizer.padding_side, tokenizer.pad_token, model.training
    records: dict[str, PredictionRecord] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="altbench-callback-") as folder:
            adapter = in_memory_adapter(model, processor, Path(folder), **dict(generation or {}))
            for start in range(0, len(items), batch_size):
                ready, images = [], []
                for item in items[start : start + batch_size]:
                    try:
                        images.append(load_image(item))
                        ready.append(item)
                    except ImageLoadError as exc:
                        records[item.id] = PredictionRecord(item.id, None, str(exc))
                if ready:
                    for gen in adapter.generate(ready, images):
                        records[gen.item_id] = PredictionRecord(gen.item_id, gen.prediction, gen.error)
    finally:
        tokenizer.padding_side = padding_side
        tokenizer.pad_token = pad_token
        model.train(was_training)
    ids = [it.id for it in items]
    scored = score_split(split, records, convention, ids, resamples=resamples, seed=seed)
    scoring, rows = to_scoring(scored, split=split, evaluated_ids=ids, convention=convention, seed=seed,
                               resamples=resamples, started=started, limit=limit)
    scoring.set_rows(rows)
    return scoring
