"""Results as pandas frames: one row per (scoring, item), with the texts beside the per-item scores.

Columns, in order: ``run_id``, ``model``, ``split``, ``scoring``, ``convention``, ``id``, ``status``
(``scored`` | ``failed`` | ``missing``), ``prediction``, ``error``, ``references`` (a list of strings),
``context``, then one column per metric key (``paper/rougeL``, ``coco/cider``, ``diag/length_chars``,
``model/clipscore``...) holding the item's score on the metric's raw per-item scale (NaN where the item was
not scored, or the metric could not score it). Corpus values, CIs and signatures stay on
:class:`~altbench.results.MetricResult`: a corpus-level metric (coco BLEU) is not the mean of its column.

Predictions are read from the run folder's ``predictions.jsonl`` (or the foreign file ``altbench score``
scored); references and context come from the split, which is resolved from the run header when not given
and used only when its content hash matches the run's (otherwise those two columns are empty and a warning
says why). pandas is imported only here, when a frame is asked for.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from altbench.errors import AltbenchError, DataError
from altbench.io import atomic_output

if TYPE_CHECKING:  # annotations only: model.py imports this module in its to_pandas methods
    import pandas as pd

    from altbench.data.splits import Split
    from altbench.results.model import RunResults, Scoring

log = logging.getLogger(__name__)

FIXED_COLUMNS = ("run_id", "model", "split", "scoring", "convention", "id", "status", "prediction", "error",
                 "references", "context")


def _pandas():
    from altbench.extras import require

    require("frames", "pandas", what="results as pandas frames")
    import pandas as pd

    return pd


def run_folder(scoring: Scoring) -> Path | None:
    """The run folder a stored scoring belongs to (its per-item file is ``scorings/<key>.scores.jsonl``)."""
    if scoring.scores_path is None:
        return None
    depth = len(Path(scoring.scores_file).parts) if scoring.scores_file else 1
    return scoring.scores_path.parents[depth - 1]


def read_predictions(folder: Path | None, model: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``{id: {"prediction", "error"}}`` from a run folder's predictions file ({} when there is none)."""
    from altbench.run import predictions as pred_store

    candidates = [folder / "predictions.jsonl"] if folder is not None else []
    if model and model.get("predictions"):  # a foreign file scored with `altbench score --out`
        candidates.append(Path(str(model["predictions"])))
    for path in candidates:
        if path.is_file():
            return {i: {"prediction": r.prediction, "error": r.error} for i, r in pred_store.read(path).items()}
    return {}


def resolve_split(run: RunResults, split: Split | str | Path | None = None, data_root: Path | None = None,
                  images: Path | None = None) -> Split | None:
    """The run's split, checked against the content hash in the run header.

    Given explicitly, a split whose content differs from the run's is an error. Resolved from the header
    (where the run recorded its data, unless ``data_root``/``images`` say otherwise), a split that cannot be
    loaded or differs only leaves references and context out, with a warning that says what is missing.
    """
    from altbench.data.location import recorded_location
    from altbench.data.reload import reload_split
    from altbench.data.splits import Split, load_split

    if split is None:
        try:
            return reload_split(run.split_name, run.split.get("source"), run.split_sha256,
                                recorded_location(run.split.get("location")), data_root, images)
        except DataError as exc:
            log.warning("%s: references and context left out: %s", run.path, exc)
            return None
    if isinstance(split, Split):
        resolved: Split | None = split
    else:
        resolved = load_split(str(split), data_root, images)
    want = run.split_sha256
    if want and resolved is not None and resolved.sha256() != want:
        raise DataError(f"{run.path}: split {resolved.name} has other content than the run's "
                        f"(sha256 {resolved.sha256()[:12]} vs {str(want)[:12]}); wrong split?")
    return resolved


def _rows_of(scoring: Scoring, header: Mapping[str, Any], predictions: Mapping[str, Any],
             items: Mapping[str, Any], order: Sequence[str] | None, metric_keys: Sequence[str]) -> list[dict]:
    scored = scoring.rows()
    failed = {f["id"]: f.get("error") for f in scoring.failures if "id" in f}
    missing = set(scoring.missing)
    evaluated = set(scored) | set(failed) | missing
    ids = [i for i in order if i in evaluated] if order is not None else [*scored, *failed, *scoring.missing]
    out = []
    for item_id in ids:
        rec = predictions.get(item_id)
        pred = rec.get("prediction") if isinstance(rec, dict) else rec
        status = "scored" if item_id in scored else "failed" if item_id in failed else "missing"
        item = items.get(item_id)
        row: dict[str, Any] = {
            **header, "scoring": scoring.key, "convention": scoring.convention, "id": item_id, "status": status,
            "prediction": pred if status == "scored" else None,
            "error": failed.get(item_id) if status == "failed" else
            ("no prediction for this item" if status == "missing" else None),
            "references": list(item.references) if item is not None else None,
            "context": item.context if item is not None else None,
        }
        scores = scored[item_id].scores if item_id in scored else {}
        for key in metric_keys:
            value = scores.get(key)
            row[key] = math.nan if value is None else float(value)
        out.append(row)
    return out


def _frame(rows: list[dict], metric_keys: Sequence[str]) -> pd.DataFrame:
    pd = _pandas()
    columns = [*FIXED_COLUMNS, *metric_keys]
    frame = pd.DataFrame(rows, columns=columns)
    for key in metric_keys:
        frame[key] = frame[key].astype("float64")
    return frame


def scoring_frame(scoring: Scoring, *, split: Split | None = None,
                  predictions: Mapping[str, Any] | None = None,
                  header: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One scoring as a frame (see the module docstring for the columns).

    split:       gives references, context and the row order (default: the per-item file's order).
    predictions: ``{id: text}`` or ``{id: {"prediction": ...}}``; default: the run folder's predictions file.
    header:      ``run_id``, ``model``, ``split`` values for every row (default: None / the split's name).
    """
    if predictions is None:
        predictions = read_predictions(run_folder(scoring))
    items = {item.id: item for item in split.items} if split is not None else {}
    order = [item.id for item in split.items] if split is not None else None
    base = {"run_id": None, "model": None, "split": split.name if split is not None else None, **(header or {})}
    keys = list(scoring.metrics)
    return _frame(_rows_of(scoring, base, predictions, items, order, keys), keys)


def run_frame(run: RunResults, *, split: Split | str | Path | None = None, data_root: str | Path | None = None,
              images: str | Path | None = None, scorings: Sequence[str] | None = None) -> pd.DataFrame:
    """Every scoring of a run (headline first; or the keys in ``scorings``) as one frame.

    split / data_root / images: where the split is (default: resolved from the run header; see
    :func:`resolve_split`). Metric columns are the union over the scorings; a scoring lacking a metric has
    NaN there.
    """
    chosen = run.ordered()
    if scorings is not None:
        unknown = [k for k in scorings if k not in run.scorings]
        if unknown:
            raise DataError(f"{run.path}: no scoring {unknown[0]!r} (have: {', '.join(run.scorings)})")
        chosen = [run.scorings[k] for k in scorings]
    resolved = resolve_split(run, split, Path(data_root) if data_root is not None else None,
                             Path(images) if images is not None else None)
    predictions = read_predictions(run.path, run.model)
    items = {item.id: item for item in resolved.items} if resolved is not None else {}
    order = [item.id for item in resolved.items] if resolved is not None else None
    keys: list[str] = []
    for s in chosen:
        keys += [k for k in s.metrics if k not in keys]
    header = {"run_id": run.run_id, "model": run.model_name, "split": run.split_name}
    rows: list[dict] = []
    for s in chosen:
        rows += _rows_of(s, header, predictions, items, order, keys)
    return _frame(rows, keys)


def write_table(frames: Sequence[pd.DataFrame], out: Path, fmt: str) -> int:
    """Concatenate ``frames`` and write them as ``parquet`` (pyarrow; ``references`` a list column) or
    ``csv`` (``references`` as a JSON list); returns the number of rows."""
    import json

    pd = _pandas()
    frame = pd.concat(list(frames), ignore_index=True) if frames else _frame([], [])
    if fmt == "parquet":
        from altbench.extras import require

        require("frames", "pyarrow", what="Parquet export")  # pandas' engine: name the extra, not pandas' hint
    elif fmt == "csv":
        frame = frame.copy()
        frame["references"] = [json.dumps(r, ensure_ascii=False) if r is not None else None
                               for r in frame["references"]]
    else:
        raise AltbenchError(f"unknown export format {fmt!r}; choose parquet or csv")
    # written beside `out`, then renamed: a full disk leaves no partial table, an OS error is one line
    with atomic_output(Path(out)) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, engine="pyarrow", index=False)
        else:
            frame.to_csv(tmp, index=False)
    return len(frame)
