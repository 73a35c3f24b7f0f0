"""Benchmark as a user runs it: ``altbench score`` as a whole cold process next to the reference, same items.

    python bench/bench_cli.py [--n 20000] [--repeat 3]            # paper and coco, then 1 core -> 2 cores
    python bench/bench_cli.py --convention paper [--no-reference] [--no-scaling] [--jobs N]
    python bench/bench_cli.py --command run [--repeat 3]

``--command run`` times ``altbench run --out DIR`` instead: the default model (altbench-tiny) on the demo
split with default settings, each run a cold process writing a new run folder (no reference to compare).

Writes ``n`` seeded synthetic alt-text items (``bench_paper.make_items``) as the reference work's inference
output (test rows with a ``response``; the file is its own split) and runs, each in a fresh process:

* ``altbench score FILE --split FILE --convention C --out DIR`` with default settings (10,000 bootstrap
  resamples for the CIs, diagnostics, per-item files; ``--jobs``: the usable cores, unless ``--jobs`` is
  given here);
* paper: the released ``get_score.one_file(FILE)`` from ``../shared/reference/mcmdpo-scorer`` (stand-in
  ``tiktoken``, as its README says); coco: pycocoevalcap's own pipeline (PTBTokenizer, Bleu(4), Meteor(),
  Rouge(), Cider()), in a script that imports nothing from altbench.

For each it prints the wall time and the peak resident memory of its whole process tree (the Python
process and its children: the executor's workers, the PTB tokenizer and METEOR JVMs for coco), sampled every
20 ms through psutil, then the ratio of wall times, and checks that every reported value is equal (exit 1 if
not).

Then the scaling with cores (unless ``--no-scaling``): the same scoring under ``taskset -c 0`` (one usable
core: ``--jobs`` defaults to 1, everything in one process) and ``taskset -c 0,1`` (two: two workers), each a
cold process that times its scoring part (``score_file``: reading the split, scoring, the bootstrap, writing;
not the interpreter's start and imports), best of ``--repeat``, and the speed-up. The two must write the
same numbers (exit 1 if not). The machine's load average is printed with every number.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_paper import make_items

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "mcmdpo-scorer"
PAPER_KEYS = {"bleu_4": "bleu4", "METEOR": "meteor", "ROUGE-L": "rougeL", "CIDEr": "cider", "bleu_1": "bleu1",
              "cumulative_bleu_4": "bleu4_cum", "edit_distance": "edit_distance"}

REFERENCE_PAPER = """
import json, sys, types
stub = types.ModuleType("tiktoken")
stub.get_encoding = lambda name: None  # the scorer never calls the encoder
sys.modules["tiktoken"] = stub
sys.path.insert(0, sys.argv[1])
import nltk
nltk.data.path.insert(0, sys.argv[3])  # altbench's offline-built punkt_tab and WordNet
import get_score
print("RESULT " + json.dumps(get_score.one_file(sys.argv[2])))
"""

REFERENCE_COCO = """
import json, sys
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
gts = {i: [{"caption": r["chosen"]}] for i, r in enumerate(rows)}
res = {i: [{"caption": r["response"]}] for i, r in enumerate(rows)}
tok = PTBTokenizer()
gts, res = tok.tokenize(gts), tok.tokenize(res)
out = {}
bleu, _ = Bleu(4).compute_score(gts, res)
out.update({f"bleu{k + 1}": v for k, v in enumerate(bleu)})
out["meteor"], _ = Meteor().compute_score(gts, res)
out["rougeL"], _ = Rouge().compute_score(gts, res)
out["cider"], _ = Cider().compute_score(gts, res)
print("RESULT " + json.dumps({k: float(v) for k, v in out.items()}))
"""


def run_measured(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes of the process tree, stdout) of a command run to completion."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    root = psutil.Process(proc.pid)
    peak = 0
    out_chunks: list[str] = []

    def drain(stream, sink):
        for line in stream:
            sink.append(line)

    err_chunks: list[str] = []
    readers = [threading.Thread(target=drain, args=(proc.stdout, out_chunks), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err_chunks), daemon=True)]
    for r in readers:
        r.start()
    while proc.poll() is None:
        total = 0
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            procs = []
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, total)
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    for r in readers:
        r.join()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{''.join(err_chunks)[-3000:]}")
    return wall, peak, "".join(out_chunks)


def write_items(folder: Path, n: int, seed: int) -> Path:
    refs, preds = make_items(n, seed)
    path = folder / "preds.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i, ((ref,), pred) in enumerate(zip(refs, preds)):
            fh.write(json.dumps({"image_path": f"{i}.jpg", "idx": i, "chosen": ref, "response": pred,
                                 "question": "Given an image and context, generate alt-text for the image.\n"
                                             "Context:\nposted today"}) + "\n")
    return path


def altbench_values(out: Path, convention: str) -> dict[str, float]:
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    metrics = doc["scorings"][doc["headline"]]["metrics"]
    return {k.split("/", 1)[1]: m["value"] for k, m in metrics.items() if k.startswith(convention + "/")}


def bench_run(repeat: int) -> int:
    """``altbench run --out DIR`` (defaults: altbench-tiny on the demo split), ``repeat`` cold processes."""
    times = []
    with tempfile.TemporaryDirectory(prefix="altbenchrun") as tmp:
        for r in range(repeat):
            before = load()
            wall, peak, _ = run_measured([sys.executable, "-m", "altbench", "run", "--out", str(Path(tmp) / f"run{r}")],
                                         cwd=REPO)
            times.append(wall)
            print(f"altbench run: {wall:7.2f} s wall, peak {peak / 2**20:7.0f} MiB (process tree), load {before}")
    print(f"median {sorted(times)[len(times) // 2]:.2f} s, best {min(times):.2f} s of {len(times)}; "
          f"load after: {os.getloadavg()[0]:.2f}")
    return 0


SCORING_PART = """
import json, sys, time
from pathlib import Path
from altbench.run.rescore import ScoreConfig, score_file
items, convention, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
t0 = time.perf_counter()
score_file(ScoreConfig(items, str(items), convention, out=out, jobs=None))  # --jobs default
print("SCORING " + json.dumps(time.perf_counter() - t0))
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def metric_numbers(out: Path) -> dict:
    """Every metric's value and interval in results.json (what must not depend on the cores)."""
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {k: (m["value"], m["ci95"]) for s in doc["scorings"].values() for k, m in s["metrics"].items()}


def vs_reference(folder: Path, items: Path, convention: str, repeat: int, jobs: int | None,
                 no_reference: bool) -> bool:
    """``altbench score`` (cold, ``repeat`` times) beside the reference (once); True when the values agree."""
    times = []
    extra = ["--jobs", str(jobs)] if jobs else []
    for r in range(repeat):
        out = folder / f"{convention}-out{r}"
        before = load()
        wall, peak, _ = run_measured([sys.executable, "-m", "altbench", "score", str(items), "--split", str(items),
                                      "--convention", convention, "--out", str(out), *extra], cwd=REPO)
        times.append(wall)
        print(f"  altbench score: {wall:7.2f} s wall, peak {peak / 2**20:7.0f} MiB (process tree); "
              f"load {before} -> {load()}")
    ours = altbench_values(folder / f"{convention}-out0", convention)
    if no_reference:
        return True
    ref_dir = folder / f"ref-{convention}"
    ref_dir.mkdir()
    ref_items = ref_dir / "preds.jsonl"  # one_file names its output by the path's first dot
    ref_items.write_bytes(items.read_bytes())
    if convention == "paper":
        from altbench.metrics.nltk_data import ensure_nltk_data

        cmd = [sys.executable, "-c", REFERENCE_PAPER, str(REFERENCE), str(ref_items), str(ensure_nltk_data())]
    else:
        cmd = [sys.executable, "-c", REFERENCE_COCO, str(ref_items)]
    before = load()
    wall, peak, stdout = run_measured(cmd, cwd=ref_dir)
    print(f"  reference:      {wall:7.2f} s wall, peak {peak / 2**20:7.0f} MiB (process tree); "
          f"load {before} -> {load()}")
    theirs = json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT "))[7:])
    if convention == "paper":
        theirs = {PAPER_KEYS[k]: v for k, v in theirs.items() if k in PAPER_KEYS}
    ok = True
    for name, value in theirs.items():
        # results.json keeps a paper value to the 3 decimals get_score.py rounds to, without the float artefact
        # of its "* 100" (37.541, not 37.541000000000004: altbench.results.numbers, rule 1)
        same = ours.get(name) == (round(value, 3) if convention == "paper" else value)
        ok &= same
        print(f"    {name:14s} altbench {ours.get(name)!r:24} reference {value!r:24} "
              f"{'equal' if same else 'DIFFERENT'}")
    print(f"  {convention}: speed-up (reference wall / altbench wall) {wall / min(times):.2f}x (best of {len(times)}: "
          f"{min(times):.2f} s; all {', '.join(f'{t:.2f}' for t in times)} s)")
    return ok


def scaling(folder: Path, items: Path, convention: str, repeat: int) -> bool:
    """The scoring part on one core, then on two (``taskset``); True when both write the same numbers."""
    best, numbers = {}, {}
    for cpus in ("0", "0,1"):
        parts = []
        for r in range(repeat):
            out = folder / f"{convention}-cpus{cpus.replace(',', '')}-{r}"
            before = load()
            wall, peak, stdout = run_measured(["taskset", "-c", cpus, sys.executable, "-c", SCORING_PART,
                                               str(items), convention, str(out)], cwd=REPO)
            part = json.loads(next(line for line in stdout.splitlines() if line.startswith("SCORING "))[8:])
            parts.append(part)
            numbers.setdefault(cpus, metric_numbers(out))
            print(f"  taskset -c {cpus:3s}: scoring part {part:6.2f} s, whole process {wall:6.2f} s, "
                  f"peak {peak / 2**20:5.0f} MiB; load {before} -> {load()}")
        best[cpus] = min(parts)
    same = numbers["0"] == numbers["0,1"]
    print(f"  {convention}: 1 -> 2 cores, scoring part {best['0']:.2f} s -> {best['0,1']:.2f} s (best of {repeat}): "
          f"speed-up {best['0'] / best['0,1']:.2f}x; numbers {'identical' if same else 'DIFFERENT'}")
    return same


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--command", choices=("score", "run"), default="score")
    ap.add_argument("--convention", choices=("paper", "coco", "both"), default="both")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="altbench runs (the reference runs once)")
    ap.add_argument("--jobs", type=int, default=None, help="altbench score --jobs (default: its own default)")
    ap.add_argument("--no-reference", action="store_true", help="time altbench only (e.g. 200,000 items)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the taskset -c 0 / 0,1 runs")
    args = ap.parse_args()
    if args.command == "run":
        return bench_run(args.repeat)
    conventions = ["paper", "coco"] if args.convention == "both" else [args.convention]
    cores = sorted(os.sched_getaffinity(0))
    print(f"load {load()}; {args.n} items; usable cores {len(cores)}; conventions {', '.join(conventions)}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="altbenchcli") as tmp:
        folder = Path(tmp)
        items = write_items(folder, args.n, args.seed)
        for convention in conventions:
            print(f"{convention}: altbench score (--jobs {args.jobs or 'default'}) beside the reference")
            ok &= vs_reference(folder, items, convention, args.repeat, args.jobs, args.no_reference)
        if not args.no_scaling:
            if shutil.which("taskset") is None or not {0, 1} <= set(cores):
                print("scaling: skipped (needs taskset and cores 0 and 1)")
            else:
                for convention in conventions:
                    print(f"{convention}: the scoring part on 1 core, then 2 (cold processes, default --jobs)")
                    ok &= scaling(folder, items, convention, args.repeat)
    print(f"load after: {load()}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
