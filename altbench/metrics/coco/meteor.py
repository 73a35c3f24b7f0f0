"""METEOR 1.5 as pycocoevalcap runs it (its ``meteor-1.5.jar``, ``-stdio -l en -norm``), without round trips.

pycocoevalcap's ``Meteor.compute_score`` writes one ``SCORE ||| refs ||| hyp`` line, flushes and waits for
its statistics line, item after item, then sends one ``EVAL ||| stats ||| ...`` line with every item and reads
the per-segment scores and the corpus score. Here the same ``SCORE`` lines (duplicates sent once) go to the
same jar with the same options, all at once from a writer thread while the statistics are read back in bulk;
the scores come from a much shorter ``EVAL`` (:mod:`.meteor_eval`), still the jar's to the last bit.
By default (:func:`submit`) each scoring starts its own JVM on the paraphrase table cut to the entries its
lines can use (:mod:`.paraphrase`: the jar's own ``-a`` option, exact by construction and tested against the
full table), which spares the jar 8 of its 8.5 s start. ``ALTBENCH_METEOR_TABLE=full`` (or no writable cache
for the table's index) gives the jar's full table instead, on one JVM started as early as possible and kept
for later calls (:func:`acquire`, :func:`warm_up`, :func:`shutdown`); scoring is stateless in the jar.
Statistics and the score formula: :mod:`.meteor_stats`.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from altbench.metrics.coco.meteor_stats import N_PRINTED, aggregable
from altbench.metrics.coco.tokenize import JAVA_LOCALE, meteor_jar, require_java

log = logging.getLogger(__name__)

# pycocoevalcap's -Xmx2G and nothing else: the JVM defaults (G1, tiered C1+C2, 2 compiler threads on 2 CPUs)
# measured fastest. On 2 cores, the jar alone (20,000 SCORE lines, no Python beside it; 13.6 s wall,
# 21.7 CPU-s with the defaults): -XX:TieredStopAtLevel=1 17.6 s (CPU -3 s, the table load ~9.3 s instead
# of ~6.5 s), -XX:-TieredCompilation 14.0 s (CPU -4 s, but 1.5 s slower inside score_coco), ParallelGC
# 14.6 s, SerialGC 16.0 s; for the table load alone -Xms2G, -Xmn1G/1.5G with ParallelGC or SerialGC and
# UseBiasedLocking (its Hashtable) gained nothing or lost 1-2 s. Flags leave the numbers unchanged (same
# output bytes in every run). Two JVMs each scoring half the lines took 17.0 s (both load the table: the
# machine is CPU-bound), so one JVM is kept.
JVM_OPTIONS = ("-Xmx2G",)
# On a cut table the start is light and the heap holds little but per-line garbage: the serial collector
# keeps the JVM at 241 MiB instead of G1's 744 MiB for 100,000 lines, in the same time (30.4 s both, 1.8
# CPU-s less); without the table load, C2's compile work no longer pays for itself: C1 only
# (TieredStopAtLevel=1) scored 20,000 PTB-tokenized lines in 7.6-7.9 s wall / 7.4-7.7 CPU-s against
# 12.9-13.0 s / 12.6-12.9 CPU-s with both compilers (load ~2). Flags change no output (the same bytes; the
# interpreter, C1 and C2 share HotSpot's Math.pow stub), and the tests compare the output with the full
# table's default JVM and with pycocoevalcap's.
CUT_TABLE_JVM_OPTIONS = ("-Xmx2G", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


@lru_cache(maxsize=1)
def jar_sha8() -> str:
    return hashlib.sha256(meteor_jar().read_bytes()).hexdigest()[:8]


def score_line(hypothesis: str, references: Sequence[str]) -> str:
    """The ``SCORE`` line pycocoevalcap's ``Meteor._stat`` sends (it cleans only the hypothesis)."""
    hypothesis = hypothesis.replace("|||", "").replace("  ", " ")
    return " ||| ".join(("SCORE", " ||| ".join(references), hypothesis))


@dataclass(frozen=True)
class MeteorResult:
    corpus: float
    per_item: list[float]
    stats: np.ndarray  # (n, 24), see STAT_COLUMNS


class MeteorServer:
    """One ``java -jar -Xmx2G meteor-1.5.jar - - -stdio -l en -norm`` process (pycocoevalcap's command plus
    an English locale, see ``coco_tokenize.JAVA_LOCALE``); :meth:`submit` is thread-safe."""

    def __init__(self, paraphrase: Path | None = None) -> None:
        """``paraphrase``: a cut table (:mod:`.paraphrase`) given to the jar with ``-a``; default its own."""
        java = require_java()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open with the JVM, closed in close()
        table = ("-a", str(paraphrase)) if paraphrase is not None else ()
        options = JVM_OPTIONS if paraphrase is None else CUT_TABLE_JVM_OPTIONS
        self._proc = subprocess.Popen(
            [java, *JAVA_LOCALE, *options, "-jar", meteor_jar().name,
             "-", "-", "-stdio", "-l", "en", "-norm", *table],
            cwd=meteor_jar().parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self._proc.poll() is None

    def submit(self, references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> Future[MeteorResult]:
        """Score in a background thread (PTB-tokenized strings, as pycocoevalcap's Meteor gets them)."""
        lines = [score_line(h, r) for h, r in zip(hypotheses, references)]
        return _in_thread(lambda: self.score_lines(lines))

    def score_lines(self, lines: list[str], others: Sequence[MeteorServer] = ()) -> MeteorResult:
        """Score ``SCORE`` lines now (thread-safe). ``others``: more JVMs of the same jar, options and table;
        the distinct lines are cut into as many consecutive shards, one per JVM (a line's statistics depend on
        that line only, so the shards change no number)."""
        try:
            with self._lock:
                return self._score(lines, others)
        except BaseException:
            self.close()  # the conversation may be out of step: the next acquire() starts afresh
            raise

    def _score(self, lines: list[str], others: Sequence[MeteorServer] = ()) -> MeteorResult:
        from altbench.metrics.coco.meteor_eval import jar_scores

        unique: dict[str, int] = {}
        index = np.array([unique.setdefault(line, len(unique)) for line in lines], dtype=np.int64)
        printed = _shared_statistics([self, *others], list(unique))
        rows = aggregable(np.array([p.split() for p in printed], dtype=np.float64).reshape(-1, N_PRINTED))
        stats = rows[index]
        scores, corpus = jar_scores(stats, [printed[i] for i in index], self._evaluate)
        return MeteorResult(corpus, scores.tolist(), stats)

    def statistics_lines(self, lines: list[str]) -> list[str]:
        """The jar's statistics line for each ``SCORE`` line, as printed (written from a second thread so
        that neither pipe fills up)."""
        payload = "".join(f"{line}\n" for line in lines).encode()
        writer = threading.Thread(target=self._write, args=(payload,), name="altbench-meteor-writer",
                                  daemon=True)
        writer.start()
        printed = [self._readline() for _ in range(len(lines))]
        writer.join()
        return printed

    def _evaluate(self, rows: list[str]) -> list[float]:
        """The jar's per-row scores for an ``EVAL`` of ``rows`` (its aggregate line is read and dropped)."""
        self._write(("EVAL" + "".join(f" ||| {r}" for r in rows) + "\n").encode())
        scores = [float(self._readline()) for _ in rows]
        self._readline()
        return scores

    def _write(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)  # type: ignore[union-attr]
            self._proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass  # the reader reports the dead process

    def _readline(self) -> str:
        line = self._proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"METEOR jar stopped (exit {self._proc.poll()}): {tail}")
        return line.decode().strip()

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()


def _shared_statistics(servers: Sequence[MeteorServer], lines: list[str]) -> list[str]:
    """Statistics lines of ``lines``, consecutive shares scored by the servers at the same time."""
    bounds = np.linspace(0, len(lines), len(servers) + 1).astype(int)
    parts = [lines[a:b] for a, b in itertools.pairwise(bounds)]
    others = [_in_thread(lambda s=s, p=p: s.statistics_lines(p)) for s, p in zip(servers[1:], parts[1:])]
    printed = servers[0].statistics_lines(parts[0])
    for fut in others:
        printed += fut.result()
    return printed


def _in_thread(work) -> Future:
    fut: Future = Future()

    def run() -> None:
        try:
            fut.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)

    threading.Thread(target=run, name="altbench-meteor", daemon=True).start()
    return fut


MIN_LINES_PER_JVM = 2000  # below this another JVM's start (~0.5 s) costs more than it saves


def jvm_count(lines: int, jvms: int) -> int:
    """JVMs for one cut-table scoring: up to ``jvms`` (the caller's worker count), at least
    :data:`MIN_LINES_PER_JVM` lines each. The jar scores on one thread and was the critical path (9.6 s of a
    12 s scoring of 20,000 items, this process idle for 6.4 s of them); with a cut table a JVM starts in half
    a second, so more of them pay."""
    return max(1, min(jvms, lines // MIN_LINES_PER_JVM))


def use_cut_table() -> bool:
    """Cut tables unless ``ALTBENCH_METEOR_TABLE=full`` asks for the jar's own (the reference path)."""
    return os.environ.get("ALTBENCH_METEOR_TABLE", "cut").strip().lower() != "full"


def submit(references: Sequence[Sequence[str]], hypotheses: Sequence[str], jvms: int = 1) -> Future[MeteorResult]:
    """Score in a background thread: on JVMs of their own reading the table cut for these lines (up to
    ``jvms`` shards, :func:`jvm_count`), or (full table asked for, or no index for it) on the shared JVM of
    :func:`acquire`.

    The table is cut here, in the caller's thread, before it returns: cutting is Python work, and done in the
    background it would hold the GIL against the caller's own (BLEU, CIDEr-D) while the JVM, which needs
    the cut table to start, left the second core idle."""
    if not use_cut_table():
        return acquire().submit(references, hypotheses)
    from altbench.metrics.coco import paraphrase

    lines = [score_line(h, r) for h, r in zip(hypotheses, references)]
    tmp = Path(tempfile.mkdtemp(prefix="altbench-meteor-"))
    try:
        table = tmp / "paraphrase-en.gz"
        entries = paraphrase.cut_table(dict.fromkeys(lines), table)
        if entries is None:
            shutil.rmtree(tmp, ignore_errors=True)
            return acquire().submit(references, hypotheses)
        log.debug("METEOR: %d paraphrase entries of the table can match these %d lines", entries, len(lines))
        servers = [MeteorServer(table) for _ in range(jvm_count(len(lines), jvms))]
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    def work() -> MeteorResult:
        try:
            return servers[0].score_lines(lines, servers[1:])
        finally:
            for server in servers:
                server.close()
            shutil.rmtree(tmp, ignore_errors=True)

    return _in_thread(work)


_server: MeteorServer | None = None
_server_lock = threading.Lock()


def acquire() -> MeteorServer:
    """The shared METEOR process, started now if it is not running (returns at once; the JVM loads behind)."""
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            if _server is not None:
                _server.close()
            _server = MeteorServer()
        return _server


def warm_up() -> None:
    """Get METEOR ready ahead of scoring (e.g. while a model is generating): the paraphrase index (built
    once per table, in a background thread), or with the full table the JVM that loads it."""
    if not use_cut_table():
        acquire()
        return
    from altbench.metrics.coco import paraphrase

    _in_thread(paraphrase.ensure_index)


def shutdown() -> None:
    """Stop the shared METEOR process (it is otherwise kept for later calls until the interpreter exits)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
            _server = None


atexit.register(shutdown)
