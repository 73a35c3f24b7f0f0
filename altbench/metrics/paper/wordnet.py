"""WordNet synonyms for the paper convention's METEOR, from a table built once per WordNet database.

nltk's METEOR needs, per word ``w``, the names without ``_`` of the lemmas of ``wordnet.synsets(w)``.
Answering that through ``nltk.corpus.wordnet`` costs seconds in every process before the first answer:
the reader scans data.adj for satellites, loads all four index files and the exception lists, and (nltk
3.10) maps "WordNet 3.0" onto the loaded database with ``map_wn``, comparing ``get_version()`` ("3.0")
with the corpus name ``"wordnet"``, which never match, so it reads index.sense twice and maps every sense
key for the multilingual (OMW) look-ups, whatever the database: about 4.4 s on the development machine.
None of that is used by English synonym look-ups.

This module reimplements ``synsets(w)`` for that one use, exactly:

* :func:`build_table` asks nltk's own reader once for every (lemma, part of speech) of the index the
  synonym names of its synsets, and keeps the exception lists: ``{pos: {lemma: names}}``, ``{pos: exc}``;
  the reader it builds skips ``map_wn`` (:class:`_EnglishReader`), which changes no English look-up;
* :func:`synonyms` replays ``WordNetCorpusReader.synsets`` -> ``_morphy`` (exception list, else one pass
  of ``MORPHOLOGICAL_SUBSTITUTIONS``; the word itself and its candidate forms that the index holds for
  that part of speech; parts of speech in ``POS_LIST`` order) on the table;
* the table is stored (pickle) in ``~/.cache/altbench`` (or beside the WordNet files), named by the sha256 of
  the database files it was built from, so a changed database gets a new table. ``altbench setup nltk``
  builds it; a scorer that finds none builds it on first use (tens of seconds, once).

``tests/test_metrics_paper.py`` checks :func:`synonyms` against nltk's ``wordnet.synsets`` on every index
lemma, every exception form, inflected forms and random strings; the reference conformance tests check
the METEOR scores against the released scorer, which uses nltk's WordNet itself.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

TABLE_VERSION = 1
POS_LIST = ("n", "v", "a", "r")  # nltk.corpus.reader.wordnet.POS_LIST
# What the table depends on: the index (lemmas and their synset offsets), the data files (lemma names of
# the synsets) and the exception lists.
HASHED_FILES = (
    "index.noun", "index.verb", "index.adj", "index.adv", "data.noun", "data.verb", "data.adj", "data.adv",
    "noun.exc", "verb.exc", "adj.exc", "adv.exc",
)  # fmt: skip


def _reader_class():
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _EnglishReader(WordNetCorpusReader):
        """nltk's reader without the WordNet-version mapping, which only the OMW look-ups use."""

        def map_wn(self, version="wordnet"):
            return None

    return _EnglishReader


def wordnet_root():
    """nltk's path pointer to ``corpora/wordnet`` (a folder or a zip), as ``nltk.corpus.wordnet`` finds it."""
    from altbench.metrics import nltk_light

    return nltk_light.module("nltk.data").find("corpora/wordnet")


def database_sha256(root=None) -> str:
    """sha256 over the names and bytes of :data:`HASHED_FILES` of the WordNet at ``root``."""
    root = wordnet_root() if root is None else root
    h = hashlib.sha256()
    for name in HASHED_FILES:
        with root.join(name).open() as fh:
            data = fh.read()
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def build_table(root=None) -> dict:
    """The synonym table of the WordNet at ``root``, through nltk's own reader (see module doc)."""
    root = wordnet_root() if root is None else root
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": no OMW reader wanted
        reader = _reader_class()(root, None)
    names_of: dict[tuple[str, int], tuple[str, ...]] = {}
    lemmas: dict[str, dict[str, tuple[str, ...]]] = {pos: {} for pos in POS_LIST}
    for lemma, by_pos in reader._lemma_pos_offset_map.items():
        for pos in POS_LIST:
            offsets = by_pos.get(pos)
            if offsets is None:  # the index has no such (lemma, pos): _morphy filters it out
                continue
            names: set[str] = set()
            for offset in offsets:
                key = (pos, offset)
                if key not in names_of:
                    synset = reader.synset_from_pos_and_offset(pos, offset)
                    names_of[key] = tuple(sorted({sys.intern(n) for n in synset.lemma_names() if n.find("_") < 0}))
                names.update(names_of[key])
            lemmas[pos][sys.intern(lemma)] = tuple(sorted(names))
    # one object per distinct string and tuple: pickle stores each once (smaller file, faster load)
    interned: dict[tuple[str, ...], tuple[str, ...]] = {}
    for table in lemmas.values():
        for lemma, names in table.items():
            table[lemma] = interned.setdefault(names, names)
    exceptions = {pos: {form: tuple(bases) for form, bases in reader._exception_map[pos].items()}
                  for pos in POS_LIST}
    substitutions = {pos: tuple(reader.MORPHOLOGICAL_SUBSTITUTIONS[pos]) for pos in POS_LIST}
    return {"version": TABLE_VERSION, "lemmas": lemmas, "exceptions": exceptions,
            "substitutions": substitutions}


def _table_dirs(root) -> list[Path]:
    """The user's cache first (shared by every copy of the same database: the name holds its hash), then
    beside the WordNet folder (when the cache is not writable)."""
    dirs = [Path.home() / ".cache" / "altbench"]
    path = getattr(root, "path", None)
    if path is not None and Path(path).is_dir():  # a folder (not a zip)
        dirs.append(Path(path).parent)
    return dirs


def table_path(root=None, sha: str | None = None) -> Path:
    """Where the table of this database is (or would be written first)."""
    root = wordnet_root() if root is None else root
    sha = database_sha256(root) if sha is None else sha
    name = f"altbench-wordnet-synonyms-v{TABLE_VERSION}-{sha[:16]}.pickle"
    candidates = [d / name for d in _table_dirs(root)]
    return next((p for p in candidates if p.is_file()), candidates[0])


def _write(table: dict, root, sha: str) -> Path | None:
    name = f"altbench-wordnet-synonyms-v{TABLE_VERSION}-{sha[:16]}.pickle"
    for folder in _table_dirs(root):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".wordnet-synonyms-")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(table, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.chmod(tmp, 0o644)  # mkstemp's 0600: others sharing the data may read it
            os.replace(tmp, folder / name)
            return folder / name
        except OSError:
            continue  # read-only: try the next place; the table still serves this process
    return None


def ensure_table(root=None) -> Path | None:
    """Build and store the table of the current WordNet unless it exists; its path (None: not writable)."""
    root = wordnet_root() if root is None else root
    sha = database_sha256(root)
    path = table_path(root, sha)
    if path.is_file():
        return path
    return _write(build_table(root), root, sha)


@lru_cache(maxsize=1)
def load_table() -> dict:
    """The table of the WordNet nltk finds now: read from disk, else built (and stored when possible)."""
    root = wordnet_root()
    sha = database_sha256(root)
    path = table_path(root, sha)
    if path.is_file():
        try:
            with path.open("rb") as fh:
                table = pickle.load(fh)
            if table.get("version") == TABLE_VERSION:
                return table
        except (OSError, pickle.UnpicklingError, EOFError):
            pass  # unreadable: rebuild below
    table = build_table(root)
    _write(table, root, sha)
    return table


def synonyms(word: str) -> frozenset[str]:
    """The names without ``_`` of the lemmas of ``wordnet.synsets(word)``, plus ``word`` (nltk's METEOR set)."""
    table = load_table()
    lemmas, exceptions, substitutions = table["lemmas"], table["exceptions"], table["substitutions"]
    form = word.lower()  # synsets() lowercases
    names: set[str] = {word}
    for pos in POS_LIST:
        index = lemmas[pos]
        exc = exceptions[pos]
        if form in exc:
            candidates = (form, *exc[form])
        else:
            candidates = (form, *(form[: -len(old)] + new for old, new in substitutions[pos] if form.endswith(old)))
        for candidate in candidates:
            found = index.get(candidate)
            if found:
                names.update(found)
    return frozenset(names)
