"""Resampling over items, on per-item sufficient statistics: the engine under every interval and test.

Everything here is one operation, ``weights @ stats``: a (replicates, n_items) weight matrix times the
(n_items, k) statistics of every metric at once, followed by each metric's aggregator on its columns.

* bootstrap: row b holds how often each item is drawn in resample b (multinomial counts, n draws with
  replacement); one matrix serves every metric and every run of a comparison, so results are *paired*;
* permutation (approximate randomization): row b holds 0/1 "swap this item's outputs between the two
  systems" flags, and system A's permuted sums are ``sum_A + X @ (stats_B - stats_A)``.

Corpus-level metrics (coco BLEU, METEOR) are thus re-aggregated from resampled per-item statistics, never
averaged from per-item scores; CIDEr's per-item scores already use the whole split's document frequencies,
which stay fixed. Weights are produced in fixed chunks of rows, chunk ``i`` from its own generator
``Generator(SFC64(SeedSequence(seed, spawn_key=(stream, i))))``, and each chunk is a pure task
(:func:`chunk_sums`), so a seed gives the same numbers wherever and in whatever order the chunks are computed
(the caller passes a starmap, :mod:`altbench.tasks`, to spread them over processes).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from altbench.metrics.base import AGGREGATORS, Aggregator, MetricScores
from altbench.stats import defaults
from altbench.stats.blas import single_threaded
from altbench.tasks import IN_PROCESS, Starmap

METHOD = "percentile"
CHUNK_ELEMENTS = 1 << 22  # weights per chunk (32 MiB of float64); fixes the chunking, hence the numbers
_SUB_ELEMENTS = 1 << 18  # random draws per cache-sized block inside a chunk


# --------------------------------------------------------------------------------------------- schemes
@dataclass(frozen=True)
class Multinomial:
    """Bootstrap weights: ``W[b, i]`` = how many times item ``i`` is drawn in resample ``b`` (rows sum to n).

    Item indices are ``floor(u * n)`` of uniform doubles (uniform to within 2**-50), counted per row.
    """

    replicates: int
    seed: int = 0
    stream: int = 0

    def weights(self, n: int, chunk: int, start: int, stop: int) -> np.ndarray:
        rng = _chunk_rng(self.seed, self.stream, chunk)
        rows = stop - start
        out = np.empty((rows, n))
        sub = max(1, _SUB_ELEMENTS // n)
        u = np.empty((min(sub, rows), n))
        idx = np.empty(u.shape, dtype=np.intp)
        offsets = (np.arange(u.shape[0], dtype=np.intp) * n)[:, None]
        below = float(np.nextafter(float(n), 0.0))  # u * below < n for every double u < 1: no clipping
        for r0 in range(0, rows, sub):
            m = min(sub, rows - r0)
            uu, ii = u[:m], idx[:m]
            rng.random(out=uu)
            uu *= below
            ii[...] = uu
            ii += offsets[:m]
            out[r0 : r0 + m] = np.bincount(ii.ravel(), minlength=m * n).reshape(m, n)
        return out


@dataclass(frozen=True)
class Swaps:
    """Approximate-randomization weights: ``W[b, i]`` is 1 when trial ``b`` swaps item ``i``'s outputs."""

    replicates: int
    seed: int = 0
    stream: int = 1

    def weights(self, n: int, chunk: int, start: int, stop: int) -> np.ndarray:
        rng = _chunk_rng(self.seed, self.stream, chunk)
        packed = rng.integers(0, 256, size=(stop - start, (n + 7) // 8), dtype=np.uint8)
        return np.unpackbits(packed, axis=1, count=n).astype(np.float64)


@dataclass(frozen=True)
class FixedWeights:
    """Weights given in full, e.g. built from another tool's resample indices for a parity test."""

    matrix: np.ndarray = field(repr=False)

    @property
    def replicates(self) -> int:
        return len(self.matrix)

    def weights(self, n: int, chunk: int, start: int, stop: int) -> np.ndarray:
        return np.asarray(self.matrix[start:stop], dtype=np.float64)

    @classmethod
    def from_indices(cls, indices: np.ndarray, n: int) -> FixedWeights:
        """(replicates, n) drawn item indices -> counts."""
        idx = np.asarray(indices, dtype=np.intp)
        flat = idx + (np.arange(len(idx), dtype=np.intp) * n)[:, None]
        return cls(np.bincount(flat.ravel(), minlength=len(idx) * n).reshape(len(idx), n).astype(np.float64))


Scheme = Multinomial | Swaps | FixedWeights


def _chunk_rng(seed: int, stream: int, chunk: int) -> np.random.Generator:
    # SFC64: a fast, statistically strong generator; one independent stream per (scheme, chunk)
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(seed, spawn_key=(stream, chunk))))


def rows_per_chunk(n: int, replicates: int) -> int:
    return max(1, min(replicates, CHUNK_ELEMENTS // max(n, 1)))


def chunk_count(n: int, replicates: int) -> int:
    """How many chunks of rows the weights of ``replicates`` resamples of ``n`` items come in."""
    return math.ceil(replicates / rows_per_chunk(n, replicates)) if replicates else 0


def weighted_sums(stats: np.ndarray, scheme: Scheme, starmap: Starmap | None = None,
                  meanwhile: Callable[[], object] | None = None) -> np.ndarray:
    """``W @ stats`` for every row of the scheme's weights: (replicates, k), computed chunk by chunk.

    Each chunk is a task, :func:`chunk_sums` (its weights come from its own generator), handed to
    ``starmap`` (:mod:`altbench.tasks`; default: here, one after another): where a chunk is computed changes
    no number. ``meanwhile``: other work of the caller, run once after the chunks are handed out and before
    their results are collected (with worker processes, while they compute).
    """
    stats = np.ascontiguousarray(stats, dtype=np.float64)
    n, k = stats.shape
    total = scheme.replicates
    out = np.empty((total, k))
    if total == 0 or n == 0:
        out[...] = 0.0
        if meanwhile is not None:
            meanwhile()
        return out
    rows = rows_per_chunk(n, total)
    parts = (starmap or IN_PROCESS)(chunk_sums, [(stats, scheme, i, i + 1) for i in range(chunk_count(n, total))])
    if meanwhile is not None:
        meanwhile()
    for i, part in enumerate(parts):
        out[i * rows : i * rows + len(part)] = part
    return out


def chunk_sums(stats: np.ndarray, scheme: Scheme, first: int, stop: int) -> np.ndarray:
    """Rows of ``W @ stats`` of chunks ``first..stop-1``: a pure task (concatenated in chunk order, the chunks'
    sums are :func:`weighted_sums`, bit for bit, wherever each was computed)."""
    n = len(stats)
    total = scheme.replicates
    rows = rows_per_chunk(n, total)
    begin, end = first * rows, min(total, stop * rows)
    out = np.empty((max(0, end - begin), stats.shape[1]))
    with single_threaded():  # one BLAS thread: the last bits then depend on nothing but the chunk (blas.py)
        for i in range(first, stop):
            start = i * rows
            stop_row = min(total, start + rows)
            np.matmul(scheme.weights(n, i, start, stop_row), stats, out=out[start - begin : stop_row - begin])
    return out


# ----------------------------------------------------------------------------------------- stat blocks
@dataclass(frozen=True)
class StatBlock:
    """One metric of one run: per-item sufficient statistics and the function of their sum.

    stats:      (n_items, k) float64, rows in the order of the items being compared.
    aggregator: key into :data:`~altbench.metrics.base.AGGREGATORS` (ignored when ``fn`` is given).
    scale:      factor from the aggregator's raw value to the reported scale.
    fn:         an explicit aggregator, e.g. a mean that skips undefined per-item scores.
    """

    stats: np.ndarray = field(repr=False)
    aggregator: str = "mean"
    scale: float = 1.0
    fn: Aggregator | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.stats)

    @property
    def linear(self) -> bool:
        """True when the value is the mean of one per-item column (so per-item differences mean something)."""
        return self.fn is None and self.aggregator == "mean" and self.stats.shape[1] == 1

    def aggregate(self, summed: np.ndarray, n: np.ndarray | int | None = None) -> np.ndarray:
        fn: Callable = self.fn or AGGREGATORS[self.aggregator]
        n_arr = np.asarray(self.n if n is None else n, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(np.asarray(summed, dtype=float), n_arr) * self.scale

    def value(self) -> float:
        return float(self.aggregate(self.stats.sum(axis=0)))

    @classmethod
    def of(cls, metric: MetricScores) -> StatBlock:
        return cls(np.asarray(metric.stats, dtype=np.float64), metric.aggregator, metric.scale)


def stack(blocks: Sequence[StatBlock]) -> tuple[np.ndarray, list[slice]]:
    """All blocks' columns side by side, identical blocks stored once; returns (matrix, slice per block)."""
    seen: dict[tuple, slice] = {}
    parts: list[np.ndarray] = []
    slices: list[slice] = []
    width = 0
    for block in blocks:
        s = np.ascontiguousarray(block.stats, dtype=np.float64)
        key = (s.shape, hashlib.blake2b(s.tobytes(), digest_size=16).digest())
        if key not in seen:
            seen[key] = slice(width, width + s.shape[1])
            parts.append(s)
            width += s.shape[1]
        slices.append(seen[key])
    n = blocks[0].n if blocks else 0
    return (np.concatenate(parts, axis=1) if parts else np.empty((n, 0))), slices


def replicates(blocks: Sequence[StatBlock], scheme: Scheme, starmap: Starmap | None = None,
               meanwhile: Callable[[], object] | None = None) -> np.ndarray:
    """(replicates, len(blocks)) metric values (reported scale) under the scheme's weights; ``starmap`` and
    ``meanwhile``: see :func:`weighted_sums`."""
    if not blocks:
        if meanwhile is not None:
            meanwhile()
        return np.empty((scheme.replicates, 0))
    matrix, slices = stack(blocks)
    sums = weighted_sums(matrix, scheme, starmap, meanwhile)
    n = blocks[0].n
    out = np.empty((scheme.replicates, len(blocks)))
    for j, (block, sl) in enumerate(zip(blocks, slices)):
        out[:, j] = block.aggregate(sums[:, sl], n)
    return out


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise percentile interval of bootstrap replicates (NaN replicates ignored; all-NaN -> NaN)."""
    values = np.asarray(values, dtype=float)
    alpha = (1.0 - level) / 2
    finite = np.isfinite(values)
    if finite.all():
        lo, hi = np.quantile(values, [alpha, 1 - alpha], axis=0)
        return lo, hi
    lo = np.full(values.shape[1], np.nan)
    hi = np.full(values.shape[1], np.nan)
    for j in np.flatnonzero(finite.any(axis=0)):
        lo[j], hi[j] = np.quantile(values[finite[:, j], j], [alpha, 1 - alpha])
    return lo, hi


# ------------------------------------------------------------------------------------------ run level
def bootstrap_ci(
    metrics: Mapping[str, MetricScores], resamples: int = defaults.RESAMPLES, seed: int = defaults.SEED,
    level: float = defaults.LEVEL,
    starmap: Starmap | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals (reported scale) for each metric, all from the same resamples of items.
    ``starmap`` and ``meanwhile``: see :func:`weighted_sums`."""
    if not metrics or len(metrics[next(iter(metrics))].per_item) == 0:
        if meanwhile is not None:
            meanwhile()
        return {name: (math.nan, math.nan) for name in metrics}
    names = list(metrics)
    draws = replicates([StatBlock.of(metrics[name]) for name in names], Multinomial(resamples, seed), starmap,
                       meanwhile)
    lo, hi = percentile_interval(draws, level)
    return {name: (float(lo[j]), float(hi[j])) for j, name in enumerate(names)}


def signature_suffix(resamples: int, seed: int, level: float = 0.95) -> str:
    """How the interval was made: percentile bootstrap, paired over items, re-aggregating per-item stats."""
    return f"ci:{METHOD}-bootstrap|paired:items|resample:stats|n:{resamples}|seed:{seed}|level:{level}"
