"""Benchmark as a user runs it: ``altbench score`` as a whole cold process next to the reference, same items.

    python bench/bench_cli.py --convention paper [--n 20000] [--seed 0] [--no-reference] [--repeat 1]
    python bench/bench_cli.py --convention coco  [--n 20000] ...
    python bench/bench_cli.py --command run [--repeat 3]

``--command run`` times ``altbench run --out DIR`` instead: the default model (altbench-tiny) on the demo
split with default settings, each run a cold process writing a new run folder (no reference to compare).

Writes ``n`` seeded synthetic alt-text items (``bench_paper.make_items``) as the reference work's inference
output (test rows with a ``response``; the file is its own split) and runs, each in a fresh process:

* ``altbench score FILE --split FILE --convention C --out DIR`` with default settings (10,000 bootstrap
  resamples for the CIs, diagnostics, per-item files);
* paper: the released ``get_score.one_file(FILE)`` from ``../shared/reference/mcmdpo-scorer`` (stand-in
  ``tiktoken``, as its README says); coco: pycocoevalcap's own pipeline (PTBTokenizer, Bleu(4), Meteor(),
  Rouge(), Cider()), in a script that imports nothing from altbench.

For each it prints the wall time and the peak resident memory of its whole process tree (the Python
process and its children: the PTB tokenizer and METEOR JVMs for coco), sampled every 20 ms through
psutil, then the ratio of wall times, and checks that every reported value is equal (exit 1 if not).
Note the machine load (printed) next to any number.
"""

from __future__ import annotations

import argparse
import json
import os
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
            load = os.getloadavg()[0]
            wall, peak, _ = run_measured([sys.executable, "-m", "altbench", "run", "--out", str(Path(tmp) / f"run{r}")],
                                         cwd=REPO)
            times.append(wall)
            print(f"altbench run: {wall:7.2f} s wall, peak {peak / 2**20:7.0f} MiB (process tree), load {load:.2f}")
    print(f"median {sorted(times)[len(times) // 2]:.2f} s, best {min(times):.2f} s of {len(times)}; "
          f"load after: {os.getloadavg()[0]:.2f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--command", choices=("score", "run"), default="score")
    ap.add_argument("--convention", choices=("paper", "coco"), default=None)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="altbench runs (the reference runs once)")
    ap.add_argument("--no-reference", action="store_true", help="time altbench only (e.g. 200,000 items)")
    args = ap.parse_args()
    if args.command == "run":
        return bench_run(args.repeat)
    if args.convention is None:
        ap.error("--convention is required for --command score")
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
          f"{args.n} items, convention {args.convention}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="altbenchcli") as tmp:
        folder = Path(tmp)
        items = write_items(folder, args.n, args.seed)
        times = []
        for r in range(args.repeat):
            out = folder / f"out{r}"
            wall, peak, _ = run_measured([sys.executable, "-m", "altbench", "score", str(items), "--split",
                                          str(items), "--convention", args.convention, "--out", str(out)],
                                         cwd=REPO)
            times.append(wall)
            print(f"altbench score: {wall:7.2f} s wall, peak {peak / 2**20:7.0f} MiB (process tree)")
        ours = altbench_values(folder / "out0", args.convention)
        if args.no_reference:
            return 0
        ref_dir = folder / "ref"
        ref_dir.mkdir()
        ref_items = ref_dir / "preds.jsonl"  # one_file names its output by the path's first dot
        ref_items.write_bytes(items.read_bytes())
        if args.convention == "paper":
            from altbench.metrics.nltk_data import ensure_nltk_data

            cmd = [sys.executable, "-c", REFERENCE_PAPER, str(REFERENCE), str(ref_items), str(ensure_nltk_data())]
        else:
            cmd = [sys.executable, "-c", REFERENCE_COCO, str(ref_items)]
        wall, peak, stdout = run_measured(cmd, cwd=ref_dir)
        print(f"reference:      {wall:7.2f} s wall, peak {peak / 2**20:7.0f} MiB (process tree)")
        theirs = json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT "))[7:])
        if args.convention == "paper":
            theirs = {PAPER_KEYS[k]: v for k, v in theirs.items() if k in PAPER_KEYS}
        for name, value in theirs.items():
            same = ours.get(name) == value
            ok &= same
            print(f"  {name:14s} altbench {ours.get(name)!r:24} reference {value!r:24} {'equal' if same else 'DIFFERENT'}")
        best = min(times)
        print(f"speed-up (reference wall / altbench wall): {wall / best:.2f}x (best of {len(times)}; "
              f"median altbench {sorted(times)[len(times) // 2]:.2f} s)")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
