"""METEOR 1.5 with its full paraphrase table vs the table altbench cuts per scoring: same statistics?

    python bench/bench_meteor_table.py [--n 100000] [--batch 2000] [--seed 0]

Draws ``n`` pairs (``meteor_pairs``: paraphrase-table entries planted in hypotheses and references,
adversarial tokenizer cases, several references, identical and empty hypotheses), sends their ``SCORE``
lines to one jar reading the full table, and in batches of ``--batch`` lines to jars reading the table cut
for that batch (the smaller the batch, the tighter the cut), and compares every statistics line as text.
Also compares :func:`~altbench.metrics.coco.meteor_normalize.normalize_line` with the jar's ``Normalizer``
on every text. Prints timings and mismatches; exit 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meteor_pairs import jar_normalize, pairs, table_sample

from altbench.metrics.coco import paraphrase
from altbench.metrics.coco.meteor import MeteorServer, meteor_jar, score_line
from altbench.metrics.coco.meteor_normalize import nonbreaking_prefixes, normalize_line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}; {args.n} pairs, cut per {args.batch} lines")
    index = paraphrase.load_index(paraphrase.ensure_index())
    entries, vocab = table_sample(index, 20_000, args.seed)
    drawn = pairs(args.n, entries, vocab, args.seed)
    lines = [score_line(h, refs) for h, refs in drawn]
    bad = 0

    texts = sorted({p for line in lines for p in paraphrase.score_line_parts(line)})
    t0 = time.perf_counter()
    java = jar_normalize(texts)
    t1 = time.perf_counter()
    nbp = nonbreaking_prefixes(meteor_jar())
    ours = [normalize_line(t, nbp) for t in texts]
    t2 = time.perf_counter()
    norm_bad = sum(a != b for a, b in zip(java, ours))
    bad += norm_bad
    print(f"normalizer: {len(texts)} texts, jar {t1 - t0:.1f} s, python {t2 - t1:.1f} s, mismatches {norm_bad}")

    t0 = time.perf_counter()
    full = MeteorServer()
    want = [full.statistics_lines(lines[i : i + 5000]) for i in range(0, len(lines), 5000)]
    full.close()
    want = [w for part in want for w in part]
    t1 = time.perf_counter()
    got, kept = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(0, len(lines), args.batch):
            batch = lines[i : i + args.batch]
            table = Path(tmp) / f"cut{i}.gz"
            kept.append(paraphrase.cut_table(batch, table))
            server = MeteorServer(table)
            got += server.statistics_lines(batch)
            server.close()
    t2 = time.perf_counter()
    stat_bad = [i for i, (a, b) in enumerate(zip(want, got)) if a != b]
    bad += len(stat_bad) + (len(want) != len(got))
    print(f"full table: {t1 - t0:.1f} s for {len(lines)} lines; cut tables: {t2 - t1:.1f} s in {len(kept)} jars "
          f"(entries kept per cut: min {min(kept)}, max {max(kept)} of {index.entries})")
    para_used = sum(any(float(x) > 0 for x in w.split()[16:20]) for w in want)  # paraphrase stage
    print(f"lines with a paraphrase match (full table): {para_used}; statistics mismatches: {len(stat_bad)}")
    for i in stat_bad[:5]:
        print("  ", ascii(lines[i]), "\n   full", want[i], "\n   cut ", got[i])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
