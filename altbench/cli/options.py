"""The statistical options, spelled and defaulted the same way on every command (docs/statistics.md, section 0).

``--resamples N`` (bootstrap resamples) wherever there is a bootstrap, ``--trials N`` (permutation trials)
on the commands that run the permutation test (compare, regress, leaderboard), ``--seed``, ``--level`` and
``--alpha``; their defaults are :mod:`altbench.stats.defaults`. Old spellings (``--bootstrap``) still parse
as hidden aliases: --help shows only the current name. ``--jobs N`` (worker processes, :mod:`altbench.executor`)
on every command with parallel work; it changes no number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from altbench.stats import defaults


class HiddenAliases(click.Option):
    """An option whose deprecated spellings still parse but are left out of --help."""

    def __init__(self, *args: Any, hidden_aliases: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_aliases = tuple(hidden_aliases)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        opts = self.opts
        self.opts = self.visible_opts
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = opts

    def get_error_hint(self, ctx: click.Context) -> str:
        """Usage errors name the current spelling (``Invalid value for '--resamples'``)."""
        return " / ".join(f"'{o}'" for o in self.visible_opts)

    @property
    def visible_opts(self) -> list[str]:
        return [o for o in self.opts if o not in self.hidden_aliases]


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def resamples_option(default: int = defaults.RESAMPLES, minimum: int = 100,
                     help: str = "Bootstrap resamples for the 95% confidence intervals.") -> Decorator:
    return click.option("--resamples", "--bootstrap", "resamples", cls=HiddenAliases, hidden_aliases=("--bootstrap",),
                        type=click.IntRange(min=minimum), default=default, show_default=True, help=help)


def trials_option(help: str = "Approximate-randomization (paired permutation) trials of the p-value that "
                              "decides significance.") -> Decorator:
    return click.option("--trials", type=click.IntRange(min=100), default=defaults.TRIALS, show_default=True,
                        help=help)


def seed_option(help: str | None = None) -> Decorator:
    return click.option("--seed", type=int, default=defaults.SEED, show_default=True, help=help)


def alpha_option(help: str) -> Decorator:
    return click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=defaults.ALPHA,
                        show_default=True, help=help)


def level_option(help: str = "Confidence level of the intervals.") -> Decorator:
    return click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=defaults.LEVEL,
                        show_default=True, help=help)


def jobs_option(help: str = "Worker processes for the parallel work (scoring blocks, resampling chunks, METEOR "
                            "JVMs); 1: none, everything in this process. No number depends on it.") -> Decorator:
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
                        show_default="the usable cores", help=help)
