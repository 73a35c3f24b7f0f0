"""Imported once by the executor's fork server (its preload, :mod:`altbench.executor`): runs the warm-up functions
the executor names in ``ALTBENCH_EXECUTOR_WARM`` (:data:`altbench.executor.WARM_ENV`), so that every worker forked from the server starts with their work done (the
paper convention's WordNet table and sentence model loaded once, not once per worker).

A warm-up function must be idempotent and cached (the workers run it again when they start, at no cost when the
server did it). Any failure here is left to the workers, which run the same functions and report it where it
happens: the server itself must not fail to start.
"""

from __future__ import annotations

import importlib
import os

from altbench.executor import WARM_ENV


def run_warm_ups(targets: str) -> None:
    for target in filter(None, targets.split(",")):
        module, _, name = target.partition(":")
        try:
            getattr(importlib.import_module(module), name)()
        except Exception:  # noqa: BLE001, S112 - the workers run it again and report what fails
            continue


run_warm_ups(os.environ.get(WARM_ENV, ""))
