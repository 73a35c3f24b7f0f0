"""``altbench probe RUN``: regenerate a run under counterfactual inputs, then measure what moved.

Each probe of run ``R`` is itself a run folder, ``R/probes/<probe>/``, made by the ordinary runner
(:func:`altbench.run.runner.run`) with a :class:`~altbench.probes.counterfactuals.Counterfactual` on its
config: same model, arguments, seed, split, items and scoring convention as ``R``, predictions appended batch
by batch, resumable after a kill, sharded under ``accelerate launch``, failures counted. Its fingerprint is
``R``'s plus the probe's settings, so a changed setting never resumes into stale output.

Then :func:`measure` compares each probe run with ``R`` item by item and writes ``R/probes.json``
(:mod:`altbench.probes.results`): the metrics by the analysis engine of ``altbench compare`` (original minus
probe), and two reference-free numbers from the outputs alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from altbench.data.location import DataLocation, recorded_location
from altbench.errors import AltbenchError, DataError
from altbench.executor import Executor
from altbench.probes.counterfactuals import DESCRIPTIONS, PROBES, Counterfactual
from altbench.probes.results import (
    PROBES_DIR,
    PROBES_FILE,
    RELIANCE_PROBES,
    Estimate,
    ProbeMetric,
    ProbeReport,
    ProbeResult,
    Reliance,
    read_probes,
)
from altbench.results import RunResults
from altbench.results.store import read_json, resolve
from altbench.stats import defaults
from altbench.tasks import Starmap

log = logging.getLogger(__name__)

SWAPS_FILE = "swaps.json"  # context-swap: item id -> the id of the item whose context it got

Progress = Callable[[str, int, int], None]  # (probe, done, total)


def parse_probes(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"context-swap,image-noise"``, ``"all"`` or a list -> probe names in the documented order."""
    if spec is None:
        return PROBES
    parts = [spec] if isinstance(spec, str) else list(spec)
    names = [p.strip() for part in parts for p in str(part).split(",") if p.strip()]
    if not names or "all" in names:
        return PROBES
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise AltbenchError(f"unknown probe {unknown[0]!r}; choose from {', '.join(PROBES)} or all")
    return tuple(p for p in PROBES if p in names)


@dataclass(frozen=True)
class ProbeSettings:
    """How probes are made and measured (the policy fields are those of ``altbench compare``)."""

    seed: int = defaults.SEED  # the probes' seed: derangement and noise
    resamples: int = defaults.RESAMPLES
    trials: int = defaults.TRIALS
    level: float = defaults.LEVEL
    alpha: float = defaults.ALPHA
    batch_size: int = 8
    data_root: Path | None = None
    images: Path | None = None
    jobs: int | None = 1  # worker processes (altbench.executor; None: the usable cores); changes no number

    def policy(self):
        from altbench.stats.engine import Policy

        return Policy(resamples=self.resamples, trials=self.trials, seed=self.seed, level=self.level,
                      alpha=self.alpha)


@dataclass(frozen=True)
class ProbedRun:
    """What ``R`` says about how to regenerate it."""

    folder: Path
    results: RunResults
    fingerprint: dict[str, Any]
    split_arg: str  # what load_split takes: a split name, or the file / hf spec the run was made on
    data_root: Path | None
    images: Path | None


def probed_run(run_dir: Path | str, settings: ProbeSettings) -> ProbedRun:
    from altbench.data.splits import SPLITS
    from altbench.results import load_run

    folder, _ = resolve(Path(run_dir))
    meta_path = folder / "run.json"
    if not meta_path.is_file():
        raise DataError(f"{folder}: no run.json, so the run cannot be regenerated (was it made by altbench run? "
                        "`altbench score` folders have no model to probe)")
    meta = read_json(meta_path)
    fp = meta.get("fingerprint") if isinstance(meta, dict) else None
    if not isinstance(fp, dict) or "model" not in fp or "split" not in fp:
        raise DataError(f"{meta_path}: no model fingerprint in it")
    if "probe" in fp:
        raise AltbenchError(f"{folder} is itself a probe; probe the run it belongs to ({folder.parent.parent})")
    results = load_run(folder)
    name, source = str(fp["split"]), str(results.split.get("source") or "")
    # where the run found its data (run.json's ``data``, altbench.data.location): used unless the user says
    location = recorded_location(meta.get("data"), results.split.get("location")) or DataLocation()
    if name in SPLITS or not source or source.startswith("embedded"):
        split_arg = name
    else:
        split_arg = location.split_file if settings.data_root is None and location.split_file else source
    root = Path(location.data_root) if location.data_root else None
    images = Path(location.images) if location.images else None
    if settings.data_root is None and settings.images is None and (gone := location.missing()):
        raise DataError(f"{folder}: the run's {gone}; point --data-root/--images at its data")
    return ProbedRun(folder, results, fp, split_arg, settings.data_root or root, settings.images or images)


def run_probe(base: ProbedRun, name: str, settings: ProbeSettings, out: Path | None = None,
              progress: Callable[[int, int], None] | None = None, executor: Executor | None = None,
              model: Any = None):
    """Generate and score one probe of ``base`` into ``out/probes/<name>`` (default out: the run folder).
    ``executor``: the command's worker processes for the scoring (default: ``settings.jobs``, for this call).
    ``model``: the run's model as :func:`probe_model` makes it (default: made for this call)."""
    from altbench.data.splits import load_split
    from altbench.run.runner import RunConfig, run

    headline = base.results.headline
    fp = base.fingerprint
    split = load_split(base.split_arg, base.data_root, base.images)
    if split.sha256() != fp.get("split_sha256"):
        raise AltbenchError(f"split {split.name} has changed since {base.folder} was run (content sha256 differs); "
                            "point --data-root/--images at the data the run was made on")
    evaluated = split.items[: headline.items.limit] if headline.items.limit is not None else split.items
    counterfactual = Counterfactual.build(name, evaluated, settings.seed, base=fp)
    config = RunConfig(model=str(fp["model"]), split=base.split_arg, model_args=dict(fp.get("args") or {}),
                       data_root=base.data_root, images=base.images, limit=headline.items.limit,
                       batch_size=settings.batch_size, seed=int(fp.get("seed") or 0),
                       convention=headline.convention, out=(out or base.folder) / PROBES_DIR / name,
                       resamples=int(headline.bootstrap.get("resamples") or settings.resamples),
                       counterfactual=counterfactual, jobs=settings.jobs)
    outcome = run(config, progress=progress, executor=executor, model=model)
    if counterfactual.donors is not None:  # which context each item got, for the report and for audit
        from altbench.io import write_json_atomic

        write_json_atomic(outcome.run_dir / SWAPS_FILE, counterfactual.donors)
    return outcome


def probe_model(base: ProbedRun) -> Any:
    """The run's (entry, adapter), made as its probes' runs make it: the model and arguments it recorded."""
    from altbench.models.registry import REGISTRY

    fp = base.fingerprint
    return REGISTRY.create(str(fp["model"]), dict(fp.get("args") or {}))


def probe(run_dir: Path | str, probes: str | Sequence[str] | None = None, settings: ProbeSettings | None = None,
          out: Path | str | None = None, progress: Progress | None = None) -> ProbeReport:
    """Run ``probes`` (default: all four) on the run in ``run_dir``, then write and return its probes.json.

    ``out``: where the probe folders and probes.json go (default: the run folder itself).
    """
    from altbench.run.runner import Shard
    from altbench.run.scoring import conventions_for, warm_up_tasks

    settings = settings or ProbeSettings()
    names = parse_probes(probes)
    base = probed_run(run_dir, settings)
    target = Path(out) if out is not None else base.folder
    shard = Shard.from_env()
    model = probe_model(base)  # one adapter for every probe: its weights are loaded once
    with Executor(settings.jobs, warm_up_tasks(conventions_for(base.results.headline.convention))) as executor:
        for name in names:
            run_probe(base, name, settings, target,
                      (lambda d, t, n=name: progress(n, d, t)) if progress else None, executor, model)
        if not shard.main:  # under accelerate the main process measures and writes; the others read its report
            shard.barrier()
            return read_probes(target / PROBES_FILE)
        report = measure(base.folder, settings, target, executor.starmap)
        shard.barrier()
        return report


# ------------------------------------------------------------------------------------------ measuring
def measure(run_dir: Path | str, settings: ProbeSettings | None = None, out: Path | str | None = None,
            starmap: Starmap | None = None) -> ProbeReport:
    """Compare every finished probe folder under ``out/probes/`` with the run; write ``out/probes.json``.
    ``starmap``: where the resampling chunks are computed (:mod:`altbench.tasks`; default here)."""
    from altbench.io import write_json_atomic
    from altbench.publish.labels import headline as headline_of
    from altbench.run.predictions import read as read_predictions
    from altbench.stats.comparable import load_run as load_compared

    settings = settings or ProbeSettings()
    folder, _ = resolve(Path(run_dir))
    target = Path(out) if out is not None else folder
    original = replace(load_compared(folder), label="original")
    headline = headline_of(list(original.metrics))
    policy = settings.policy()
    originals = read_predictions(folder / "predictions.jsonl")
    results: dict[str, ProbeResult] = {}
    for name in PROBES:
        pfolder = target / PROBES_DIR / name
        if not (pfolder / "results.json").is_file():
            continue
        probed = replace(load_compared(pfolder), label=name)
        outputs = read_predictions(pfolder / "predictions.jsonl")
        ids = [i for i in original.run.headline.rows() if i in outputs and outputs[i].error is None
               and originals.get(i) is not None and originals[i].error is None]
        changed, similarity = _reference_free([originals[i].prediction for i in ids],
                                              [outputs[i].prediction for i in ids], settings, starmap)
        meta = read_json(pfolder / "run.json")
        results[name] = ProbeResult(
            name, DESCRIPTIONS[name], pfolder.relative_to(target).as_posix(), str(meta.get("run_id") or ""),
            len(ids), {k: int(probed.run.headline.counts.get(k, 0)) for k in ("scored", "failed", "missing")},
            changed, similarity, _metrics(original, probed, policy, starmap))
    reliance = {}
    for kind, name in RELIANCE_PROBES.items():
        if name in results:
            r = results[name]
            lo = r.reliance.ci95[0]
            reliance[kind] = Reliance(kind, name, r.reliance, lo is not None and lo > 0, r.n_paired,
                                      r.metrics.get(headline) if headline else None)
    report = ProbeReport(
        target / PROBES_FILE, original.run.run_id, original.run.model_name,
        {"name": original.run.split_name, "sha256": original.run.split_sha256}, {
            "seed": settings.seed, "resamples": settings.resamples, "trials": settings.trials,
            "level": settings.level, "alpha": settings.alpha, "signature": policy.signature,
            "similarity": "1 if the outputs are equal after stripping white space, else the paper convention's "
                          "ROUGE-L F of the probe output against the original output",
            "changed": "the outputs differ after stripping white space",
            "metrics": "original minus probe; " + policy.DESCRIPTION},
        results, reliance, headline)
    write_json_atomic(report.path, report.to_dict())
    return report


def _reference_free(originals: Sequence[str], probed: Sequence[str], settings: ProbeSettings,
                    starmap: Starmap | None = None) -> tuple[Estimate, Estimate]:
    """(share of outputs that changed, mean similarity of probed to original output), each with its
    percentile bootstrap interval over the paired items (the resampling of altbench.stats)."""
    from altbench.metrics.paper.rouge import rouge_l
    from altbench.stats.bootstrap import Multinomial, StatBlock, percentile_interval, replicates

    if not originals:
        return Estimate(None, (None, None)), Estimate(None, (None, None))
    same = np.array([a.strip() == b.strip() for a, b in zip(originals, probed)], dtype=float)
    sim = np.array([1.0 if s else rouge_l(b, a) for s, a, b in zip(same, originals, probed)], dtype=float)
    blocks = [StatBlock((1.0 - same).reshape(-1, 1)), StatBlock(sim.reshape(-1, 1))]
    draws = replicates(blocks, Multinomial(settings.resamples, settings.seed), starmap)
    lo, hi = percentile_interval(draws, settings.level)
    values = [float(b.value()) for b in blocks]
    return (Estimate(values[0], (float(lo[0]), float(hi[0]))), Estimate(values[1], (float(lo[1]), float(hi[1]))))


def _metrics(original, probed, policy, starmap: Starmap | None = None) -> dict[str, ProbeMetric]:
    """Every metric both report, original minus probe, by :func:`altbench.stats.engine.analyse_pair`."""
    from altbench.stats.engine import analyse_pair

    analysis = analyse_pair(probed, original, policy, starmap=starmap)  # b - a = original - probe
    out: dict[str, ProbeMetric] = {}
    for key, t in analysis.tests.items():
        r = t.test
        out[key] = ProbeMetric(key, t.value_b, t.value_a, r.delta, (r.ci_low, r.ci_high), r.p_permutation,
                               t.p_holm, t.significant, t.higher_is_better, t.scale, t.n)
    for key, why in analysis.untestable.items():
        m_o, m_p = original.metrics.get(key), probed.metrics.get(key)
        out[key] = ProbeMetric(key, m_o.value if m_o else None, m_p.value if m_p else None, None, (None, None),
                               None, None, False, m_o.higher_is_better if m_o else True,
                               m_o.scale if m_o else 1.0, 0, why)
    return out


def dumps(report: ProbeReport) -> str:
    return json.dumps(report.to_dict(), indent=2)


# --------------------------------------------------------------------------------- per-item similarity
def item_similarity(run_dir: Path | str, name: str, out: Path | str | None = None) -> dict[str, float]:
    """Per paired item: the similarity of the probe's output to the run's (1 when identical after stripping
    white space, else ROUGE-L F), recomputed from the two predictions files; split order."""
    from altbench.metrics.paper.rouge import rouge_l
    from altbench.run.predictions import read as read_predictions

    folder = Path(run_dir)
    pfolder = (Path(out) if out is not None else folder) / PROBES_DIR / name
    originals = read_predictions(folder / "predictions.jsonl")
    outputs = read_predictions(pfolder / "predictions.jsonl")
    sims: dict[str, float] = {}
    for item_id, rec in originals.items():
        got = outputs.get(item_id)
        if rec.error is None and got is not None and got.error is None:
            a, b = rec.prediction or "", got.prediction or ""
            sims[item_id] = 1.0 if a.strip() == b.strip() else rouge_l(b, a)
    return sims
