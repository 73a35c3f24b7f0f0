"""How work is handed out as pure tasks: a *starmap*, the one thing a module that splits its work is given.

A starmap takes a module-level function and a list of argument tuples, and returns an iterator over
``fn(*args)`` for each tuple, in order. :data:`IN_PROCESS` (:func:`itertools.starmap`) runs them here, one
after another, as the results are asked for; :meth:`altbench.executor.Executor.starmap` hands them all to its
worker processes at once and yields each result when it is ready. The statistics and metric modules that
split their work (the bootstrap's chunks of resamples, the paper convention's blocks of items, the
diagnostics) take a starmap argument and never know where their tasks run; the pipeline decides.

A task must be a pure function of its arguments (and of files it only reads), so that where it runs changes
no number.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

Starmap = Callable[[Callable[..., Any], Iterable[tuple]], Iterator[Any]]

IN_PROCESS: Starmap = itertools.starmap
