"""User-facing errors. The CLI prints their message on one line and exits with status 2 (no traceback)."""

from __future__ import annotations

import errno
import os


class AltbenchError(Exception):
    """A problem with the user's input or environment, not a bug: bad file, unknown name, missing data."""

    exit_code = 2


class DataError(AltbenchError):
    """A split, predictions file or image that cannot be read as expected."""


class MissingResourceError(AltbenchError):
    """A model's weights, NLTK data, Java or an API key that is needed but absent."""


class WriteError(AltbenchError):
    """A file or folder altbench must write cannot be: a full disk, a read-only folder, a refused permission."""

    def __init__(self, path: object, exc: OSError) -> None:
        super().__init__(f"cannot write {os.fsdecode(path)}: {os_reason(exc)}")
        self.path = path
        self.errno = exc.errno


# what an error number means when the operation that failed is not known: these only come from writing
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG})


def os_reason(exc: OSError) -> str:
    """The system's words for an OSError (``No space left on device``), without its errno prefix and path.

    By its number where it has one: pyarrow, for one, words a full disk as "Error writing bytes to file.
    Detail: [errno 28] No space left on device".
    """
    if isinstance(exc.errno, int) and exc.errno > 0:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def describe_os_error(exc: OSError, doing: str) -> str:
    """One line for an OSError nobody translated on its way up: the path it names, else what was being done.

    ``doing`` names the operation (the command) for an error that names no file.
    """
    if exc.filename is None:
        return f"{doing}: {os_reason(exc)}"
    where = os.fsdecode(exc.filename)
    if exc.filename2 is not None:
        where = f"{where} -> {os.fsdecode(exc.filename2)}"
    if exc.errno in WRITE_ERRNOS:
        return f"cannot write {where}: {os_reason(exc)}"
    return f"{where}: {os_reason(exc)}"
