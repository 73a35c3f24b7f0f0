"""METEOR 1.5 sufficient statistics and :func:`meteor_from_stats` (the jar's ``computeMetrics``).

Per item we keep the 23 numbers the jar prints for the ``SCORE`` line (``MeteorStats.toString``)::

    0 test_len  1 ref_len  2 test_function_words  3 ref_function_words
    4+4s .. 7+4s  stage s in (exact, stem, synonym, paraphrase):
                  test_content_matches, ref_content_matches, test_function_matches, ref_function_matches
    20 chunks  21 test_word_matches  22 ref_word_matches

plus column 23, the chunks as the jar *aggregates* them: ``MeteorStats.addStats`` skips the chunks of a
segment that matches perfectly (all words matched, one chunk), so column 23 is 0 for those and column 20
otherwise. ``meteor_from_stats(stats.sum(0))`` then is ``MeteorScorer.computeMetrics`` on the jar's EVAL
aggregate, re-implemented operation for operation (English ``rank`` task parameters of Meteor 1.5: alpha
0.85, beta 0.20, gamma 0.60, delta 0.75; module weights exact 1.0, stem 0.6, synonym 0.8, paraphrase 0.6).
The jar prints doubles with ``Double.toString`` (round-trip precision), so the only possible difference is
HotSpot's ``Math.pow`` against C ``pow`` (an ulp or two, in about 1.5 % of single segments, none seen on
corpus sums so far); the tests allow 1e-12.
"""

from __future__ import annotations

import numpy as np

ALPHA, BETA, GAMMA, DELTA = 0.85, 0.20, 0.60, 0.75
MODULE_WEIGHTS = (1.0, 0.6, 0.8, 0.6)  # exact, stem, synonym, paraphrase
N_PRINTED = 23
STAT_COLUMNS = (
    "test_len", "ref_len", "test_function_words", "ref_function_words",
    *(f"{stage}_{side}" for stage in ("exact", "stem", "synonym", "paraphrase")
      for side in ("test_content", "ref_content", "test_function", "ref_function")),
    "chunks", "test_word_matches", "ref_word_matches", "aggregated_chunks",
)
AGGREGATOR = "coco_meteor"  # its name in altbench.metrics.base.AGGREGATOR_TABLE


def fmean_and_frag(stats: np.ndarray, chunks_column: int = 23) -> tuple[np.ndarray, np.ndarray]:
    """``MeteorScorer.computeMetrics`` up to ``Math.pow``: (fMean, fragmentation), same IEEE operations.

    ``chunks_column`` 23 for summed statistics (the jar's aggregate), 20 for one segment's printed row.
    """
    s = np.asarray(stats, dtype=np.float64)
    test_len, ref_len, test_fw, ref_fw = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    chunks = s[..., chunks_column]
    test_words, ref_words = s[..., 21], s[..., 22]
    with np.errstate(divide="ignore", invalid="ignore"):
        test_wlen = DELTA * (test_len - test_fw) + (1.0 - DELTA) * test_fw
        ref_wlen = DELTA * (ref_len - ref_fw) + (1.0 - DELTA) * ref_fw
        test_wm = np.zeros_like(test_len)
        ref_wm = np.zeros_like(ref_len)
        for i, w in enumerate(MODULE_WEIGHTS):  # content matches, then function matches (the jar's order)
            test_wm = test_wm + s[..., 4 + 4 * i] * w * DELTA
            ref_wm = ref_wm + s[..., 5 + 4 * i] * w * DELTA
        for i, w in enumerate(MODULE_WEIGHTS):
            test_wm = test_wm + s[..., 6 + 4 * i] * w * (1.0 - DELTA)
            ref_wm = ref_wm + s[..., 7 + 4 * i] * w * (1.0 - DELTA)
        test_total = sum(s[..., 4 + 4 * i] + s[..., 6 + 4 * i] for i in range(4))
        ref_total = sum(s[..., 5 + 4 * i] + s[..., 7 + 4 * i] for i in range(4))
        precision = test_wm / test_wlen
        recall = ref_wm / ref_wlen
        fmean = 1.0 / (((1.0 - ALPHA) / precision) + (ALPHA / recall))
        perfect = (test_total == test_len) & (ref_total == ref_len) & (chunks == 1)
        frag = np.where(perfect, 0.0, chunks / ((test_words + ref_words) / 2))
    return fmean, frag


def final_score(fmean: np.ndarray, one_minus_penalty: np.ndarray) -> np.ndarray:
    """``fMean * (1 - penalty)``; NaN -> 0; ``max(score, 0)`` (the jar's last lines)."""
    with np.errstate(invalid="ignore"):
        score = np.asarray(fmean) * one_minus_penalty
    return np.where(np.isnan(score), 0.0, np.maximum(score, 0.0))


def meteor_from_stats(summed: np.ndarray, n: np.ndarray | int | None = None) -> np.ndarray:
    """METEOR 1.5 score from summed per-item statistics (see the module doc); vectorised over leading axes."""
    fmean, frag = fmean_and_frag(summed)
    with np.errstate(invalid="ignore"):
        return final_score(fmean, 1.0 - GAMMA * np.power(frag, BETA))


def aggregable(printed: np.ndarray) -> np.ndarray:
    """(n, 23) printed statistics -> (n, 24) with the jar's aggregated chunks appended (see module doc)."""
    p = np.asarray(printed, dtype=np.float64).reshape(-1, N_PRINTED)
    test_total = sum(p[:, 4 + 4 * i] + p[:, 6 + 4 * i] for i in range(4))
    ref_total = sum(p[:, 5 + 4 * i] + p[:, 7 + 4 * i] for i in range(4))
    perfect = (test_total == p[:, 0]) & (ref_total == p[:, 1]) & (p[:, 20] == 1)
    return np.column_stack([p, np.where(perfect, 0.0, p[:, 20])])
