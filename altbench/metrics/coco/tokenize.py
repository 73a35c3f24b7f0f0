"""pycocoevalcap's PTB tokenization, several caption sets in one JVM, token-for-token equal to it.

pycocoevalcap's ``PTBTokenizer.tokenize`` writes one caption a line (after replacing ``\\n`` in a caption by a
space) to a file, runs Stanford CoreNLP 3.4.1's ``PTBTokenizer -preserveLines -lowerCase`` on it in a fresh
JVM, splits the output on ``\\n`` and drops tokens in ``PUNCTUATIONS``. A scorer calls it twice (references,
predictions): two JVM start-ups.

Here every caption set is written to its own file and all files go through ONE JVM with ``-ioFileList``.
Each file gets its own lexer that ends at the file's end, exactly as in a separate call. That matters: the
lexer looks ahead across line ends (a caption ending in ``a.`` or ``No.`` is tokenized differently when the
next caption starts with a capital or a digit), so simply concatenating references and predictions would
change the last reference's tokens.

Deliberate difference: besides ``\\n``, the Java tokenizer also ends a line at ``\\r``, ``\\v``, ``\\f``,
U+2028 and U+2029. pycocoevalcap leaves those in, so the tokenizer emits extra lines and every following
caption is paired with the wrong item (a Windows ``\\r\\n`` in one prediction shifts all later
predictions). We replace them by a space as pycocoevalcap does for ``\\n``; on every input without them the
tokens are identical.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from altbench.errors import MissingResourceError

log = logging.getLogger(__name__)

JAVA_MISSING = "coco convention needs Java (apt-get install default-jre-headless)"
# Both JVMs run with an English locale: String.toLowerCase() and java.util.Scanner (METEOR's EVAL parsing)
# follow the default locale (Turkish dotless i, decimal commas). This is what Java picks under C/POSIX/en_*
# locales anyway, so results equal pycocoevalcap's there and do not change with the machine's locale.
JAVA_LOCALE = ("-Duser.language=en", "-Duser.country=US")
LINE_BREAKS = "\n\r\x0b\x0c\u2028\u2029"  # what the PTB lexer (-preserveLines) treats as a line end
_TO_SPACE = str.maketrans({c: " " for c in LINE_BREAKS})


def pycocoevalcap_dir() -> Path:
    import pycocoevalcap

    return Path(next(iter(pycocoevalcap.__path__)))


def ptb_jar() -> Path:
    return pycocoevalcap_dir() / "tokenizer" / "stanford-corenlp-3.4.1.jar"


def meteor_jar() -> Path:
    return pycocoevalcap_dir() / "meteor" / "meteor-1.5.jar"


def punctuations() -> frozenset[str]:
    from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS

    return frozenset(PUNCTUATIONS)


def require_java() -> str:
    """Path of the ``java`` executable, or :class:`MissingResourceError`."""
    java = shutil.which("java")
    if java is None:
        raise MissingResourceError(JAVA_MISSING)
    return java


def _prepare(caption: str) -> str:
    if any(c in caption for c in LINE_BREAKS[1:]):
        log.debug("caption holds a line break other than \\n; replaced by a space (pycocoevalcap would "
                  "misalign the following captions)")
    return caption.translate(_TO_SPACE)


class PTBJob:
    """Tokenize caption sets in a background JVM; :meth:`result` waits for it.

    ``groups[g]`` is the list of captions one ``PTBTokenizer().tokenize`` call would get (in order); the
    result is, per group, the tokenized captions as pycocoevalcap returns them (tokens joined by a space).
    """

    def __init__(self, groups: Sequence[Sequence[str]]):
        java = require_java()
        self._sizes = [len(g) for g in groups]
        self._dir = Path(tempfile.mkdtemp(prefix="altbench-ptb-"))
        listing = []
        for g, captions in enumerate(groups):
            text = "\n".join(_prepare(c) for c in captions)
            # pycocoevalcap encodes strictly (a lone surrogate crashes it); '?' is dropped as punctuation.
            (self._dir / f"g{g}.txt").write_bytes(text.encode("utf-8", errors="replace"))
            listing.append(f"g{g}.txt g{g}.tok")
        (self._dir / "files.list").write_text("\n".join(listing) + "\n")
        # C1 only: a short-lived JVM; halves its time (the lexer is deterministic, tokens are the same)
        cmd = [java, *JAVA_LOCALE, "-XX:TieredStopAtLevel=1", "-cp", str(ptb_jar()),
               "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase",
               "-ioFileList", "files.list"]
        self._proc = subprocess.Popen(cmd, cwd=self._dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def result(self) -> list[list[str]]:
        try:
            _, err = self._proc.communicate()
            if self._proc.returncode != 0:
                detail = err.decode(errors="replace")
                raise RuntimeError(f"PTBTokenizer failed ({self._proc.returncode}): {detail}")
            if err:
                log.debug("PTBTokenizer: %s", err.decode(errors="replace").strip())
            drop = punctuations()
            out = []
            for g, n in enumerate(self._sizes):
                lines = (self._dir / f"g{g}.tok").read_bytes().decode().split("\n")
                if len(lines) < n or any(lines[n:]):
                    raise RuntimeError(f"PTBTokenizer gave {len(lines)} lines for {n} captions")
                out.append([" ".join(w for w in line.rstrip().split(" ") if w not in drop)
                            for line in lines[:n]])
            return out
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


def tokenize_groups(groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """Blocking form of :class:`PTBJob`."""
    return PTBJob(groups).result()


__all__ = ["JAVA_LOCALE", "JAVA_MISSING", "LINE_BREAKS", "PTBJob", "ptb_jar", "pycocoevalcap_dir",
           "require_java", "tokenize_groups"]
