"""The heavy part of every paired test, once per run: the shared resampling weights times each run's statistics.

Every pair of runs scored on the same ``n`` items is tested with the same weights: the bootstrap's multinomial
counts ``W`` and the permutation's swap flags ``M`` depend only on ``n`` and the seed
(:mod:`altbench.stats.bootstrap`). So, for runs A and B with per-item statistics ``S_A``, ``S_B``:

* A's bootstrap replicates are ``agg_A(W S_A)`` whichever run it is compared with;
* the permutation's pseudo-systems of the pair are ``sum S_A + M (S_B - S_A)`` and ``sum S_B - M (S_B - S_A)``,
  and ``M (S_B - S_A) = M S_B - M S_A`` (for item means, and for each summed statistic column of a
  corpus-level metric such as BLEU or METEOR).

:func:`shared_products` therefore computes ``W S`` and ``M S`` once for every run's metrics at once (one pass
over the weights, whatever the number of runs), and :func:`pair_draws` gives a pair's draws as differences of
those products: the cost of a pair no longer grows with the number of items. The numbers are those of the per-pair
computation (:func:`altbench.stats.paired.compare_pairs` with ``method="per-pair"``): the bootstrap replicates
are the same products, and ``M S_B - M S_A`` differs from ``M (S_B - S_A)`` only in the last bits, which the
p-value's relative tolerance absorbs (``tests/test_stats_products.py`` checks p-values, intervals and standard
errors for equality on real and synthetic runs).

These are pure functions of their arguments (no process or file logic); the weights are made chunk by chunk
from per-chunk generators, so the products are computed as the bootstrap's chunk tasks
(:func:`~altbench.stats.bootstrap.chunk_sums`), on whatever starmap the caller hands down (:mod:`altbench.tasks`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from altbench.stats.bootstrap import Multinomial, StatBlock, Swaps, stack, weighted_sums
from altbench.tasks import Starmap


@dataclass(frozen=True)
class Products:
    """Metric blocks (of any runs, all on the same ``n`` items in the same order) and their shared products.

    values:   (blocks,) each block's value, reported scale (``block.value()``).
    totals:   each block's statistics summed over the items.
    boot:     (resamples, blocks) bootstrap replicate values under the shared multinomial weights.
    swapped:  (trials, columns) ``M @ stats`` of every statistics column under the shared swap flags.
    slices:   each block's columns of ``swapped`` (identical blocks share theirs).
    """

    blocks: tuple[StatBlock, ...] = field(repr=False)
    values: np.ndarray = field(repr=False)
    totals: tuple[np.ndarray, ...] = field(repr=False)
    boot: np.ndarray = field(repr=False)
    swapped: np.ndarray = field(repr=False)
    slices: tuple[slice, ...] = field(repr=False)

    @property
    def n(self) -> int:
        return self.blocks[0].n if self.blocks else 0


def products_from_sums(blocks: Sequence[StatBlock], slices: Sequence[slice], boot_sums: np.ndarray,
                       swap_sums: np.ndarray) -> Products:
    """:class:`Products` from the stacked statistics' weighted sums (``W @ matrix``, ``M @ matrix``)."""
    n = blocks[0].n if blocks else 0
    boot = np.empty((boot_sums.shape[0], len(blocks)))
    for j, (block, sl) in enumerate(zip(blocks, slices)):
        boot[:, j] = block.aggregate(boot_sums[:, sl], n)
    totals = tuple(block.stats.sum(axis=0) for block in blocks)
    values = np.array([float(block.aggregate(total)) for block, total in zip(blocks, totals)])
    return Products(tuple(blocks), values, totals, boot, swap_sums, tuple(slices))


def shared_products(blocks: Sequence[StatBlock], resamples: int, trials: int, seed: int,
                    starmap: Starmap | None = None) -> Products:
    """The bootstrap replicates and swap sums of every block, all blocks on the same items, one pass each;
    ``starmap``: where the chunks are computed (:mod:`altbench.tasks`; default here)."""
    sizes = {block.n for block in blocks}
    if len(sizes) > 1:
        raise ValueError(f"blocks do not share their items: item counts {sorted(sizes)}")
    matrix, slices = stack(blocks)
    boot_sums = weighted_sums(matrix, Multinomial(resamples, seed), starmap)
    swap_sums = weighted_sums(matrix, Swaps(trials, seed), starmap)
    return products_from_sums(blocks, slices, boot_sums, swap_sums)


_REL_TOL = 1e-9  # |x| >= |obs| up to rounding: recomputed sums differ from the originals in the last bits


def bootstrap_pvalue(deltas: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Two-sided p per column: the replicates, centred on the observed delta, as extreme as it?"""
    observed = np.asarray(observed, dtype=float)
    return _pvalue(np.abs(deltas - observed), np.abs(observed))


def permutation_pvalue(null: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Two-sided p per column from differences under random swaps."""
    observed = np.asarray(observed, dtype=float)
    return _pvalue(np.abs(null), np.abs(observed))


def _pvalue(extremes: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    finite = np.isfinite(extremes)
    hits = (extremes >= threshold * (1 - _REL_TOL)) & finite
    p = (hits.sum(axis=0) + 1.0) / (finite.sum(axis=0) + 1.0)
    return np.where(np.isfinite(threshold), p, np.nan)


def pair_draws(p: Products, a: Sequence[int], b: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observed, bootstrap deltas, permutation p-values) of block ``b[e]`` minus block ``a[e]`` for each entry
    e (any number of pairs' metrics at once): shapes (entries,), (resamples, entries), (entries,). The
    intervals are made from the deltas by :func:`altbench.stats.paired.paired_results`, as for the per-pair
    computation.

    The permutation null is computed in groups of entries that share their aggregation (aggregator, scale,
    statistics columns), one vectorised call per group; every element goes through the same floating-point
    operations as one pair's own call would, so the numbers do not depend on the grouping.
    """
    a, b = list(a), list(b)
    observed = p.values[b] - p.values[a]
    # np.take gives C order, as the per-pair path's (the standard error's summation order follows the memory
    # layout), and gathers columns far faster than fancy indexing
    deltas = np.take(p.boot, b, axis=1) - np.take(p.boot, a, axis=1)
    p_perm = np.empty(len(a))
    groups: dict[tuple, list[int]] = {}
    for e, (i, j) in enumerate(zip(a, b)):
        groups.setdefault((_aggregation(p.blocks[j]), _aggregation(p.blocks[i])), []).append(e)
    with warnings.catch_warnings():  # an undefined metric (all NaN) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for entries in groups.values():
            x, y = p.blocks[a[entries[0]]], p.blocks[b[entries[0]]]
            k = y.stats.shape[1]
            cols_a = np.concatenate([np.arange(p.slices[a[e]].start, p.slices[a[e]].stop) for e in entries])
            cols_b = np.concatenate([np.arange(p.slices[b[e]].start, p.slices[b[e]].stop) for e in entries])
            # M (S_B - S_A) of each entry, from the runs' own sums
            moved = (np.take(p.swapped, cols_b, axis=1) - np.take(p.swapped, cols_a, axis=1)).reshape(-1, len(entries), k)
            total_a = np.stack([p.totals[a[e]] for e in entries])
            total_b = np.stack([p.totals[b[e]] for e in entries])
            null = y.aggregate(total_b - moved) - x.aggregate(total_a + moved)
            p_perm[entries] = permutation_pvalue(null, observed[entries])
    return observed, deltas, p_perm


def _aggregation(block: StatBlock) -> tuple:
    """What a block's aggregate depends on besides its sums: blocks alike here aggregate alike."""
    return (block.fn, None if block.fn is not None else block.aggregator, block.scale, block.stats.shape[1], block.n)
