"""Adapters used by the run tests: slow (to be killed mid-run), flaky (to fail items), image-reading."""

import os
import time

from altbench.models.base import Adapter, Generation


class SlowEcho(Adapter):
    """Echoes the context; sleeps ALTBENCH_TEST_DELAY seconds per item (kept out of the fingerprint)."""

    uses_images = False

    def generate(self, items, images):
        time.sleep(float(os.environ.get("ALTBENCH_TEST_DELAY", "0")) * len(items))
        return [Generation(it.id, it.context[:60]) for it in items]


class Flaky(Adapter):
    """Raises on any batch holding an id listed in ALTBENCH_TEST_FAIL_IDS (comma-separated)."""

    uses_images = True

    def generate(self, items, images):
        bad = set(filter(None, os.environ.get("ALTBENCH_TEST_FAIL_IDS", "").split(",")))
        if bad & {it.id for it in items}:
            raise RuntimeError("model exploded")
        return [Generation(it.id, f"{img.size[0]}px {it.context[:20]}") for it, img in zip(items, images)]


class Gated(Adapter):
    """Echoes the context once the file ALTBENCH_TEST_GATE exists, so a test decides when generation ends.

    On its first batch it creates ALTBENCH_TEST_STARTED/<pid>: the process got past start-up (and past the
    run folder's lock) into generation. The two-minute wait is a safety valve for a test that never opens
    the gate, not a timing the tests rely on.
    """

    uses_images = False

    def generate(self, items, images):
        from pathlib import Path

        started = os.environ.get("ALTBENCH_TEST_STARTED")
        if started:
            Path(started, str(os.getpid())).touch()
        gate = Path(os.environ["ALTBENCH_TEST_GATE"])
        give_up = time.monotonic() + 120
        while not gate.exists():
            if time.monotonic() > give_up:
                raise RuntimeError(f"the test never opened the gate {gate}")
            time.sleep(0.01)
        return [Generation(it.id, it.context[:60]) for it in items]
