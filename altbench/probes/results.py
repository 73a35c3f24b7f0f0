"""``probes.json``: the typed numbers of ``altbench probe`` and their one reader (docs/probes.md).

A run folder's ``probes.json`` (schema :data:`SCHEMA`) holds, per probe, the reference-free numbers (how
often the output changed, how similar the probed output is to the original) and, per metric, the paired
difference original minus probe decided by the analysis engine of ``altbench compare``; and the two
summaries, context reliance (from context-swap) and image reliance (from image-noise).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altbench.errors import DataError

SCHEMA = "altbench.probes/1"
PROBES_FILE = "probes.json"
PROBES_DIR = "probes"
# which probe each summary is read from
RELIANCE_PROBES = {"context": "context-swap", "image": "image-noise"}
RELIANCE_TEST = ("significant when the 95% percentile bootstrap interval of the reliance (items resampled) "
                 "lies above 0")


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _pair(x: Any) -> tuple[float | None, float | None]:
    if isinstance(x, (list, tuple)) and len(x) == 2:
        return _num(x[0]), _num(x[1])
    return None, None


@dataclass(frozen=True)
class Estimate:
    """A mean over paired items with its 95% percentile bootstrap interval."""

    value: float | None
    ci95: tuple[float | None, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {"value": _num(self.value), "ci95": [_num(self.ci95[0]), _num(self.ci95[1])]}

    @classmethod
    def from_dict(cls, d: Any) -> Estimate:
        d = d if isinstance(d, dict) else {}
        return cls(_num(d.get("value")), _pair(d.get("ci95")))

    def complement(self) -> Estimate:
        """``1 - x``, its interval flipped."""
        lo, hi = self.ci95
        return Estimate(None if self.value is None else 1.0 - self.value,
                        (None if hi is None else 1.0 - hi, None if lo is None else 1.0 - lo))


@dataclass(frozen=True)
class ProbeMetric:
    """One metric under one probe; ``delta`` = original minus probe (positive: the probe made it worse when
    higher is better), with the engine's interval, permutation p-value and Holm adjustment."""

    key: str
    original: float | None
    probed: float | None
    delta: float | None
    ci95: tuple[float | None, float | None]
    p_permutation: float | None
    p_holm: float | None
    significant: bool
    higher_is_better: bool = True
    scale: float = 1.0
    n: int = 0
    untestable: str | None = None  # why no test was made (e.g. the probe failed items the run scored)

    def to_dict(self) -> dict[str, Any]:
        return {"original": _num(self.original), "probed": _num(self.probed), "delta": _num(self.delta),
                "ci95": [_num(self.ci95[0]), _num(self.ci95[1])], "p_permutation": _num(self.p_permutation),
                "p_holm": _num(self.p_holm), "significant": self.significant,
                "higher_is_better": self.higher_is_better, "scale": self.scale, "n": self.n,
                "untestable": self.untestable}

    @classmethod
    def from_dict(cls, key: str, d: dict[str, Any]) -> ProbeMetric:
        return cls(key, _num(d.get("original")), _num(d.get("probed")), _num(d.get("delta")), _pair(d.get("ci95")),
                   _num(d.get("p_permutation")), _num(d.get("p_holm")), bool(d.get("significant")),
                   bool(d.get("higher_is_better", True)), float(d.get("scale") or 1.0), int(d.get("n") or 0),
                   d.get("untestable"))


@dataclass(frozen=True)
class ProbeResult:
    """One probe of a run.

    folder:     the probe's run folder, relative to the probed run (``probes/<name>``).
    n_paired:   items with an output both in the run and under the probe (the reference-free numbers' n).
    counts:     the probe run's ``scored``, ``failed``, ``missing`` (failures are never scored as empty text).
    changed:    share of paired items whose output changed (exact comparison after stripping white space).
    similarity: mean similarity of probe output to original output (1 when identical, else the paper
                convention's ROUGE-L F of the probe output against the original output).
    metrics:    by metric key (quality metrics and diagnostics).
    """

    name: str
    description: str
    folder: str
    run_id: str
    n_paired: int
    counts: dict[str, int]
    changed: Estimate
    similarity: Estimate
    metrics: dict[str, ProbeMetric] = field(default_factory=dict)

    @property
    def reliance(self) -> Estimate:
        """1 - similarity: 0 when the output never moves under the probe."""
        return self.similarity.complement()

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "folder": self.folder, "run_id": self.run_id,
                "n_paired": self.n_paired, "counts": self.counts, "changed": self.changed.to_dict(),
                "similarity": self.similarity.to_dict(), "reliance": self.reliance.to_dict(),
                "metrics": {k: m.to_dict() for k, m in self.metrics.items()}}

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> ProbeResult:
        metrics = d.get("metrics") if isinstance(d.get("metrics"), dict) else {}
        return cls(name, str(d.get("description") or ""), str(d.get("folder") or f"{PROBES_DIR}/{name}"),
                   str(d.get("run_id") or ""), int(d.get("n_paired") or 0),
                   {str(k): int(v) for k, v in (d.get("counts") or {}).items()},
                   Estimate.from_dict(d.get("changed")), Estimate.from_dict(d.get("similarity")),
                   {k: ProbeMetric.from_dict(k, m) for k, m in metrics.items() if isinstance(m, dict)})


@dataclass(frozen=True)
class Reliance:
    """A summary: how much the output depends on the context or the image (``kind``), read from ``probe``.

    value/ci95: 1 - mean similarity (0 = the output never moves; exactly 0 for a model that ignores it).
    significant: see :data:`RELIANCE_TEST`.
    metric: the headline metric's drop under the probe (original minus probe), shown beside it.
    """

    kind: str
    probe: str
    estimate: Estimate
    significant: bool
    n: int
    metric: ProbeMetric | None = None

    @property
    def value(self) -> float | None:
        return self.estimate.value

    @property
    def ci95(self) -> tuple[float | None, float | None]:
        return self.estimate.ci95

    def to_dict(self) -> dict[str, Any]:
        return {"probe": self.probe, **self.estimate.to_dict(), "significant": self.significant, "n": self.n,
                "test": RELIANCE_TEST, "metric": self.metric.key if self.metric else None,
                "metric_drop": self.metric.to_dict() if self.metric else None}

    @classmethod
    def from_dict(cls, kind: str, d: dict[str, Any]) -> Reliance:
        key, drop = d.get("metric"), d.get("metric_drop")
        metric = ProbeMetric.from_dict(str(key), drop) if key and isinstance(drop, dict) else None
        return cls(kind, str(d.get("probe") or RELIANCE_PROBES.get(kind, "")), Estimate.from_dict(d),
                   bool(d.get("significant")), int(d.get("n") or 0), metric)


@dataclass
class ProbeReport:
    """Everything in a ``probes.json``: the probed run, the settings, each probe and the summaries."""

    path: Path
    run_id: str
    model: str
    split: dict[str, Any]
    settings: dict[str, Any]
    probes: dict[str, ProbeResult]
    reliance: dict[str, Reliance]
    headline: str | None = None
    schema: str = SCHEMA

    @property
    def context_reliance(self) -> Reliance | None:
        return self.reliance.get("context")

    @property
    def image_reliance(self) -> Reliance | None:
        return self.reliance.get("image")

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "run_id": self.run_id, "model": self.model, "split": self.split,
                "headline_metric": self.headline, "settings": self.settings,
                "reliance": {k: r.to_dict() for k, r in self.reliance.items()},
                "probes": {k: p.to_dict() for k, p in self.probes.items()}}


def read_probes(path: Path | str) -> ProbeReport:
    """Read ``probes.json`` (or a run folder holding one); :class:`DataError` naming the file otherwise."""
    path = Path(path)
    file = path / PROBES_FILE if path.is_dir() else path
    try:  # read here, not with altbench.results.store: results.model reads probes, so that would be a cycle
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{file}: not found (run altbench probe first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{file}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise DataError(f"{file}: expected an {SCHEMA} file, got schema {found!r}")
    probes, reliance = data.get("probes"), data.get("reliance")
    if not isinstance(probes, dict) or not isinstance(reliance, dict):
        raise DataError(f"{file}: fields 'probes' and 'reliance' must be objects")
    try:
        return ProbeReport(
            file, str(data.get("run_id") or ""), str(data.get("model") or ""), dict(data.get("split") or {}),
            dict(data.get("settings") or {}),
            {k: ProbeResult.from_dict(k, p) for k, p in probes.items() if isinstance(p, dict)},
            {k: Reliance.from_dict(k, r) for k, r in reliance.items() if isinstance(r, dict)},
            data.get("headline_metric"))
    except (TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{file}: malformed probe results ({exc})") from None


def probes_of(run_dir: Path) -> ProbeReport | None:
    """The run's probe results, or None when it has not been probed."""
    file = Path(run_dir) / PROBES_FILE
    return read_probes(file) if file.is_file() else None
