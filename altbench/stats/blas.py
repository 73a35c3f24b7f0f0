"""One BLAS thread while the resampling products are computed, so that their last bits depend on nothing else.

OpenBLAS splits a threaded matrix product differently for different shapes, and the split changes the order in
which each sum is accumulated: with two or more BLAS threads, the column of one run in ``W @ [S_1 | ... | S_k]``
differs in its last bits from the same column in ``W @ [S_1 | S_2]``. The bootstrap's intervals (and their
equality with the per-pair computation) would then depend on which other runs a leaderboard holds, and on the
machine's core count. :func:`single_threaded` sets numpy's OpenBLAS to one thread for the duration (the chunks
are spread over worker processes by :mod:`altbench.executor`) and restores it after; where numpy's BLAS is
not an OpenBLAS found in this process (another BLAS, another OS), it does nothing.
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

_LOCK = threading.Lock()
_DEPTH = 0
_SAVED = 0
SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")
GETTERS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads")


@lru_cache(maxsize=1)
def _openblas() -> tuple[object, object] | None:
    """(get, set) of the OpenBLAS numpy loaded, or None."""
    import numpy  # noqa: F401 - its BLAS must be loaded to be found

    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            found = {m for m in re.findall(r"(/\S+\.so[.\d]*)", fh.read()) if "openblas" in m.lower()}
        libraries = sorted(found, key=lambda m: ("numpy" not in m, m))  # numpy's, not scipy's own copy
    except OSError:
        return None
    for path in libraries:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, s) for s in SETTERS if hasattr(lib, s)), None)
        getter = next((getattr(lib, g) for g in GETTERS if hasattr(lib, g)), None)
        if setter is not None and getter is not None:
            return getter, setter
    return None


@contextmanager
def single_threaded() -> Iterator[None]:
    """numpy's OpenBLAS on one thread inside the block (nested and concurrent blocks share one setting)."""
    global _DEPTH, _SAVED
    found = _openblas()
    if found is None:
        yield
        return
    get, put = found
    with _LOCK:
        if _DEPTH == 0:
            _SAVED = int(get())  # type: ignore[operator]
            if _SAVED != 1:
                put(1)  # type: ignore[operator]
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0 and _SAVED != 1:
                put(_SAVED)  # type: ignore[operator]
