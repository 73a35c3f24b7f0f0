"""METEOR 1.5's paraphrase table cut down, for one scoring, to the entries that scoring can use.

Why: a cold METEOR jar spends most of its start (about 8 of 8.3 s here, 11 CPU-s with its GC threads)
reading the 5.27 million entries of ``data/paraphrase-en.gz`` into its ``ParaphraseTransducer``. METEOR
ships the same remedy as ``FilterParaphrase`` ("filter paraphrase file to one or more references ...
specify the filtered file to the Meteor jar with the -a option"); this is that filter, made exact for any
hypothesis and fast enough to run per scoring. The jar still does all the scoring.

Why the scores cannot change (read from the jar's source: ``ParaphraseMatcher``, ``ParaphraseTransducer``):

* an entry is three lines: a probability (read and ignored), a "reference" phrase r and a paraphrase p;
  ``ParaphraseMatcher`` matches an entry only where r occurs as consecutive words of one line of the pair
  and p as consecutive words of the other. Every entry whose r and p both occur as n-grams of some line of
  this scoring is kept, so every entry that can match is kept;
* the kept entries keep their order, so the transducer emits matches in the same order (the beam search
  sees the same candidate lists); word ids only serve equality tests, and a word missing from the smaller
  table maps to -1, which equals no entry word, as before;
* the lines' words are the jar's: lines are normalized by :mod:`.meteor_normalize` (a transcription of the
  jar's ``Normalizer``, tested against it) and compared under ``str.casefold`` (the jar lowercases with
  Java's ``toLowerCase``; casefolding both sides can only merge words, i.e. keep more entries);
* phrases are compared by a 64-bit polynomial hash of their word ids: a collision keeps an extra entry,
  it never drops one.

The table's word ids, phrase lengths and hashes are worked out once per table file (by its sha256) into
``~/.cache/altbench/meteor-paraphrase-v2-<sha>/`` (about 20 s, 200 MB; :func:`ensure_index`), then read
memory-mapped. ``tests/test_coco_paraphrase.py`` runs the jar with the full and the cut table on the same
pairs and requires identical statistics lines; ``bench/bench_meteor_table.py`` does it at scale.
"""

from __future__ import annotations

import array
import fcntl
import gzip
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from altbench.metrics.coco.meteor_normalize import java_trim, nonbreaking_prefixes, normalized_tokens, tokens
from altbench.metrics.coco.tokenize import meteor_jar

log = logging.getLogger(__name__)

INDEX_VERSION = 2
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the phrase hash (any odd constant is correct)
_BUCKET_SHIFT = np.uint64(64 - 25)  # 2**25 buckets (32 MiB of flags) to pre-screen hashes before isin


def table_file() -> Path:
    """The table the jar reads by default (``Constants.getDefaultParaFileURL``: ``<jar dir>/data/...``)."""
    return meteor_jar().parent / "data" / "paraphrase-en.gz"


@lru_cache(maxsize=4)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def table_sha256(path: Path | None = None) -> str:
    path = table_file() if path is None else path
    st = path.stat()
    return _file_sha256(path, st.st_size, st.st_mtime_ns)


def _index_dirs(sha: str) -> list[Path]:
    from altbench.data.splits import cache_dir

    name = f"meteor-paraphrase-v{INDEX_VERSION}-{sha[:16]}"
    return [cache_dir() / name, table_file().parent / f".altbench-{name}"]


@dataclass(frozen=True)
class Index:
    """The table as arrays: entry e's words are ``words[start[e] : start[e] + ref_len[e] + para_len[e]]``
    (reference phrase, then paraphrase), ids into ``vocab``; hashes are over casefolded-word ids."""

    vocab: list[str]
    fold_ids: dict[str, int]
    words: np.ndarray
    starts: np.ndarray
    ref_len: np.ndarray
    para_len: np.ndarray
    ref_hash: np.ndarray
    para_hash: np.ndarray
    ref_bucket: np.ndarray  # hash >> _BUCKET_SHIFT, stored: the pre-screen then reads 4 bytes an entry
    para_bucket: np.ndarray
    max_len: int

    @property
    def entries(self) -> int:
        return len(self.ref_len)


def _phrase_hashes(fold: np.ndarray, starts: np.ndarray, lengths: np.ndarray, max_len: int) -> np.ndarray:
    """Hash of each phrase ``fold[starts[e] : starts[e] + lengths[e]]`` (h = h * M + id + 1, mod 2**64)."""
    h = np.zeros(len(starts), dtype=np.uint64)
    for k in range(max_len):
        sel = np.flatnonzero(lengths > k)
        h[sel] = h[sel] * _MULT + fold[starts[sel] + k].astype(np.uint64) + np.uint64(1)
    return h


def _starts(ref_len: np.ndarray, para_len: np.ndarray) -> np.ndarray:
    """Offset of each entry's first word in ``words``."""
    ends = np.cumsum(ref_len.astype(np.int64) + para_len)
    return np.concatenate((np.zeros(1, dtype=np.int64), ends[:-1]))


def build_index(dest: Path, source: Path | None = None) -> None:
    """Parse the table into ``dest`` (a new folder), as ``ParaphraseTransducer``'s constructor reads it."""
    source = table_file() if source is None else source
    vocab: dict[str, int] = {}
    words = array.array("I")
    ref_len = array.array("B")
    para_len = array.array("B")
    # BufferedReader.readLine over UTF-8 (newline=None: \n, \r and \r\n end a line, as in Java)
    with gzip.open(source, "rt", encoding="utf-8", errors="replace", newline=None) as fh:
        lines = iter(fh)
        for _prob in lines:
            ref, para = next(lines, None), next(lines, None)
            if para is None:
                raise ValueError(f"{source}: ends inside an entry (the jar would fail reading it)")
            for phrase, lengths in ((ref, ref_len), (para, para_len)):
                toks = tokens(phrase)
                if len(toks) > 255:
                    raise ValueError(f"{source}: a phrase of {len(toks)} words")
                lengths.append(len(toks))
                for t in toks:
                    words.append(vocab.setdefault(t, len(vocab)))
    vocab_list = list(vocab)
    fold_ids: dict[str, int] = {}
    fold_of = np.array([fold_ids.setdefault(w.casefold(), len(fold_ids)) for w in vocab_list], dtype=np.uint32)
    word_arr = np.frombuffer(words, dtype=np.uint32)
    word_arr = word_arr.astype(np.uint16) if len(vocab_list) < 1 << 16 else word_arr
    rl, pl = np.frombuffer(ref_len, dtype=np.uint8), np.frombuffer(para_len, dtype=np.uint8)
    max_len = int(max(rl.max(initial=0), pl.max(initial=0)))
    starts = _starts(rl, pl)
    folded = fold_of[word_arr]
    ref_hash = _phrase_hashes(folded, starts, rl, max_len)
    para_hash = _phrase_hashes(folded, starts + rl, pl, max_len)
    dest.mkdir(parents=True)
    np.save(dest / "words.npy", word_arr)
    np.save(dest / "starts.npy", starts.astype(np.uint32) if len(word_arr) < 1 << 32 else starts)
    np.save(dest / "ref_len.npy", rl)
    np.save(dest / "para_len.npy", pl)
    np.save(dest / "ref_hash.npy", ref_hash)
    np.save(dest / "para_hash.npy", para_hash)
    np.save(dest / "ref_bucket.npy", (ref_hash >> _BUCKET_SHIFT).astype(np.uint32))
    np.save(dest / "para_bucket.npy", (para_hash >> _BUCKET_SHIFT).astype(np.uint32))
    (dest / "vocab.txt").write_text("\n".join(vocab_list), encoding="utf-8")
    meta = {"version": INDEX_VERSION, "sha256": table_sha256(source), "entries": len(rl), "max_len": max_len,
            "words": len(vocab_list)}
    (dest / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def ensure_index() -> Path | None:
    """The index folder of the jar's table, built now if missing (None where no folder is writable)."""
    sha = table_sha256()
    for folder in _index_dirs(sha):
        if (folder / "meta.json").is_file():
            return folder
    for folder in _index_dirs(sha):
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            with (folder.parent / f".{folder.name}.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others wait and then find it
                if (folder / "meta.json").is_file():
                    return folder
                log.warning("building METEOR's paraphrase index once for this table (about 20 s): %s", folder)
                tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
                try:
                    shutil.rmtree(tmp)
                    build_index(tmp)
                    os.replace(tmp, folder)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                return folder
        except (EOFError, ValueError, gzip.BadGzipFile) as exc:  # a damaged table: the jar reads it whole
            log.warning("METEOR's paraphrase table could not be indexed (%s); the jar gets the full table", exc)
            return None
        except OSError as exc:
            log.debug("paraphrase index not writable in %s: %s", folder.parent, exc)
    return None


@lru_cache(maxsize=2)
def load_index(folder: Path) -> Index:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
    fold_ids: dict[str, int] = {}
    for w in vocab:
        fold_ids.setdefault(w.casefold(), len(fold_ids))
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
              for name in ("words", "starts", "ref_len", "para_len", "ref_hash", "para_hash", "ref_bucket",
                           "para_bucket")}
    return Index(vocab=vocab, fold_ids=fold_ids, max_len=int(meta["max_len"]), **arrays)


def score_line_parts(line: str) -> list[str]:
    """The texts the jar normalizes in one ``SCORE`` line: ``line.split("\\\\|\\\\|\\\\|")`` (Java drops
    trailing empty strings), every part after the first, trimmed."""
    parts = line.split("|||")
    while parts and parts[-1] == "":
        parts.pop()
    return [java_trim(p) for p in parts[1:]]


def corpus_hashes(texts: Iterable[str], index: Index, nbp: dict[str, int]) -> np.ndarray:
    """Sorted distinct hashes of every n-gram (n <= the longest phrase) of the normalized texts."""
    unknown = len(index.fold_ids)
    ids = array.array("I")
    get = index.fold_ids.get
    for text in texts:
        ids.extend([get(t.casefold(), unknown) for t in normalized_tokens(text, nbp)])
        ids.append(unknown)  # a window over two texts holds this id, as does one over a word no entry has
    seq = np.frombuffer(ids, dtype=np.uint32).astype(np.uint64) + np.uint64(1)
    unknowns = np.concatenate(([0], np.cumsum(seq == unknown + 1)))  # unknown ids before each position
    found = []
    h = np.zeros(len(seq), dtype=np.uint64)
    for n in range(1, index.max_len + 1):
        h = h[: len(seq) - n + 1] * _MULT + seq[n - 1 :]  # windows [i, i + n)
        clean = unknowns[n:] == unknowns[: len(unknowns) - n]  # no entry phrase holds the unknown id
        found.append(h[clean])
    return _sorted_unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` by one sort (numpy 2's hash-based unique took 7x longer on these hashes)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def kept_entries(index: Index, hashes: np.ndarray) -> np.ndarray:
    """Ids (ascending) of the entries whose two phrases both hash to one of ``hashes`` (sorted, distinct)."""
    flags = np.zeros(1 << (64 - int(_BUCKET_SHIFT)), dtype=bool)
    flags[hashes >> _BUCKET_SHIFT] = True
    cand = np.flatnonzero(flags[index.ref_bucket] & flags[index.para_bucket])
    exact = _member(index.ref_hash[cand], hashes) & _member(index.para_hash[cand], hashes)
    return cand[exact]


def _member(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_unique)`` by binary search (isin sorts both again: 10x slower here)."""
    if len(sorted_unique) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_unique, values), len(sorted_unique) - 1)
    return sorted_unique[pos] == values


def write_table(index: Index, entries: np.ndarray, dest: Path) -> None:
    """The kept entries in the jar's format (gzip; ``0`` stands for the probability the jar ignores)."""
    starts = index.starts
    vocab = index.vocab
    out = []
    for e, s, r, p in zip(entries.tolist(), starts[entries].tolist(), index.ref_len[entries].tolist(),
                          index.para_len[entries].tolist()):
        ws = [vocab[w] for w in index.words[s : s + r + p].tolist()]
        out.append(f"0\n{' '.join(ws[:r])}\n{' '.join(ws[r:])}\n")
    with gzip.open(dest, "wb", compresslevel=1) as fh:
        fh.write("".join(out).encode("utf-8"))


def cut_table(score_lines: Iterable[str], dest: Path) -> int | None:
    """Write the table cut for these ``SCORE`` lines to ``dest``; its number of entries, or None when no
    index can be had (the caller then uses the full table)."""
    folder = ensure_index()
    if folder is None:
        return None
    index = load_index(folder)
    texts = {part for line in score_lines for part in score_line_parts(line)}
    entries = kept_entries(index, corpus_hashes(texts, index, nonbreaking_prefixes(meteor_jar())))
    write_table(index, entries, dest)
    return len(entries)
