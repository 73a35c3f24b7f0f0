"""How the user in front of us sets a model metric's options, so that messages name what they can type.

The same judge options are set as ``--metric-arg judge.model=NAME`` on ``run``/``score``/``meta-eval``, as
``--judge NAME`` or ``--judge-arg KEY=VALUE`` on ``arena``, and as ``metric_args={"judge": {"model": NAME}}``
in the Python API. The metric families' checks run under whichever entry point called them: they name an
option through :func:`option_name` / :func:`option_setting`, and the entry point says which syntax applies
with :func:`option_syntax` (the default is ``--metric-arg``, what the scoring commands take).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class OptionSyntax:
    """name: (family, key) -> how the option is named; setting: (family, key, value) -> how it is set;
    source: what names the metric family itself (``--metric-arg``, ``metric_args``)."""

    name: Callable[[str, str], str]
    setting: Callable[[str, str, str], str]
    source: str


METRIC_ARG = OptionSyntax(name=lambda family, key: f"--metric-arg {family}.{key}",
                          setting=lambda family, key, value: f"--metric-arg {family}.{key}={value}",
                          source="--metric-arg")
API = OptionSyntax(name=lambda family, key: f"metric_args[{family!r}][{key!r}]",
                   setting=lambda family, key, value: f"metric_args={{{family!r}: {{{key!r}: {value}}}}}",
                   source="metric_args")

_current: ContextVar[OptionSyntax] = ContextVar("altbench_metric_option_syntax", default=METRIC_ARG)


@contextlib.contextmanager
def option_syntax(syntax: OptionSyntax) -> Iterator[None]:
    """Messages raised inside name options in ``syntax``."""
    token = _current.set(syntax)
    try:
        yield
    finally:
        _current.reset(token)


def option_name(family: str, key: str) -> str:
    """``--metric-arg judge.mode``, ``--judge-arg mode``, ``metric_args['judge']['mode']``."""
    return _current.get().name(family, key)


def option_setting(family: str, key: str, value: str) -> str:
    """``--metric-arg judge.model=NAME``, ``--judge NAME``, ``metric_args={'judge': {'model': NAME}}``."""
    return _current.get().setting(family, key, value)


def options_source() -> str:
    """What names a metric family: ``--metric-arg`` or ``metric_args``."""
    return _current.get().source
