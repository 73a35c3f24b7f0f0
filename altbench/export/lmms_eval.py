"""``altbench export lmms-eval DIR``: TAlt / PAlt / demo as lmms-eval tasks scored by altbench.

Writes into DIR, for ``lmms-eval --include_path DIR --tasks talt`` (or ``palt``, ``altbench_demo``):

- ``<task>.yaml``: an lmms-eval task over ``data/<task>.jsonl`` (loaded with ``datasets``' local JSON
  builder, so it runs offline), generation settings, and one metric per altbench metric;
- ``data/<task>.jsonl``: id, question (instruction + context, as altbench prompts), absolute image
  path and references of every item of the split;
- ``altbench_utils.py``: ``doc_to_visual``/``doc_to_text``/``process_results`` and one aggregation
  per metric, which scores all of a task's predictions at once with altbench's own scorer (CIDEr's
  document frequencies from the whole split, as ``altbench score`` does);
- ``altbench_tasks.json``: which split each task is and how to load it (data root, images, convention).

The environment that runs lmms-eval must be able to import altbench (``pip install altbench`` there, or a
virtualenv made with ``--system-site-packages``); ``altbench_utils.py`` also falls back to this source tree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from altbench.data.images import image_path
from altbench.data.splits import load_split
from altbench.errors import AltbenchError, DataError
from altbench.io import atomic_output, write_bytes_atomic

DEFAULT_TASKS = {
    "talt": ("talt-test", "talt-sample"),
    "palt": ("palt-test", "palt-sample"),
    "altbench_demo": ("demo",),
}
UTILS = "altbench_utils"


@dataclass(frozen=True)
class ExportedTask:
    task: str
    split: str
    items: int
    yaml: Path


def metric_names(convention: str) -> list[str]:
    """``<conv>_<metric>`` for every metric the convention(s) report, plus the diagnostics' length."""
    import importlib

    from altbench.run.scoring import CONVENTIONS, conventions_for

    names = []
    for conv in conventions_for(convention):
        module = importlib.import_module(CONVENTIONS[conv].partition(":")[0])
        names += [f"{conv}_{m}" for m in module.METRICS]
    return names


def export(
    out: Path,
    tasks: dict[str, str] | None = None,
    data_root: Path | None = None,
    images: Path | None = None,
    convention: str = "paper",
    max_new_tokens: int = 256,
    num_beams: int = 1,
) -> tuple[list[ExportedTask], list[str]]:
    """Write the task folder; returns the exported tasks and notes on default tasks that were skipped."""
    wanted = {k: (v,) for k, v in tasks.items()} if tasks else DEFAULT_TASKS
    out = out.resolve()
    metrics = metric_names(convention)
    exported, skipped, config = [], [], {}
    for task, candidates in wanted.items():
        if not task.replace("_", "").isalnum():
            raise AltbenchError(f"task name {task!r}: use letters, digits and underscores")
        split, errors = None, []
        for name in candidates:
            try:
                split = load_split(name, data_root, images)
                break
            except DataError as exc:
                errors.append(str(exc))
        if split is None:
            if tasks:
                raise DataError(f"task {task}: {errors[-1]}")
            skipped.append(f"{task}: {errors[-1]}")
            continue
        data = out / "data" / f"{task}.jsonl"
        with atomic_output(data) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for item in split.items:
                row = {
                    "id": item.id,
                    "question": item.question,
                    "image": str(image_path(item)),
                    "references": list(item.references),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        yaml_path = out / f"{task}.yaml"
        _write_text(yaml_path, _task_yaml(task, data, metrics, max_new_tokens, num_beams, split.name))
        config[task] = {
            "split": split.name,
            "split_sha256": split.sha256(),
            "convention": convention,
            "data_root": str(data_root.resolve()) if data_root else None,
            "images": str(images.resolve()) if images else None,
        }
        exported.append(ExportedTask(task, split.name, len(split), yaml_path))
    if not exported:
        raise DataError("no task could be exported: " + "; ".join(skipped))
    _write_text(out / "altbench_tasks.json", json.dumps(config, indent=2) + "\n")
    _write_text(out / f"{UTILS}.py", _utils_source(metrics, list(config)))
    return exported, skipped


def _write_text(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def _task_yaml(
    task: str, data: Path, metrics: list[str], max_new_tokens: int, num_beams: int, split: str
) -> str:
    lines = [
        f"# altbench task {task}: split {split}. Written by `altbench export lmms-eval`; re-export to update.",
        f"task: {task}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    test: {json.dumps(str(data))}",
        "test_split: test",
        "output_type: generate_until",
        f"doc_to_visual: !function {UTILS}.doc_to_visual",
        f"doc_to_text: !function {UTILS}.doc_to_text",
        "doc_to_target: references",
        "generation_kwargs:",
        f"  max_new_tokens: {int(max_new_tokens)}",
        "  temperature: 0",
        f"  num_beams: {int(num_beams)}",
        "  do_sample: false",
        f"process_results: !function {UTILS}.process_results_{task}",
        "metric_list:",
    ]
    for m in metrics:
        lower_better = m.endswith("edit_distance")
        lines += [
            f"  - metric: {m}",
            f"    aggregation: !function {UTILS}.agg_{m}",
            f"    higher_is_better: {'false' if lower_better else 'true'}",
        ]
    lines += ["metadata:", "  version: 1.0", ""]
    return "\n".join(lines)


def _utils_source(metrics: list[str], tasks: list[str]) -> str:
    src = Path(__file__).resolve().parents[2]
    aggs = "\n".join(
        [f"process_results_{t} = _processor({t!r})" for t in tasks]
        + [f"agg_{m} = _aggregation({m!r})" for m in metrics]
    )
    return (
        UTILS_TEMPLATE.replace("@SRC@", json.dumps(str(src)))
        .replace("@METRICS@", repr(metrics))
        .replace("@AGGREGATIONS@", aggs)
    )


UTILS_TEMPLATE = '''"""lmms-eval hooks for altbench tasks (written by `altbench export lmms-eval`; do not edit)."""

import json
import sys
from pathlib import Path

from PIL import Image

try:
    import altbench  # noqa: F401
except ImportError:  # the altbench source tree this was exported from
    sys.path.insert(0, @SRC@)

HERE = Path(__file__).resolve().parent
TASKS = json.loads((HERE / "altbench_tasks.json").read_text(encoding="utf-8"))
METRICS = @METRICS@
_CACHE = {}


def doc_to_visual(doc):
    with Image.open(doc["image"]) as img:
        return [img.convert("RGB")]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return doc["question"]


def _processor(task):
    def process_results(doc, results):
        value = {"task": task, "id": str(doc["id"]), "prediction": results[0] if results else None}
        return {m: value for m in METRICS}

    process_results.__name__ = f"process_results_{task}"
    return process_results


def _scores(items):
    from altbench.data.splits import load_split
    from altbench.run.predictions import PredictionRecord
    from altbench.run.scoring import score_split

    task = items[0]["task"]
    key = (task, tuple((i["id"], i["prediction"]) for i in items))
    if key not in _CACHE:
        cfg = TASKS[task]
        split = load_split(cfg["split"], cfg["data_root"] and Path(cfg["data_root"]), cfg["images"] and Path(cfg["images"]))
        records = {}
        for i in items:
            pred = i["prediction"]
            ok = isinstance(pred, str)
            records[i["id"]] = PredictionRecord(i["id"], pred if ok else None, None if ok else "no response")
        scored = score_split(split, records, cfg["convention"], [i["id"] for i in items], resamples=100)
        _CACHE[key] = {name.replace("/", "_"): m.value for name, m in scored.metrics.items()}
    return _CACHE[key]


def _aggregation(metric):
    def aggregate(items):
        return _scores(items).get(metric, float("nan"))

    aggregate.__name__ = f"agg_{metric}"
    return aggregate


@AGGREGATIONS@
'''
