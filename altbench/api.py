"""altbench as a library: score plain lists, run a model on a split, read a run folder.

    >>> import altbench
    >>> res = altbench.score(["a red circle"], [["a red circle on blue"]], convention="paper")
    >>> res.value("paper/rougeL"), res.metrics["paper/rougeL"].ci95

Every function here goes through the same code as the CLI: :func:`score` builds an in-memory split of
:class:`~altbench.data.items.Item` s and calls :func:`altbench.run.scoring.score_split` and
:func:`altbench.run.results.to_scoring`, exactly what ``altbench score`` does on a file, so the numbers are
the CLI's to the last digit; :func:`evaluate` is ``altbench run``; :func:`load_run` is the results reader.

Importing this module is light (no torch, no numpy-heavy scorers): they are imported when first called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from altbench.errors import AltbenchError
from altbench.metrics.model.options import API, option_syntax
from altbench.results.model import ItemScores, MetricResult, RunResults, Scoring
from altbench.results.store import load_run as _load_run
from altbench.stats import defaults

if TYPE_CHECKING:  # imported for annotations only: the runner pulls in the model registry
    import pandas as pd

    from altbench.data.splits import Split
    from altbench.probes.results import ProbeReport
    from altbench.run.runner import RunOutcome

__all__ = ["ScoreResult", "evaluate", "load_run", "probe", "score"]

API_SPLIT = "api"  # the name of the in-memory split score() builds


@dataclass
class ScoreResult:
    """What :func:`score` returns: the typed :class:`~altbench.results.Scoring` of the given lists, with the
    in-memory split and the predictions it was computed from (so per-item frames can name them).

    scoring:     corpus values, 95% CIs and signatures (``scoring.metrics``), counts, bootstrap settings.
    split:       the in-memory split (ids ``"0"``, ``"1"``, ... unless ``ids`` were given).
    predictions: prediction by item id.
    """

    scoring: Scoring
    split: Split
    predictions: dict[str, str]

    @property
    def metrics(self) -> dict[str, MetricResult]:
        """Every metric by key (``paper/rougeL``, ``coco/bleu4``, ``diag/chars``, ``model/clipscore``)."""
        return self.scoring.metrics

    def value(self, key: str) -> float | None:
        """The corpus value of ``key`` as the convention reports it (None when undefined)."""
        try:
            return self.scoring.metrics[key].value
        except KeyError:
            raise AltbenchError(f"no metric {key!r} in this result (have: {', '.join(self.metrics)})") from None

    def values(self) -> dict[str, float | None]:
        """``{metric key: corpus value}`` for every metric."""
        return {k: m.value for k, m in self.metrics.items()}

    def rows(self) -> dict[str, ItemScores]:
        """Per-item scores (raw scale) by item id, in input order."""
        return self.scoring.rows()

    def per_item(self, key: str) -> list[float | None]:
        """One metric's per-item scores in input order (None where the metric could not score an item)."""
        if key not in self.metrics:
            raise AltbenchError(f"no metric {key!r} in this result (have: {', '.join(self.metrics)})")
        return [r.scores.get(key) for r in self.rows().values()]

    def to_pandas(self) -> pd.DataFrame:
        """One row per item: id, prediction, references, context, and one column per metric."""
        from altbench.results.frames import scoring_frame

        return scoring_frame(self.scoring, split=self.split, predictions=self.predictions,
                             header={"run_id": None, "model": None, "split": API_SPLIT})


def _references(references: Sequence[str | Sequence[str]], n: int) -> list[tuple[str, ...]]:
    if isinstance(references, str) or len(references) != n:
        got = "a string" if isinstance(references, str) else f"{len(references)} entries"
        raise AltbenchError(f"references: expected one entry per prediction ({n}), got {got}")
    out = []
    for i, ref in enumerate(references):
        refs = (ref,) if isinstance(ref, str) else tuple(ref)
        if not refs or not all(isinstance(r, str) for r in refs):
            raise AltbenchError(f"references[{i}]: expected a string or a non-empty list of strings")
        out.append(refs)
    return out


def _texts(values: Sequence[Any] | None, n: int, what: str, default: str = "") -> list[str]:
    if values is None:
        return [default] * n
    if isinstance(values, str) or len(values) != n:
        got = "a string" if isinstance(values, str) else f"{len(values)} entries"
        raise AltbenchError(f"{what}: expected one entry per prediction ({n}), got {got}")
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        raise AltbenchError(f"{what}[{bad[0]}]: expected a string, got {type(values[bad[0]]).__name__}")
    return list(values)


def _metric_names(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """``"clipscore,bertscore"`` or ``["clipscore", "bertscore"]`` -> names, in order, without repeats."""
    specs = [metrics] if isinstance(metrics, str) else list(metrics)
    names: list[str] = []
    for spec in specs:
        for raw in str(spec).split(","):
            name = raw.strip().lower()
            if name and name not in names:
                names.append(name)
    return tuple(names)


def _metric_settings(metric_args: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """``{metric: {option: value}}``, checked (a library error names the parameter, not a CLI option)."""
    if metric_args is None:
        return {}
    if not isinstance(metric_args, Mapping):
        raise AltbenchError(f"metric_args: expected {{metric: {{option: value}}}}, got {type(metric_args).__name__}")
    out = {}
    for name, opts in metric_args.items():
        if not isinstance(opts, Mapping):
            raise AltbenchError(f"metric_args[{name!r}]: expected a mapping of option -> value, got "
                                f"{type(opts).__name__} (e.g. {{'clipscore': {{'model': PATH}}}})")
        out[str(name)] = dict(opts)
    return out


def in_memory_split(predictions: Sequence[str], references: Sequence[str | Sequence[str]],
                    contexts: Sequence[str] | None = None, images: Sequence[str | Path] | None = None,
                    ids: Sequence[str] | None = None, name: str = API_SPLIT) -> tuple[Split, dict[str, str]]:
    """(a split of items built from plain lists, predictions by id): what :func:`score` scores."""
    from altbench.data.demo import INSTRUCTION
    from altbench.data.items import Item
    from altbench.data.splits import Split

    if isinstance(predictions, str):
        raise AltbenchError("predictions: expected a list of strings, got one string")
    preds = _texts(predictions, len(predictions), "predictions")
    n = len(preds)
    if n == 0:
        raise AltbenchError("predictions: nothing to score (empty list)")
    refs = _references(references, n)
    ctxs = _texts(contexts, n, "contexts")
    item_ids = [str(i) for i in range(n)] if ids is None else _texts([str(i) for i in ids], n, "ids")
    if len(set(item_ids)) != n:
        raise AltbenchError("ids: every item needs a distinct id")
    if images is not None and (isinstance(images, (str, Path)) or len(images) != n):
        raise AltbenchError(f"images: expected one path per prediction ({n})")
    items = []
    for i in range(n):
        # no image: a path that does not exist, so an image-based metric fails that item with its reason
        image = Path(images[i]) if images is not None else Path(f"<no image given for item {item_ids[i]}>")
        items.append(Item(id=item_ids[i], image=image.absolute(), image_root=image.absolute().parent,
                          question=INSTRUCTION + ctxs[i], context=ctxs[i], references=refs[i], platform=name))
    return Split(name, tuple(items), "altbench.score (in memory)", "test"), dict(zip(item_ids, preds))


def score(predictions: Sequence[str], references: Sequence[str | Sequence[str]],
          contexts: Sequence[str] | None = None, *, convention: str = "paper", metrics: str | Sequence[str] = (),
          metric_args: Mapping[str, Mapping[str, Any]] | None = None, images: Sequence[str | Path] | None = None,
          ids: Sequence[str] | None = None, resamples: int = defaults.RESAMPLES, seed: int = defaults.SEED
          ) -> ScoreResult:
    """Score alt-texts against references, as ``altbench score`` does, with no files.

    predictions: one alt-text per item.
    references:  per item, one reference string or a list of them (the split items' ``references``).
    contexts:    per item, the post text (the diagnostics' context-copy rate and the judge read it).
    convention:  ``paper`` (the MCM-DPO reference scorer), ``coco`` (pycocoevalcap; needs Java) or ``both``.
    metrics:     model-based metrics (``clipscore``, ``refclipscore``, ``bertscore``, ``judge``), as a list or
                 comma-separated; configured by ``metric_args`` (``{"clipscore": {"model": PATH}}``).
    images:      per item, an image path (needed by clipscore/refclipscore only).
    ids:         item ids (default ``"0"``, ``"1"``, ...).
    resamples, seed: the percentile bootstrap of the 95% intervals (the CLI's ``--resamples`` and ``--seed``).

    CIDEr's document frequencies come from all given references, as the CLI takes them from the whole split.
    Raises :class:`~altbench.errors.AltbenchError` on malformed input.
    """
    from altbench.run.predictions import PredictionRecord
    from altbench.run.results import to_scoring, utc_now
    from altbench.run.scoring import check_model_metrics, conventions_for, score_split

    started = utc_now()
    conventions_for(convention)
    names = _metric_names(metrics)
    settings = _metric_settings(metric_args)
    with option_syntax(API):  # messages name metric_args, not the CLI's --metric-arg
        check_model_metrics(names, settings)
    if resamples < 1:
        raise AltbenchError(f"resamples must be at least 1, got {resamples}")
    split, preds = in_memory_split(predictions, references, contexts, images, ids)
    records = {i: PredictionRecord(i, p, None) for i, p in preds.items()}
    evaluated = [item.id for item in split.items]
    with option_syntax(API):
        scored = score_split(split, records, convention, evaluated, resamples=resamples, seed=seed,
                             metrics=names, metric_args=settings)
    scoring, rows = to_scoring(scored, split=split, evaluated_ids=evaluated, convention=convention, seed=seed,
                               resamples=resamples, started=started, model_metrics=names, metric_args=settings)
    scoring.set_rows(rows)
    return ScoreResult(scoring, split, preds)


def evaluate(model: str = "altbench-tiny", split: str | Path = "demo", *,
             model_args: Mapping[str, Any] | None = None, data_root: str | Path | None = None,
             images: str | Path | None = None, limit: int | None = None, batch_size: int = 8,
             seed: int = defaults.SEED,
             convention: str = "paper", out: str | Path | None = None, runs_root: str | Path = "runs",
             resamples: int = defaults.RESAMPLES, metrics: str | Sequence[str] = (),
             metric_args: Mapping[str, Mapping[str, Any]] | None = None, name: str | None = None,
             progress: Callable[[int, int], None] | None = None, max_failure_rate: float = 1.0) -> RunOutcome:
    """``altbench run``: generate with ``model`` on ``split`` into a resumable run folder, then score.

    Arguments are the CLI's options (``model_args`` = ``--model-arg``; ``out`` the run folder, default
    ``runs_root/<model>/<split>-<run id>``; ``name`` the display name, provenance and not identity). Returns
    the :class:`~altbench.run.runner.RunOutcome`: ``.run`` (the :class:`~altbench.results.RunResults` with every scoring of the folder), ``.scoring``
    (the :class:`~altbench.results.Scoring` this call made), ``.run_dir``, ``.generated``, ``.resumed``.

    A run whose items all failed (an API that is down) still returns, its failures in the results: check
    ``.ok``, or ``.shortfall`` for the reason (nothing scored, or more than ``max_failure_rate`` of the items
    unscored), where the CLI exits with status 5. Raises :class:`~altbench.errors.AltbenchError` for bad
    arguments and for a run folder another process is writing.
    """
    from altbench.run.runner import RunConfig, run

    config = RunConfig(model=model, split=str(split), model_args=dict(model_args or {}),
                       data_root=Path(data_root) if data_root is not None else None,
                       images=Path(images) if images is not None else None, limit=limit, batch_size=batch_size,
                       seed=seed, convention=convention, out=Path(out) if out is not None else None,
                       runs_root=Path(runs_root), resamples=resamples, metrics=_metric_names(metrics),
                       metric_args=_metric_settings(metric_args), name=name, max_failure_rate=max_failure_rate)
    with option_syntax(API):  # messages name metric_args, not the CLI's --metric-arg
        return run(config, progress=progress)


def load_run(path: str | Path) -> RunResults:
    """Read a run folder (or its ``results.json``): the run header and every scoring, headline first in
    ``list(run)``; ``run.headline.metrics`` holds values, CIs and signatures, ``run.to_pandas()`` the items."""
    return _load_run(path)


def probe(run_dir: str | Path, probes: str | Sequence[str] | None = None, *, seed: int = defaults.SEED,
          resamples: int = defaults.RESAMPLES, trials: int = defaults.TRIALS, batch_size: int = 8,
          data_root: str | Path | None = None, images: str | Path | None = None,
          out: str | Path | None = None) -> ProbeReport:
    """``altbench probe``: regenerate the run in ``run_dir`` under counterfactual inputs and measure what moved.

    probes: ``"context-swap,image-noise"``, a list, or None/``"all"`` for all four (docs/probes.md).
    Returns the :class:`~altbench.probes.results.ProbeReport` written to ``run_dir/probes.json`` (or
    ``out``): ``.context_reliance`` and ``.image_reliance`` (value, CI, significance, the headline metric's
    drop) and ``.probes[name]`` (changed, similarity, and every metric original minus probe).
    """
    from altbench.probes import ProbeSettings
    from altbench.probes import probe as run_probes

    settings = ProbeSettings(seed=seed, resamples=resamples, trials=trials, batch_size=batch_size,
                             data_root=Path(data_root) if data_root is not None else None,
                             images=Path(images) if images is not None else None)
    return run_probes(run_dir, probes, settings, Path(out) if out is not None else None)
