"""Benchmark: the `paper` scorer's fast path against the reference per-item loop, on synthetic alt-text.

    python bench/bench_paper.py [--n 20000] [--workers 1] [--seed 0]

Generates ``n`` seeded (reference, prediction) pairs of realistic English alt-text (templates over subjects,
colours, actions, places, with casing, punctuation, multi-sentence references and perturbed predictions),
scores them with :func:`altbench.metrics.paper.reference.score_reference` and
:func:`altbench.metrics.paper.score_paper` in the same process, checks every per-item score and every
reported value agree to 1e-9, and prints both times and the speed-up. Exits 1 on a mismatch.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SUBJECTS = (
    "a woman", "a man", "two children", "an elderly couple", "a golden retriever", "a tabby cat", "a toddler",
    "a group of friends", "a chef", "a cyclist", "a barista", "a firefighter", "a horse", "a flock of birds",
    "person", "a young girl", "a teenage boy", "a nurse", "a street musician", "three puppies", "a farmer",
    "a bride and groom", "a skateboarder", "a hiker", "a small white dog", "an orange kitten", "a student",
)  # fmt: skip
COLOURS = (
    "red", "blue", "green", "yellow", "black", "white", "pink", "purple", "orange", "brown", "grey",
    "navy", "teal", "golden", "pastel", "bright", "dark", "striped", "floral", "checkered",
)  # fmt: skip
CLOTHES = (
    "dress", "jacket", "sweater", "hat", "scarf", "t-shirt", "hoodie", "coat", "apron", "uniform", "suit",
    "raincoat", "cardigan", "jumpsuit", "backpack",
)  # fmt: skip
ACTIONS = (
    "is sitting on", "is standing next to", "is walking along", "is running across", "is holding",
    "is smiling at", "is looking at", "is leaning against", "is playing with", "is painting", "is reading",
    "is cooking", "is riding", "is jumping over", "is dancing in", "is sleeping on", "is carrying",
)  # fmt: skip
OBJECTS = (
    "a wooden bench", "a park fountain", "a stack of books", "a birthday cake", "a bicycle", "a red door",
    "a brick wall", "a laptop", "a cup of coffee", "a bouquet of flowers", "a vintage car", "a guitar",
    "a kitchen counter", "a picnic blanket", "a snowman", "a surfboard", "a shopping cart", "a mural",
)  # fmt: skip
PLACES = (
    "in a sunny park", "on a crowded street", "at the beach", "in a cozy living room", "in a busy kitchen",
    "on a mountain trail", "in a classroom", "at a farmers market", "in the snow", "under a bridge",
    "at night", "in a library", "on a rooftop", "beside a lake", "in a garden", "at a train station",
    "in front of a cafe", "during sunset", "in the rain", "at a concert",
)  # fmt: skip
EXTRAS = (
    "The sky is clear.", "Text reads \"Happy Birthday!\"", "Screenshot of a tweet.", "It's a close-up shot.",
    "The background is blurred.", "Several people watch.", "A logo appears in the corner.",
    "The photo is black and white.", "Leaves cover the ground.", "There is a caption: 'best day ever'.",
)  # fmt: skip
SYNONYMS = {
    "woman": "lady", "man": "guy", "children": "kids", "dog": "puppy", "cat": "kitty", "smiling": "grinning",
    "sitting": "seated", "walking": "strolling", "running": "jogging", "holding": "carrying", "street": "road",
    "beach": "shore", "car": "automobile", "photo": "picture", "big": "large", "small": "little",
}  # fmt: skip


def make_reference(rng: random.Random) -> str:
    s = (
        f"{rng.choice(SUBJECTS)} in a {rng.choice(COLOURS)} {rng.choice(CLOTHES)} "
        f"{rng.choice(ACTIONS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}"
    )
    if rng.random() < 0.5:
        s = s[0].upper() + s[1:]
    s += rng.choice((".", ".", "", "!", " ."))
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        s += " " + rng.choice(EXTRAS)
    return s


def perturb(ref: str, rng: random.Random) -> str:
    words = ref.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue  # drop
        if r < 0.16:
            out.append(SYNONYMS.get(w.lower().strip(".,!"), rng.choice(COLOURS)))
        elif r < 0.20:
            out.extend([w, rng.choice(("very", "quite", "a", "the", "and"))])
        else:
            out.append(w)
    if rng.random() < 0.2:
        out = out[: max(1, int(len(out) * rng.uniform(0.3, 0.9)))]
    pred = " ".join(out)
    r = rng.random()
    if r < 0.05:
        pred = "Assistant: " + pred
    elif r < 0.08:
        pred = make_reference(rng)  # unrelated
    elif r < 0.09:
        pred = ""
    return pred


def make_items(n: int, seed: int = 0) -> tuple[list[tuple[str]], list[str]]:
    rng = random.Random(seed)
    refs = [make_reference(rng) for _ in range(n)]
    preds = [perturb(r, rng) for r in refs]
    return [(r,) for r in refs], preds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (altbench.executor); 1: none")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-reference", action="store_true", help="time the fast path only")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from altbench.metrics.nltk_data import setup_nltk
    from altbench.metrics.paper import score_paper
    from altbench.metrics.paper.reference import score_reference

    setup_nltk(online=False)
    references, predictions = make_items(args.n, args.seed)
    print(f"{args.n} items, {len({r for (r,) in references})} distinct references, jobs={args.jobs}")
    # Warm both paths' lazy loads (WordNet, punkt) outside the timed regions.
    score_reference(references[:5], predictions[:5])
    score_paper(references[:5], predictions[:5])

    from altbench.executor import Executor

    with Executor(args.jobs, ("altbench.metrics.paper.items:warm_up",)) as executor:
        t0, c0 = time.perf_counter(), time.process_time()
        fast = score_paper(references, predictions, starmap=executor.starmap)
        t_fast, c_fast = time.perf_counter() - t0, time.process_time() - c0
    print(f"fast path:      {t_fast:8.2f} s wall  {c_fast:8.2f} s cpu (this process)")
    if args.skip_reference:
        return 0
    t0, c0 = time.perf_counter(), time.process_time()
    values, per_item = score_reference(references, predictions)
    t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0
    print(f"reference loop: {t_ref:8.2f} s wall  {c_ref:8.2f} s cpu")
    print(f"speed-up:       {t_ref / t_fast:8.1f}x wall", end="")
    print(f"  {c_ref / c_fast:8.1f}x cpu" if args.jobs == 1 else "  (cpu ratio n/a with jobs > 1)")
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    bad = 0
    for name, ms in fast.items():
        worst = max((abs(a - b) for a, b in zip(ms.per_item, per_item[name])), default=0.0)
        same = ms.value == values[name] and worst <= 1e-9
        bad += not same
        print(
            f"  {name:14s} {ms.value:12.6f} ref {values[name]:12.6f}  max|d| {worst:.2e}  {'ok' if same else 'MISMATCH'}"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
