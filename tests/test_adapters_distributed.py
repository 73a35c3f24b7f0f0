"""`accelerate launch -m altbench run`: items sharded over processes, predictions merged into one run."""

import json
import os
import subprocess
import sys

import pytest

from altbench.data.splits import load_split
from altbench.results import load_run
from altbench.run import predictions as pred_store
from altbench.run.runner import RunConfig, Shard, run

pytest_plugins = ["tiny_models"]  # session fixtures: tiny checkpoints built offline

pytest.importorskip("accelerate")

CONVENTION = "paper"


@pytest.fixture(autouse=True)
def demo_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ALTBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _launch_two(command: list[str], tmp_path) -> None:
    """``accelerate launch`` (2 processes) of ``-m altbench COMMAND``; asserts that ranks 0 and 1 of a world of 2
    really ran, as distinct processes.

    Each process accelerate starts records its rank and pid at interpreter start-up (sitecustomize), so
    the test can prove that two processes really ran, not one process doing everything."""
    hook, ranks = tmp_path / "hook", tmp_path / "ranks"
    hook.mkdir(exist_ok=True)
    ranks.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import json, os\n"
        "if 'RANK' in os.environ and os.environ.get('ALTBENCH_TEST_RANKS'):\n"
        "    path = os.path.join(os.environ['ALTBENCH_TEST_RANKS'], f'{os.getpid()}.json')\n"
        "    with open(path, 'w') as fh:\n"
        "        json.dump({k: os.environ.get(k) for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE')}, fh)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "ALTBENCH_TEST_RANKS": str(ranks),
           "PYTHONPATH": os.pathsep.join([str(hook), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("WORLD_SIZE", None)
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "2",
        "--multi_gpu",  # torchrun, 2 processes (on CPU they join over gloo); `--cpu` starts ONE process
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "altbench",
    ]
    done = subprocess.run([*launch, *command], env=env, capture_output=True, check=False, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = {int(p.stem): json.loads(p.read_text()) for p in ranks.glob("*.json")}
    assert len(seen) >= 2, seen  # distinct processes (pids) ...
    assert {s["RANK"] for s in seen.values()} == {"0", "1"}  # ... covering ranks 0 and 1 of a world of 2
    assert {s["WORLD_SIZE"] for s in seen.values()} == {"2"}


def test_two_processes_merge_into_one_run_like_a_single_process(tiny_llava, tmp_path):
    args = [
        "--model",
        str(tiny_llava),
        "--model-arg",
        "max_new_tokens=8",
        "--split",
        "demo",
        "--limit",
        "10",
        "--batch-size",
        "2",
        "--resamples",
        "100",
        "--convention",
        CONVENTION,
    ]
    _launch_two(["run", *args, "--out", str(tmp_path / "dist")], tmp_path)
    dist = tmp_path / "dist"
    assert not list(dist.glob("predictions.rank*"))  # merged, then removed
    rows = _rows(dist / "predictions.jsonl")
    assert [r["id"] for r in rows] == [str(i) for i in range(10)]  # no loss, no duplicate, split order
    results = load_run(dist).flat()
    assert results["counts"]["scored"] == 10 and results["counts"]["failed"] == 0

    single = run(
        RunConfig(
            model=str(tiny_llava),
            split="demo",
            model_args={"max_new_tokens": 8},
            limit=10,
            batch_size=2,
            out=tmp_path / "single",
            resamples=100,
            convention=CONVENTION,
        )
    )
    assert {r["id"]: r["prediction"] for r in rows} == {
        r["id"]: r["prediction"] for r in _rows(single.run_dir / "predictions.jsonl")
    }
    assert results["run_id"] == single.results["run_id"]  # the same run, whatever the number of processes


def test_merge_recovers_rank_files_of_an_interrupted_launch_without_duplicates(tmp_path):
    items = load_split("demo").items[:6]
    pred_path = tmp_path / "predictions.jsonl"
    pred_path.write_text(
        json.dumps({"id": "0", "prediction": "kept", "error": None})
        + "\n"
        + json.dumps({"id": "3", "prediction": None, "error": "boom"})
        + "\n"
    )
    (tmp_path / "predictions.rank0.jsonl").write_text(
        json.dumps({"id": "0", "prediction": "again", "error": None})
        + "\n"
        + json.dumps({"id": "4", "prediction": "four", "error": None})
        + "\n"
        + '{"id": "2", "predic'
    )  # a line cut by a kill
    (tmp_path / "predictions.rank1.jsonl").write_text(
        json.dumps({"id": "3", "prediction": "three", "error": None})
        + "\n"
        + json.dumps({"id": "1", "prediction": "one", "error": None}, ensure_ascii=False)
        + "\n"
    )
    Shard.merge(tmp_path, pred_path, items)
    Shard.merge(tmp_path, pred_path, items)  # nothing left to merge twice
    assert not list(tmp_path.glob("predictions.rank*"))
    ids = [r["id"] for r in _rows(pred_path)]
    assert ids == ["0", "3", "1", "3", "4"]  # new lines in split order; "0" not duplicated
    assert {k: (v.prediction, v.error) for k, v in pred_store.read(pred_path).items()} == {
        "0": ("kept", None),
        "1": ("one", None),
        "3": ("three", None),
        "4": ("four", None),
    }


def test_single_process_never_imports_accelerate(tmp_path):
    code = (
        "import sys; from altbench.run.runner import Shard; s = Shard.from_env(); "
        "print(s.world, 'accelerate' in sys.modules, 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False", "False"]


def test_probe_under_accelerate_shards_like_run(tiny_llava, tmp_path):
    """`accelerate launch -m altbench probe`: each probe's items sharded over two processes, merged into the
    probe folder; the generations and probes.json equal a single process's probe of the same run."""
    from altbench.probes import ProbeSettings, probe

    base = run(RunConfig(model=str(tiny_llava), split="demo", model_args={"max_new_tokens": 8}, limit=10,
                         batch_size=2, out=tmp_path / "run", resamples=100, convention=CONVENTION)).run_dir
    _launch_two(["probe", str(base), "--probes", "context-swap,image-noise", "--batch-size", "2",
                 "--resamples", "100", "--trials", "100", "--jobs", "1", "--out", str(tmp_path / "dist")], tmp_path)
    single = probe(base, "context-swap,image-noise", ProbeSettings(resamples=100, trials=100, batch_size=2, jobs=1),
                   out=tmp_path / "single")
    for name in ("context-swap", "image-noise"):
        folder = tmp_path / "dist" / "probes" / name
        assert not list(folder.glob("predictions.rank*"))  # merged, then removed
        rows = _rows(folder / "predictions.jsonl")
        assert [r["id"] for r in rows] == [str(i) for i in range(10)]  # no loss, no duplicate, split order
        alone = _rows(tmp_path / "single" / "probes" / name / "predictions.jsonl")
        assert [r["prediction"] for r in rows] == [r["prediction"] for r in alone]
    dist = json.loads((tmp_path / "dist" / "probes.json").read_text())
    assert dist["reliance"] == single.to_dict()["reliance"]
    assert set(dist["reliance"]) == {"context", "image"}
