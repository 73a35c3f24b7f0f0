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
``Generator(SFC64(SeedSequence(seed, spawn_key=(stream, i))))``, so a seed gives the same numbers whatever the
number of threads that compute the chunks.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from altbench.helper import HelperError, current
from altbench.metrics.base import AGGREGATORS, Aggregator, MetricScores
from altbench.stats import defaults
from altbench.stats.blas import single_threaded

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


def default_threads() -> int:
    """Worker threads for the chunks: the idle cores (usable cores minus the load average), at most 8 and
    at most ``OMP_NUM_THREADS`` when that is set. Only speed depends on it, never the numbers."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        idle = cores - math.ceil(os.getloadavg()[0] - 0.5)  # a busy machine: do not oversubscribe it
    except (AttributeError, OSError):
        idle = cores
    omp = os.environ.get("OMP_NUM_THREADS", "")
    cap = int(omp) if omp.isdigit() and int(omp) > 0 else 8
    return max(1, min(idle, cores, cap))


HELPER_MIN_DRAWS = 1 << 25  # items x replicates from which the scoring's helper process takes chunks


def weighted_sums(stats: np.ndarray, scheme: Scheme, threads: int | None = None,
                  meanwhile: Callable[[], object] | None = None) -> np.ndarray:
    """``W @ stats`` for every row of the scheme's weights: (replicates, k), computed chunk by chunk.

    During a large scoring with a helper process (:mod:`altbench.helper`), the helper computes the first
    ~55% of the chunks: each chunk's weights come from its own generator, so where it is computed
    changes no number. ``meanwhile``: other work of the caller (short), run at most once while the helper
    computes; without a helper, before the chunks.
    """
    stats = np.ascontiguousarray(stats, dtype=np.float64)
    n, k = stats.shape
    total = scheme.replicates
    out = np.empty((total, k))
    if total == 0 or n == 0:
        out[...] = 0.0
        return out
    rows = rows_per_chunk(n, total)
    n_chunks = math.ceil(total / rows)
    helper = current() if n * total >= HELPER_MIN_DRAWS and n_chunks >= 2 else None
    # the helper's share: a little over half (with half, this process, the one with other work, was the last)
    first = (n_chunks * 11) // 20 if helper is not None else 0
    pending = helper.submit("altbench.stats.bootstrap:chunk_sums", stats, scheme, 0, first) if first else None
    if meanwhile is not None:
        meanwhile()
    _sums_into(out, stats, scheme, range(first, n_chunks), threads)
    if pending is not None:
        try:
            out[: first * rows] = pending.result()
        except HelperError:
            _sums_into(out, stats, scheme, range(first), threads)
    return out


def chunk_sums(stats: np.ndarray, scheme: Scheme, first: int, stop: int) -> np.ndarray:
    """Rows of ``W @ stats`` of chunks ``first..stop-1`` (a task of the helper process)."""
    total = scheme.replicates
    rows = rows_per_chunk(len(stats), total)
    out = np.empty((total, stats.shape[1]))
    _sums_into(out, stats, scheme, range(first, stop), None)
    return out[first * rows : min(total, stop * rows)]


def _sums_into(out: np.ndarray, stats: np.ndarray, scheme: Scheme, chunks: range, threads: int | None) -> None:
    n = len(stats)
    total = scheme.replicates
    rows = rows_per_chunk(n, total)

    def work(i: int) -> None:
        start = i * rows
        stop = min(total, start + rows)
        np.matmul(scheme.weights(n, i, start, stop), stats, out=out[start:stop])

    workers = min(threads or default_threads(), len(chunks))
    with single_threaded():  # one BLAS thread: the last bits then depend on nothing but the chunk (blas.py)
        if workers <= 1:
            for i in chunks:
                work(i)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(work, chunks))  # list(): re-raise a worker's exception


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


def replicates(blocks: Sequence[StatBlock], scheme: Scheme, threads: int | None = None,
               meanwhile: Callable[[], object] | None = None) -> np.ndarray:
    """(replicates, len(blocks)) metric values (reported scale) under the scheme's weights."""
    if not blocks:
        return np.empty((scheme.replicates, 0))
    matrix, slices = stack(blocks)
    sums = weighted_sums(matrix, scheme, threads, meanwhile)
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
    meanwhile: Callable[[], object] | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals (reported scale) for each metric, all from the same resamples of items.
    ``meanwhile``: see :func:`weighted_sums`."""
    if not metrics:
        return {}
    names = list(metrics)
    n = len(metrics[names[0]].per_item)
    if n == 0:
        return {name: (math.nan, math.nan) for name in names}
    draws = replicates([StatBlock.of(metrics[name]) for name in names], Multinomial(resamples, seed),
                       meanwhile=meanwhile)
    lo, hi = percentile_interval(draws, level)
    return {name: (float(lo[j]), float(hi[j])) for j, name in enumerate(names)}


def signature_suffix(resamples: int, seed: int, level: float = 0.95) -> str:
    """How the interval was made: percentile bootstrap, paired over items, re-aggregating per-item stats."""
    return f"ci:{METHOD}-bootstrap|paired:items|resample:stats|n:{resamples}|seed:{seed}|level:{level}"
