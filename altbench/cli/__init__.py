"""The ``altbench`` command: a thin click shell over the pipeline modules.

Subcommands are imported lazily, so ``altbench --help`` and ``altbench score`` never import torch.
User errors (:class:`~altbench.errors.AltbenchError`) and OS errors (a full disk, a read-only folder, a
refused permission: any :class:`OSError`, never a bug's exception) become one line on stderr, exit status 2.

Exit status, every command:

====  ============================================================================================
0     done
1     ``regress``: a regression
2     a user error: bad input, a wrong name or option, an OS error on the user's paths, a run folder in
      use by another run; nothing was written (a run keeps the batches it finished)
3     ``regress``: inconclusive (``--on-inconclusive fail``, the default)
4     ``compare`` / ``regress``: the runs are not comparable
5     ``run``, ``score``, ``arena``, ``judge-check``: the command ran and wrote its results, but scored (judged) nothing, or
      more items went unscored than ``--max-failure-rate`` allows; the failures are listed in the results,
      and re-running the same command retries them
130   interrupted (Ctrl-C); finished batches are kept
====  ============================================================================================
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from altbench import __version__
from altbench.errors import AltbenchError, describe_os_error
from altbench.extras import extra_for_module, install_hint

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
INTERRUPTED = "altbench: interrupted; finished batches are saved, re-run the same command to resume"
# the results are written, but nothing was scored or judged, or more failed than --max-failure-rate allows
EXIT_INCOMPLETE = 5

COMMANDS = {
    "run": ("altbench.cli.run_cmd:run_command", "Generate predictions with a model on a split, then score them."),
    "score": ("altbench.cli.score_cmd:score_command", "Score a saved predictions file (no model, no torch)."),
    "splits": ("altbench.cli.listing:splits_command", "List the named splits with item counts and sources."),
    "models": ("altbench.cli.listing:models_command", "List the registered models and what each needs."),
    "setup": ("altbench.cli.setup_cmd:setup_group", "Prepare offline resources (NLTK data, METEOR's paraphrase index)."),
    "compare": ("altbench.cli.compare_cmd:compare_command",
                "Paired significance tests between runs (differences, CIs, p-values, Holm)."),
    "regress": ("altbench.cli.compare_cmd:regress_command",
                "CI gate: fail when a candidate run is worse than a baseline run."),
    "leaderboard": ("altbench.cli.publish_cmd:leaderboard_command",
                    "Build an accessible static HTML leaderboard from runs."),
    "probe": ("altbench.cli.probe_cmd:probe_command",
              "Counterfactual probes of a run: does the model use the image and the post's context?"),
    "report": ("altbench.cli.publish_cmd:report_command", "Write an HTML + Markdown report of one run."),
    "export": ("altbench.cli.export_cmd:export_group",
               "Export results as Parquet/CSV, or altbench tasks for lmms-eval (task YAML + utils)."),
    "arena": ("altbench.cli.arena_cmd:arena_command",
              "Pairwise judge battles between runs; Bradley-Terry ratings with bootstrap CIs."),
    "judge-check": ("altbench.cli.judgecheck_cmd:judgecheck_command",
                    "How far to trust a judge: position/self-consistency, agreement, length bias, with CIs."),
    "meta-eval": ("altbench.cli.metaeval_cmd:metaeval_command",
                  "How well each metric agrees with human judgments (Kendall tau, pairwise accuracy)."),
    "train-baseline": ("altbench.cli.train_cmd:train_command",
                       "Train an SFT, DPO, MCM-DPO, mDPO or MPO baseline with TRL (paper or CPU demo recipes)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _, attr = COMMANDS[name][0].partition(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # short help from the table, so --help imports no subcommand module
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in self.list_commands(ctx)])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # before click's own handler, which would say "Aborted!" and exit 1
            click.echo(INTERRUPTED, err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except AltbenchError as exc:
            click.echo(f"altbench: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            # an OS error no code path translated (the writers name their file themselves): still one line
            # with its path; only OSError, so a bug keeps its traceback
            click.echo(f"altbench: error: {describe_os_error(exc, ctx.invoked_subcommand or 'altbench')}",
                       err=True)
            ctx.exit(EXIT_USER_ERROR)
        except ModuleNotFoundError as exc:
            # safety net behind the explicit `altbench.extras.require` checks: a module of an optional extra
            # that some code path imports without checking still gives the one-line fix, not a traceback
            extra = extra_for_module(exc.name)
            if extra is None:
                raise
            click.echo(f"altbench: error: {ctx.invoked_subcommand or 'this command'} needs {exc.name} "
                       f"(not installed): {install_hint(extra)}", err=True)
            ctx.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="altbench")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """altbench: evaluate and train context-aware alt-text generators."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    pin_blas_threads()
    try:
        cli(prog_name="altbench")
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        sys.exit(EXIT_INTERRUPTED)


def pin_blas_threads() -> None:
    """One OpenBLAS thread in this process and in the executor's workers (which inherit the environment).

    The bootstrap's and the permutation test's matrix products then give the same bits on any number of cores:
    OpenBLAS splits a product over its threads differently from one thread and rounds differently (measured:
    20,000 items, one thread against two, the sums differ in their last bits). The parallel work is the
    executor's (``--jobs``, :mod:`altbench.executor`). Set before numpy loads OpenBLAS; a value the user set
    is kept (the resampling chunks are still made on one thread: :mod:`altbench.stats.blas`, for library
    callers too). torch does not read it.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
