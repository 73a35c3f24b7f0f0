"""METEOR 1.5 as pycocoevalcap runs it (its ``meteor-1.5.jar``, ``-stdio -l en -norm``), without round trips.

pycocoevalcap's ``Meteor.compute_score`` writes one ``SCORE ||| refs ||| hyp`` line, flushes and waits for
its statistics line, item after item, then sends one ``EVAL ||| stats ||| ...`` line with every item and reads
the per-segment scores and the corpus score. Here the same ``SCORE`` lines (duplicates sent once) go to the
same jar with the same options, all at once from a writer thread while the statistics are read back in bulk;
the scores come from a much shorter ``EVAL`` (:mod:`.coco_meteor_scores`), still the jar's to the last bit.
The JVM (7-9 CPU seconds to load its paraphrase table) is started as early as possible and kept for later
calls (:func:`acquire`, :func:`warm_up`, :func:`shutdown`); scoring is stateless in the jar.

Sufficient statistics and :func:`meteor_from_stats`
---------------------------------------------------
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

import atexit
import hashlib
import logging
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from altbench.metrics.base import register_aggregator
from altbench.metrics.coco_tokenize import JAVA_LOCALE, pycocoevalcap_dir, require_java

log = logging.getLogger(__name__)

ALPHA, BETA, GAMMA, DELTA = 0.85, 0.20, 0.60, 0.75
MODULE_WEIGHTS = (1.0, 0.6, 0.8, 0.6)  # exact, stem, synonym, paraphrase
N_PRINTED = 23
STAT_COLUMNS = (
    "test_len", "ref_len", "test_function_words", "ref_function_words",
    *(f"{stage}_{side}" for stage in ("exact", "stem", "synonym", "paraphrase")
      for side in ("test_content", "ref_content", "test_function", "ref_function")),
    "chunks", "test_word_matches", "ref_word_matches", "aggregated_chunks",
)
AGGREGATOR = "coco_meteor"
# pycocoevalcap's -Xmx2G and nothing else: the JVM defaults (G1, tiered C1+C2, 2 compiler threads on 2 CPUs)
# measured fastest. On 2 cores, the jar alone (20,000 SCORE lines, no Python beside it; 13.6 s wall,
# 21.7 CPU-s with the defaults): -XX:TieredStopAtLevel=1 17.6 s (CPU -3 s, the table load ~9.3 s instead
# of ~6.5 s), -XX:-TieredCompilation 14.0 s (CPU -4 s, but 1.5 s slower inside score_coco), ParallelGC
# 14.6 s, SerialGC 16.0 s; for the table load alone -Xms2G, -Xmn1G/1.5G with ParallelGC or SerialGC and
# UseBiasedLocking (its Hashtable) gained nothing or lost 1-2 s. Flags leave the numbers unchanged (same
# output bytes in every run). Two JVMs each scoring half the lines took 17.0 s (both load the table: the
# machine is CPU-bound), so one JVM is kept.
JVM_OPTIONS = ("-Xmx2G",)


def meteor_jar() -> Path:
    return pycocoevalcap_dir() / "meteor" / "meteor-1.5.jar"


@lru_cache(maxsize=1)
def jar_sha8() -> str:
    return hashlib.sha256(meteor_jar().read_bytes()).hexdigest()[:8]


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


@register_aggregator(AGGREGATOR)
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

    def __init__(self) -> None:
        java = require_java()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept open with the JVM, closed in close()
        self._proc = subprocess.Popen(
            [java, *JAVA_LOCALE, *JVM_OPTIONS, "-jar", meteor_jar().name,
             "-", "-", "-stdio", "-l", "en", "-norm"],
            cwd=meteor_jar().parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self._proc.poll() is None

    def submit(self, references: Sequence[Sequence[str]], hypotheses: Sequence[str]) -> Future[MeteorResult]:
        """Score in a background thread (PTB-tokenized strings, as pycocoevalcap's Meteor gets them)."""
        fut: Future[MeteorResult] = Future()
        lines = [score_line(h, r) for h, r in zip(hypotheses, references)]

        def work() -> None:
            try:
                with self._lock:
                    fut.set_result(self._score(lines))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                self.close()  # the conversation may be out of step: the next acquire() starts afresh
                fut.set_exception(exc)

        threading.Thread(target=work, name="altbench-meteor", daemon=True).start()
        return fut

    def _score(self, lines: list[str]) -> MeteorResult:
        from altbench.metrics.coco_meteor_scores import jar_scores

        unique: dict[str, int] = {}
        index = np.array([unique.setdefault(line, len(unique)) for line in lines], dtype=np.int64)
        payload = "".join(f"{line}\n" for line in unique).encode()
        writer = threading.Thread(target=self._write, args=(payload,), name="altbench-meteor-writer",
                                  daemon=True)
        writer.start()
        printed = [self._readline() for _ in range(len(unique))]
        writer.join()
        rows = aggregable(np.array([p.split() for p in printed], dtype=np.float64).reshape(-1, N_PRINTED))
        stats = rows[index]
        scores, corpus = jar_scores(stats, [printed[i] for i in index], self._evaluate)
        return MeteorResult(corpus, scores.tolist(), stats)

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
    """Start the METEOR JVM ahead of scoring (e.g. while a model is generating)."""
    acquire()


def shutdown() -> None:
    """Stop the shared METEOR process (it is otherwise kept for later calls until the interpreter exits)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
            _server = None


atexit.register(shutdown)
