"""``altbench run``: split -> adapter -> predictions.jsonl -> scores.jsonl + results.json, resumable.

A run lives in a folder keyed by a fingerprint of everything that changes its predictions (model entry and
arguments, adapter settings, split content hash, seed). Re-running the same command finds the folder,
keeps every prediction already written and generates only the rest; a run with other settings gets another
folder, or is refused if ``--out`` points at a folder of a different run. One process writes a run folder
at a time (:mod:`altbench.run.lock`): a second run of the same folder is refused while the first holds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.data.images import ImageLoadError, load_image
from altbench.data.items import Item
from altbench.data.splits import Split, load_split
from altbench.errors import AltbenchError
from altbench.executor import Executor
from altbench.io import write_json_atomic
from altbench.models.base import Adapter, Generation
from altbench.models.registry import REGISTRY, ModelEntry
from altbench.results import RunResults, Scoring, load_run
from altbench.results.model import short_model_name
from altbench.run import predictions as pred_store
from altbench.run.lock import hold_run_folder
from altbench.run.results import key_for, store_scoring, utc_now
from altbench.run.scoring import check_model_metrics, conventions_for, score_split, warm_up_tasks
from altbench.stats import defaults

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class RunConfig:
    model: str
    split: str
    model_args: dict[str, Any] = field(default_factory=dict)
    data_root: Path | None = None
    images: Path | None = None
    limit: int | None = None
    batch_size: int = 8
    seed: int = defaults.SEED
    convention: str = "paper"
    out: Path | None = None
    runs_root: Path = Path("runs")
    resamples: int = defaults.RESAMPLES
    metrics: tuple[str, ...] = ()  # model-based metrics by name (clipscore, refclipscore, bertscore, judge)
    metric_args: dict[str, Any] = field(default_factory=dict)  # {"clipscore": {"model": PATH}, ...}
    # the share of items that may go unscored (failed, missing) before the run counts as failed; a run that
    # scored nothing always does. The run reports it (RunOutcome.shortfall); the CLI turns it into exit 5.
    max_failure_rate: float = 1.0
    name: str | None = None  # display name; provenance, not identity (None: the recorded one, else a default)
    # a probe (altbench.probes): maps each batch's (items, images) to the probed ones before generation, and
    # extends the fingerprint with its settings (see altbench.probes.counterfactuals.Counterfactual)
    counterfactual: Any = None
    jobs: int | None = 1  # worker processes of the scoring (altbench.executor; None: the usable cores)


@dataclass
class RunOutcome:
    """run: every scoring of the run folder; scoring: the one this invocation made.

    max_failure_rate: the run's limit (:attr:`RunConfig.max_failure_rate`), which :attr:`shortfall` checks.
    """

    run_dir: Path
    run: RunResults
    scoring: Scoring
    generated: int
    resumed: int
    max_failure_rate: float = 1.0

    @property
    def results(self) -> dict[str, Any]:
        """This invocation's scoring with the run header, flat (see :meth:`RunResults.flat`)."""
        return self.run.flat(self.scoring)

    @property
    def shortfall(self) -> str | None:
        """Why this run does not count as done (nothing scored, or more items unscored than
        ``max_failure_rate`` allows), or None. Its results are written all the same."""
        return self.scoring.shortfall(self.max_failure_rate)

    @property
    def ok(self) -> bool:
        """Something was scored and the unscored share is within ``max_failure_rate``."""
        return self.shortfall is None


def fingerprint(entry_name: str, target: str, args: dict, adapter: Adapter, split: Split, seed: int) -> dict:
    return {"model": entry_name, "target": target, "args": args, "adapter": adapter.fingerprint(),
            "split": split.name, "split_sha256": split.sha256(), "seed": seed}


def run_id(fp: dict) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def run(config: RunConfig, progress: Progress | None = None, executor: Executor | None = None,
        model: tuple[ModelEntry, Adapter] | None = None) -> RunOutcome:
    """Generate what the run folder lacks, then score. ``executor``: the command's worker processes for the
    scoring (default: ``config.jobs`` of them, started for the scoring only). ``model``: the entry and adapter
    that ``REGISTRY.create(config.model, config.model_args)`` gives, already made (the probes of a run share
    one, so that the weights are loaded once, not once per probe)."""
    conventions_for(config.convention)  # fail on a bad convention before any generation
    check_model_metrics(config.metrics, config.metric_args)  # ... or a model metric that cannot run
    if config.batch_size < 1:
        raise AltbenchError(f"batch_size must be at least 1, got {config.batch_size}")  # the CLI checks its own
    check_failure_rate(config.max_failure_rate)
    split = load_split(config.split, config.data_root, config.images)
    items = list(split.items[: config.limit] if config.limit is not None else split.items)
    shard = Shard.from_env()
    entry, adapter = model if model is not None else REGISTRY.create(config.model, config.model_args)
    adapter.prepare(split.name, config.data_root)
    fp = fingerprint(entry.name, entry.target, {**entry.args, **config.model_args}, adapter, split, config.seed)
    if config.counterfactual is not None:
        fp = config.counterfactual.fingerprint(fp)
    rid = run_id(fp)
    run_dir = config.out or config.runs_root / _slug(entry.name) / f"{_slug(split.name)}-{rid}"
    with contextlib.ExitStack() as held:
        if shard.main:  # one writer per folder; the other ranks of a launch work under their main rank's lock
            _check_owner(run_dir, fp, rid)  # a folder of another run is refused before anything is written
            held.enter_context(hold_run_folder(run_dir))
        return _generate_and_score(config, progress, split, items, shard, entry, adapter, fp, rid, run_dir,
                                   executor)


def check_failure_rate(rate: float) -> None:
    if not 0 <= rate <= 1:
        raise AltbenchError(f"max_failure_rate must be between 0 and 1, got {rate}")


def _generate_and_score(config: RunConfig, progress: Progress | None, split: Split, items: list[Item],
                        shard: Shard, entry: ModelEntry, adapter: Adapter, fp: dict, rid: str, run_dir: Path,
                        executor: Executor | None) -> RunOutcome:
    pred_path = run_dir / "predictions.jsonl"
    provenance = {"environment": adapter.environment(), "name": config.name,
                  "default_name": short_model_name(entry.name),
                  "data": split.location.to_dict() if split.location else None}
    if shard.main:
        display_name = _claim(run_dir, fp, rid, **provenance)
        cut = pred_store.repair_tail(pred_path)
        if cut:
            log.warning("removed a partial last line (%d bytes) from %s left by an interrupted run", cut, pred_path)
        shard.merge(run_dir, pred_path, items)  # rank files an interrupted distributed run left
    shard.barrier()
    if not shard.main:
        display_name = _claim(run_dir, fp, rid, **provenance)
    started = utc_now()

    done = pred_store.read(pred_path) if pred_path.exists() else {}
    todo = [it for it in items if it.id not in done or done[it.id].error is not None]
    resumed = len(items) - len(todo)
    mine, out_path = shard.part(todo), shard.output(run_dir, pred_path)
    if mine and shard.main and "coco" in conventions_for(config.convention):
        _warm_up_meteor()
    for start in range(0, len(mine), config.batch_size):
        batch = mine[start : start + config.batch_size]
        pred_store.append(out_path, _generate_batch(adapter, batch, config.counterfactual, run_dir))
        if progress:
            progress(resumed + start + len(batch), resumed + len(mine))
    shard.barrier()
    ids = [it.id for it in items]
    settings = {"evaluated_ids": ids, "convention": config.convention, "seed": config.seed,
                "resamples": config.resamples, "limit": config.limit, "model_metrics": config.metrics,
                "metric_args": config.metric_args}
    if not shard.main:  # the main process merges, scores and writes; the others return its results
        shard.barrier()
        run_results = load_run(run_dir)
        scoring = run_results.scorings[key_for(split, **settings)]  # settings hold evaluated_ids
        return RunOutcome(run_dir, run_results, scoring, generated=len(mine), resumed=resumed,
                          max_failure_rate=config.max_failure_rate)
    shard.merge(run_dir, pred_path, items)

    records = pred_store.read(pred_path) if pred_path.exists() else {}
    with contextlib.ExitStack() as scope:
        if executor is None:
            executor = scope.enter_context(Executor(config.jobs, warm_up_tasks(conventions_for(config.convention))))
        scored = score_split(split, records, config.convention, ids, resamples=config.resamples, seed=config.seed,
                             metrics=config.metrics, metric_args=config.metric_args, executor=executor)
    run_results, scoring = store_scoring(
        run_dir, run_id=rid, split=split, scored=scored, started=started, **settings,
        model={"name": entry.name, "target": entry.target, "fingerprint": fp, "display_name": display_name})
    shard.barrier()
    return RunOutcome(run_dir, run_results, scoring, generated=len(mine), resumed=resumed,
                      max_failure_rate=config.max_failure_rate)


@dataclass(frozen=True)
class Shard:
    """This process's share of a run under ``accelerate launch`` / ``torchrun`` (one process: the whole run).

    Each of the ``world`` processes generates every ``world``-th remaining item into
    ``predictions.rank{R}.jsonl``; after a barrier the main process appends those lines to
    ``predictions.jsonl`` in split order (skipping ids it already holds, so a re-merge after a kill adds
    nothing twice), deletes the rank files, and scores. torch and accelerate are imported only when
    ``WORLD_SIZE`` > 1.
    """

    rank: int = 0
    world: int = 1
    state: Any = None

    @classmethod
    def from_env(cls) -> Shard:
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return cls()
        from datetime import timedelta

        import torch
        from accelerate import PartialState

        # without a GPU, accelerate only joins the processes (gloo) when told cpu=True; else each is alone
        state = PartialState(cpu=not torch.cuda.is_available(), timeout=timedelta(hours=48))  # slowest shard
        return cls(state.process_index, state.num_processes, state)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.state is not None:
            self.state.wait_for_everyone()

    def part(self, todo: list[Item]) -> list[Item]:
        return todo[self.rank :: self.world]

    def output(self, run_dir: Path, pred_path: Path) -> Path:
        if self.state is None:
            return pred_path
        path = run_dir / f"predictions.rank{self.rank}.jsonl"
        pred_store.repair_tail(path)
        return path

    @staticmethod
    def merge(run_dir: Path, pred_path: Path, items: Sequence[Item]) -> None:
        parts = sorted(run_dir.glob("predictions.rank*.jsonl"))
        if not parts:
            return
        done = pred_store.read(pred_path) if pred_path.exists() else {}
        lines: dict[str, str] = {}
        for part in parts:
            pred_store.repair_tail(part)
            for line in part.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    lines[str(json.loads(line)["id"])] = line
        order = {it.id: i for i, it in enumerate(items)}
        new = [i for i in sorted(lines, key=lambda i: order.get(i, len(order)))
               if not (i in done and done[i].error is None)]
        if new:
            pred_store.append_bytes(pred_path, "".join(lines[i] + "\n" for i in new).encode("utf-8"))
        for part in parts:
            part.unlink()


def _check_owner(run_dir: Path, fp: dict, rid: str) -> bool:
    """Whether ``run_dir`` already belongs to this very run (False: no run there yet); refuses a folder of
    another run, or one that cannot be told."""
    meta_path = run_dir / "run.json"
    if meta_path.exists():
        try:
            existing = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise AltbenchError(f"{meta_path} is unreadable; remove the folder or choose another --out") from None
        if existing.get("run_id") != rid:
            old = existing.get("fingerprint", {})
            changed = sorted(k for k in set(old) | set(fp) if old.get(k) != fp.get(k))
            raise AltbenchError(f"{run_dir} holds a different run (changed: {', '.join(changed) or '?'}); "
                                "choose another --out or delete that folder")
        return True
    if (run_dir / "predictions.jsonl").exists():
        raise AltbenchError(f"{run_dir} has predictions but no run.json; choose another --out")
    return False


def _claim(run_dir: Path, fp: dict, rid: str, environment: dict[str, Any], name: str | None, default_name: str,
           data: dict[str, str] | None) -> str:
    """Create the run folder, or check that an existing one belongs to this very run; returns its display name.

    The libraries generation runs on, the display name and where the split's data was found are provenance,
    not identity: recorded in run.json beside the fingerprint, never hashed into the run id. A re-run records
    a new ``name`` or data location (the latest wins); without ``name`` the recorded one stays.
    """
    meta_path = run_dir / "run.json"
    if _check_owner(run_dir, fp, rid):
        existing = json.loads(meta_path.read_text(encoding="utf-8"))
        updated = {**existing, "name": name or existing.get("name") or default_name}
        if data:
            updated["data"] = data
        if updated != existing:
            write_json_atomic(meta_path, updated)
        return str(updated["name"])
    meta = {"run_id": rid, "fingerprint": fp, "name": name or default_name, "environment": environment,
            "created": utc_now()}
    if data:
        meta["data"] = data
    write_json_atomic(meta_path, meta)
    return str(meta["name"])


def _warm_up_meteor() -> None:
    """Get METEOR 1.5 ready while the model generates: its paraphrase-table index (built once per table) or,
    with ``ALTBENCH_METEOR_TABLE=full``, the JVM that loads the full table (8-20 s)."""
    from altbench.metrics.coco import meteor as coco_meteor

    try:
        coco_meteor.warm_up()
    except Exception:  # no Java: scoring reports it with the proper one-line error
        log.debug("METEOR warm-up failed", exc_info=True)


def _generate_batch(adapter: Adapter, batch: Sequence[Item], counterfactual: Any = None,
                    run_dir: Path | None = None) -> list[Generation]:
    """Generations for a batch; an unreadable image or an adapter error fails items, not the run.

    A ``counterfactual`` (a probe) replaces the loaded batch by the probed one just before generation; an
    adapter that reads image files itself (``reads_image_files``) gets the probed images as files."""
    failed: dict[str, Generation] = {}
    ready: list[Item] = []
    images: list[Any] = []
    for item in batch:
        if adapter.uses_images:
            try:
                images.append(load_image(item))
            except ImageLoadError as exc:
                failed[item.id] = Generation(item.id, None, error=str(exc))
                continue
        ready.append(item)
    outputs: dict[str, Generation] = {}
    if ready and counterfactual is not None:
        files = run_dir / "images" if run_dir is not None and adapter.reads_image_files else None
        ready, probed = counterfactual.apply(ready, images if adapter.uses_images else None, files)
        images = probed if probed is not None else images
    if ready:
        try:
            gens = adapter.generate(ready, images if adapter.uses_images else None)
        except AltbenchError:
            raise
        except Exception as exc:  # a model crash fails this batch's items, which a re-run retries
            log.exception("adapter failed on a batch of %d items", len(ready))
            gens = [Generation(it.id, None, error=f"{type(exc).__name__}: {exc}") for it in ready]
        if [g.item_id for g in gens] != [it.id for it in ready]:
            raise AltbenchError(f"adapter {type(adapter).__name__} returned generations for other items "
                                "than it was given (a bug in the adapter)")
        outputs = {g.item_id: g for g in gens}
    return [failed.get(item.id) or outputs[item.id] for item in batch]
