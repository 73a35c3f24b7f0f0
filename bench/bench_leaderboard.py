"""Benchmark: ``altbench leaderboard`` at leaderboard scale, the shared-products engine next to the per-pair path.

    python bench/bench_leaderboard.py [--runs 10,30,100] [--items 5000] [--per-pair-up-to 30] [--folder DIR]

Writes (once, reused from ``--folder``) 100 synthetic run folders with :func:`altbench.stats.synthetic.write_run`:
5,000 items, 5 metrics (paper BLEU-4, METEOR, ROUGE-L and CIDEr as item means, and the mean length
diagnostic), models whose true scores differ by small steps, so some pairs differ significantly and many do
not. Then, for each size, it runs as a cold process at the default settings (10,000 resamples, 10,000
trials) with ``--no-images``:

* ``altbench leaderboard RUNS --out DIR --no-images`` (the engine's shared products: the heavy sums once per
  run, :mod:`altbench.stats.products`);
* the same build with every pair computed from the pair's own differences
  (``altbench.stats.engine.analyse_pairs(..., method="per-pair")``: what each pair cost before), up to
  ``--per-pair-up-to`` runs, since its time grows with the number of pairs.

It prints the wall time and the peak resident memory of the whole process tree (psutil, sampled every 20 ms)
and the machine's load. Both builds must produce the same pages (checked: every generated file identical).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import run_measured

KEYS = ("paper/bleu4", "paper/meteor", "paper/rougeL", "paper/cider")
PER_PAIR = ("import functools, sys; from altbench.stats import engine; from altbench.publish import ranks; "
            "ranks.analyse_pairs = functools.partial(engine.analyse_pairs, method='per-pair'); "
            "from altbench.cli import main; sys.argv[0] = 'altbench'; sys.exit(main())")


def write_runs(folder: Path, count: int, items: int) -> list[Path]:
    """``count`` synthetic run folders of ``items`` items (made once; an existing folder is reused)."""
    from altbench.stats.synthetic import Column, write_run

    rng = np.random.default_rng(0)
    difficulty = rng.beta(2, 5, size=(items, len(KEYS)))  # shared by every model: paired data
    runs = []
    for r in range(count):
        path = folder / f"model-{r:03d}"
        runs.append(path)
        if (path / "results.json").is_file():
            continue
        noise = np.random.default_rng(1000 + r).normal(0, 0.08, size=difficulty.shape)
        scores = np.clip(difficulty + 0.004 * (r % 25) + noise, 0, 1)
        columns = {k: scores[:, j] for j, k in enumerate(KEYS)}
        columns["diag/length_chars"] = Column(np.random.default_rng(2000 + r).poisson(90 + r % 40, items)
                                              .astype(float), higher_is_better=False)
        write_run(path, columns, model=f"synthetic-model-{r:03d}", seed=r, run_id=f"run{r:03d}")
    return runs


def site_digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(out).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="10,30,100")
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--per-pair-up-to", type=int, default=30, help="largest size also built on the per-pair path")
    ap.add_argument("--folder", type=Path, default=None, help="where the synthetic runs are kept (default: a temp dir)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.runs.split(",")]
    folder = args.folder or Path(tempfile.mkdtemp(prefix="altbench-bench-lb-"))
    runs = write_runs(folder / f"runs-{args.items}", max(sizes), args.items)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    altbench = [sys.executable, "-m", "altbench"]
    print(f"{max(sizes)} synthetic runs x {args.items} items x 5 metrics in {folder}; default resamples and trials; "
          f"OMP_NUM_THREADS={env['OMP_NUM_THREADS']}")
    print(f"{'runs':>5} {'pairs':>6} {'path':<9} {'wall s':>8} {'peak MiB':>9} {'load':>5}")
    for size in sizes:
        paths = [str(p) for p in runs[:size]]
        digests = {}
        for path_name, cmd in (("shared", altbench), ("per-pair", [sys.executable, "-c", PER_PAIR])):
            if path_name == "per-pair" and size > args.per_pair_up_to:
                print(f"{size:>5} {size * (size - 1) // 2:>6} {path_name:<9} {'not run: grows with the pairs':>24}")
                continue
            out = folder / f"site-{size}-{path_name}"
            load = os.getloadavg()[0]
            wall, peak, _ = run_measured([*cmd, "leaderboard", *paths, "--out", str(out), "--no-images"], env=env)
            digests[path_name] = site_digest(out)
            print(f"{size:>5} {size * (size - 1) // 2:>6} {path_name:<9} {wall:>8.1f} {peak / 2**20:>9.0f} {load:>5.1f}",
                  flush=True)
        if len(set(digests.values())) > 1:
            raise SystemExit(f"{size} runs: the two paths built different sites")


if __name__ == "__main__":
    main()
