"""Benchmark: the fast ``coco`` scorer against pycocoevalcap's own pipeline, on the same synthetic items.

    python bench/bench_coco.py [--n 20000] [--seed 0] [--warm]

Builds ``--n`` seeded synthetic alt-text items (English alt-text vocabulary; each prediction is its
reference perturbed: synonyms, dropped / swapped / inserted words, truncation, case, punctuation, an
``Assistant:`` prefix now and then), runs pycocoevalcap (PTBTokenizer twice, Bleu(4), Meteor(), Rouge(),
Cider()) and ``score_coco`` in the same process, asserts the numbers are identical (corpus values equal,
per-item values equal to 1e-12, and says how many are bit-identical) and prints both wall times, their
ratio, and the CPU seconds of each (this process plus its JVMs: a fairer comparison on a shared machine).
The fast path is timed cold (no METEOR JVM of ours running before the call; by default each call starts a
JVM on the paraphrase table cut for its lines); ``--warm`` also times a call on the jar's *full* table
(``ALTBENCH_METEOR_TABLE=full``) with its JVM already loaded (``coco_meteor.warm_up()``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from altbench.metrics.coco import meteor as coco_meteor
from altbench.metrics.coco import score_coco
from altbench.metrics.coco.reference import reference_scores

SUBJECTS = [
    "a woman", "a man", "two children", "a young girl", "an older man", "a golden retriever", "a black cat",
    "a group of friends", "a chef", "a cyclist", "a crowd", "a toddler", "a couple", "a barista", "a surfer",
    "a brown horse", "a small bird", "a student", "a firefighter", "a musician", "a street vendor",
]
VERBS = [
    "holding", "sitting on", "standing next to", "walking along", "looking at", "smiling at", "riding",
    "pointing at", "playing with", "leaning against", "carrying", "reading", "painting", "cooking",
    "jumping over", "running through", "waving at", "hugging", "eating", "drinking from",
]
ADJS = [
    "red", "blue", "wooden", "old", "small", "large", "bright", "colorful", "empty", "crowded", "sunny",
    "snowy", "vintage", "green", "yellow", "white", "dark", "shiny", "broken", "handmade", "striped",
]
OBJECTS = [
    "bicycle", "bench", "coffee cup", "umbrella", "guitar", "kitchen table", "window", "park path", "beach",
    "book", "laptop", "surfboard", "fence", "street", "birthday cake", "skateboard", "bridge", "garden",
    "mountain trail", "poster", "mural", "bookshelf", "market stall", "sofa", "fountain", "train platform",
]
SCENES = [
    "in the background", "at sunset", "on a rainy day", "in a busy city street", "inside a cozy cafe",
    "near the ocean", "under a clear blue sky", "in front of a brick wall", "at a farmers market",
    "in a snowy forest", "during a concert", "on a wooden deck", "in a bright kitchen", "at night",
]
EXTRAS = [
    "Text reads \"Happy Birthday!\"", "The caption says \"Sale 50% off\".", "Screenshot of a tweet.",
    "Close-up photo.", "Illustration in pastel colors.", "A logo is visible in the corner.",
    "Black-and-white photograph.", "Infographic with three steps.", "Meme with bold white text.",
]
SYNONYMS = {
    "woman": "lady", "man": "guy", "children": "kids", "holding": "carrying", "small": "little",
    "large": "big", "looking": "staring", "smiling": "grinning", "street": "road", "photo": "picture",
    "bright": "vivid", "sofa": "couch", "old": "aged", "walking": "strolling", "cup": "mug",
}


def _caption(rng: random.Random) -> str:
    s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} a {rng.choice(ADJS)} {rng.choice(OBJECTS)}"
    if rng.random() < 0.7:
        s += f" {rng.choice(SCENES)}"
    if rng.random() < 0.4:
        s += f", with a {rng.choice(ADJS)} {rng.choice(OBJECTS)} {rng.choice(SCENES)}"
    s = s[0].upper() + s[1:] + "."
    if rng.random() < 0.25:
        s += " " + rng.choice(EXTRAS)
    return s


def _perturb(ref: str, rng: random.Random) -> str:
    words = ref.split()
    out = []
    for w in words:
        r = rng.random()
        key = w.strip(".,").lower()
        if r < 0.08:
            continue  # drop
        if r < 0.18 and key in SYNONYMS:
            w = w.replace(key, SYNONYMS[key])
        elif r < 0.22:
            out.append(rng.choice(ADJS))  # insert
        out.append(w)
    if len(out) > 3 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    if len(out) > 4 and rng.random() < 0.15:
        out = out[: rng.randint(2, len(out) - 1)]  # truncated
    s = " ".join(out)
    r = rng.random()
    if r < 0.05:
        s = "Assistant: " + s
    elif r < 0.08:
        s = s.upper()
    elif r < 0.12:
        s = "An image of " + s[:1].lower() + s[1:]
    elif r < 0.13:
        s = ""
    return s


def make_items(n: int, seed: int = 0) -> tuple[list[list[str]], list[str]]:
    """``n`` (references, prediction) pairs, one reference each, reproducible from ``seed``."""
    rng = random.Random(seed)
    refs = [[_caption(rng)] for _ in range(n)]
    preds = [_perturb(r[0], rng) for r in refs]
    return refs, preds


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the JVMs)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn):
    """(result, wall s, CPU s); the shared METEOR JVM is stopped before and after, so its CPU is counted."""
    coco_meteor.shutdown()
    c0, t0 = _cpu(), time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    coco_meteor.shutdown()
    return out, wall, _cpu() - c0


def _check(ref: dict, fast: dict) -> None:
    for name, (value, items) in ref.items():
        got = fast[name]
        assert got.value == value, (name, got.value, value)
        assert len(got.per_item) == len(items), name
        worst = max(abs(a - b) for a, b in zip(got.per_item, items))
        same = sum(a == b for a, b in zip(got.per_item, items))
        assert worst <= 1e-12, (name, worst)
        print(f"  {name:7s} {value:.15f}  corpus equal; per item {same}/{len(items)} bit-identical, "
              f"max |diff| {worst:.1e}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="time both pipelines this many times (alternating)")
    ap.add_argument("--warm", action="store_true", help="also time a fast call with the METEOR JVM running")
    args = ap.parse_args(argv)
    refs, preds = make_items(args.n, args.seed)
    print(f"{args.n} items, seed {args.seed}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    rows = []
    for rep in range(args.repeat):
        ref, t_ref, c_ref = _timed(lambda: reference_scores(refs, preds))
        fast, t_fast, c_fast = _timed(lambda: score_coco(refs, preds))
        print(f"run {rep + 1}: pycocoevalcap {t_ref:7.2f} s wall {c_ref:7.2f} s CPU | "
              f"score_coco (cold) {t_fast:7.2f} s wall {c_fast:7.2f} s CPU | "
              f"speed-up {t_ref / t_fast:.2f}x wall, {c_ref / c_fast:.2f}x CPU | "
              f"load {os.getloadavg()[0]:.2f}")
        _check(ref, fast)
        rows.append((t_ref, t_fast, c_ref, c_fast))
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"median: pycocoevalcap {med[0]:.2f} s, score_coco {med[1]:.2f} s, speed-up {med[0] / med[1]:.2f}x "
          f"(CPU {med[2]:.1f} s vs {med[3]:.1f} s, {med[2] / med[3]:.2f}x)")
    if args.warm:
        os.environ["ALTBENCH_METEOR_TABLE"] = "full"
        coco_meteor.warm_up()
        score_coco(refs[:10], preds[:10])  # wait until the JVM has loaded
        t0 = time.perf_counter()
        score_coco(refs, preds)
        t_warm = time.perf_counter() - t0
        del os.environ["ALTBENCH_METEOR_TABLE"]
        print(f"score_coco, full table, its METEOR JVM already running: {t_warm:.2f} s ({med[0] / t_warm:.2f}x)")
    coco_meteor.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
