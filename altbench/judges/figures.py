"""A judge's reliability figures from its battles, each with a 95% percentile bootstrap interval over items.

- **position consistency**: the share of battles (both orders answered in form) whose two orders name the same
  text; **first-position wins**: among decisive answers, the share that picked the text shown first (0.5: no
  position preference);
- **self-consistency** (``--repeats N`` >= 2): per request (one order of one battle), the share of pairs of
  its N answers that agree, averaged over requests: the chance that asking twice gives the same verdict;
- **length bias**: among decided battles between texts of different length, the share the longer text won
  (``longer_wins``), and the slope of a logistic regression of the verdict on the character difference / 100:
  each decided battle entered from both sides (x, won) and (-x, lost), so which text is named first does not
  matter and there is no intercept; a weak Gaussian prior (sd :data:`SLOPE_PRIOR_SD`) keeps the slope finite
  when the judge always picks the longer text;
- **agreement with humans** (human pairs): meta-eval's pairwise accuracy (even human votes by a seeded coin,
  a judge tie half a point), on the battle outcome;
- **agreement between judges**: Cohen's kappa for every two judges on the battles both decided, Krippendorff's
  alpha (nominal) over all judges when there are three or more; labels: the battle outcome (a / tie / b).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from altbench.arena.battles import BattleSet
from altbench.judges import stats
from altbench.judges.schema import Agreement, LengthBias, PairAgreement, Stat
from altbench.stats import defaults

SLOPE_PRIOR_SD = 4.0  # log-odds per 100 characters: weak (odds x55 per 100 characters at one sd)
SWAP = {"A": "B", "B": "A", "tie": "tie"}


def _stat(values: np.ndarray, clusters: np.ndarray, resamples: int, seed: int) -> Stat:
    """The mean of per-row values with its cluster-bootstrap interval."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return Stat(None, (None, None), 0)
    lo, hi, _ = stats.cluster_bootstrap(lambda rows: float(values[rows].mean()), clusters, resamples, seed)
    return Stat.of(float(values.mean()), (lo, hi), len(values))


def position(bs: BattleSet, resamples: int = defaults.JUDGECHECK_RESAMPLES, seed: int = defaults.SEED
             ) -> tuple[Stat, Stat]:
    consistent, items, first, first_items = [], [], [], []
    for (i, _), (ab, ba) in bs.pair_answers.items():
        w_ab, w_ba = ab.parsed[0], ba.parsed[0]
        consistent.append(float(w_ab == SWAP[w_ba]))
        items.append(i)
        for w in (w_ab, w_ba):
            if w != "tie":
                first.append(float(w == "A"))
                first_items.append(i)
    return (_stat(np.array(consistent), np.array(items), resamples, seed),
            _stat(np.array(first), np.array(first_items), resamples, seed))


def self_consistency(sets: Sequence[BattleSet], resamples: int = defaults.JUDGECHECK_RESAMPLES,
                     seed: int = defaults.SEED) -> Stat | None:
    if len(sets) < 2:
        return None
    common = set(sets[0].pair_answers)
    for s in sets[1:]:
        common &= set(s.pair_answers)
    agree, items = [], []
    for key in sorted(common):
        for order in (0, 1):
            winners = [s.pair_answers[key][order].parsed[0] for s in sets]
            same = [a == b for a, b in itertools.combinations(winners, 2)]
            agree.append(float(np.mean(same)))
            items.append(key[0])
    return _stat(np.array(agree), np.array(items), resamples, seed)


def length_bias(bs: BattleSet, chars: np.ndarray, resamples: int = defaults.JUDGECHECK_RESAMPLES,
                seed: int = defaults.SEED) -> LengthBias:
    """``chars[text set, item]``: the lengths of the texts battled."""
    items, cols = np.nonzero((bs.outcomes == 0) | (bs.outcomes == 2))
    pairs = np.asarray(bs.pairs, dtype=np.int64).reshape(-1, 2)
    diff = chars[pairs[cols, 0], items] - chars[pairs[cols, 1], items]
    a_won = (bs.outcomes[items, cols] == 0).astype(np.float64)
    differ = diff != 0
    longer = _stat(((a_won == 1) == (diff > 0))[differ].astype(np.float64), items[differ], resamples, seed)
    x = diff / 100.0

    def slope(rows: np.ndarray) -> float:
        both_x = np.concatenate([x[rows], -x[rows]])
        both_y = np.concatenate([a_won[rows], 1 - a_won[rows]])
        return stats.logistic_fit(both_x, both_y, prior_sd=SLOPE_PRIOR_SD, intercept=False)[1]

    if len(x) >= 1:
        lo, hi, _ = stats.cluster_bootstrap(slope, items, resamples, seed)
        s = Stat.of(slope(np.arange(len(x))), (lo, hi), len(x))
    else:
        s = Stat(None, (None, None), len(x))
    verdict = ("prefers longer text" if s.excludes(0) and (s.value or 0) > 0 else
               "prefers shorter text" if s.excludes(0) else "no clear length preference")
    return LengthBias(longer, s, verdict)


def human_accuracy(bs: BattleSet, preferences: Sequence[str], categories: Sequence[str | None],
                   resamples: int = defaults.JUDGECHECK_RESAMPLES, seed: int = defaults.SEED
                   ) -> tuple[Stat, dict[str, Any]]:
    """Meta-eval's pairwise accuracy of the battle outcomes (pair 0: text "a" against text "b")."""
    out = pair_accuracy(bs, preferences, categories, resamples, seed)
    acc = out["accuracy"]
    extra = {"judge_ties": out["metric_ties"], "unscored": out["unscored"],
             "human_ties": sum(1 for p in preferences if p == "tie"),
             "by_category": out.get("by_category", {})}
    return Stat.of(acc["value"] if acc["value"] is not None else float("nan"), tuple(acc["ci95"]), out["n"]), extra


def pair_accuracy(bs: BattleSet, preferences: Sequence[str], categories: Sequence[str | None],
                  resamples: int = defaults.JUDGECHECK_RESAMPLES, seed: int = defaults.SEED) -> dict[str, Any]:
    """Meta-eval's pairwise-accuracy record (:func:`altbench.metaeval.agreement.pairwise_accuracy`) of the battle
    outcomes, text "a" against text "b": a judge's win is a higher score, its tie equal scores."""
    from altbench.metaeval import agreement

    outcome = bs.outcomes[:, 0]
    score_a = np.where(outcome == 0, 1.0, np.where(outcome == 2, 0.0, np.where(outcome == 1, 0.5, np.nan)))
    score_b = np.where(np.isnan(score_a), np.nan, 1.0 - score_a)
    labels = agreement.human_labels(list(preferences), seed)
    points = agreement.pair_points(score_a, score_b, labels)
    return agreement.pairwise_accuracy(points, list(categories), resamples, seed)


def between_judges(sets: Sequence[BattleSet], names: Sequence[str], resamples: int = defaults.JUDGECHECK_RESAMPLES,
                   seed: int = defaults.SEED) -> Agreement | None:
    if len(sets) < 2:
        return None
    outcomes = np.stack([s.outcomes for s in sets])  # judge, item, pair
    n_items = outcomes.shape[1]
    item_of = np.repeat(np.arange(n_items), outcomes.shape[2])
    flat = outcomes.reshape(len(sets), -1)  # judge, battle
    pairs = []
    for j, k in itertools.combinations(range(len(sets)), 2):
        both = (flat[j] >= 0) & (flat[k] >= 0)
        x, y, clusters = flat[j][both], flat[k][both], item_of[both]
        value = stats.cohen_kappa(x.tolist(), y.tolist())
        lo, hi, _ = stats.cluster_bootstrap(lambda rows, x=x, y=y: stats.cohen_kappa(x[rows].tolist(),
                                                                                     y[rows].tolist()),
                                            clusters, resamples, seed)
        pairs.append(PairAgreement(names[j], names[k], Stat.of(value, (lo, hi), int(both.sum()))))
    alpha = None
    if len(sets) >= 3:
        rated = (flat >= 0).sum(axis=0) >= 2
        units = np.where(flat >= 0, flat, -1)[:, rated].T  # battle, judge; -1 missing
        clusters = item_of[rated]

        def alpha_of(rows: np.ndarray) -> float:
            return stats.krippendorff_alpha_nominal([[int(v) if v >= 0 else None for v in units[r]] for r in rows])

        lo, hi, _ = stats.cluster_bootstrap(alpha_of, clusters, resamples, seed)
        alpha = Stat.of(alpha_of(np.arange(len(units))), (lo, hi), int(rated.sum()))
    return Agreement("battle outcome: a wins / tie / b wins (both orders)", pairs, alpha)
