"""``altbench splits`` and ``altbench models``."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import click

from altbench.cli.common import data_root_option


@click.command("splits")
@data_root_option
def splits_command(data_root):
    """List the named splits with item counts and where they come from (nothing is downloaded)."""
    from rich.console import Console
    from rich.table import Table

    from altbench.data.reload import recorded_data_roots
    from altbench.data.splits import describe_splits

    rows = describe_splits(data_root)
    table = Table(title="altbench splits")
    for col in ("name", "items", "source / status", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["name"], "-" if row["items"] is None else str(row["items"]), row["source"],
                      row["description"])
    Console().print(table)
    problems: dict[str, list[str]] = {}  # one line per reason, naming the splits it holds for
    for row in rows:
        if row["problem"]:
            problems.setdefault(row["problem"], []).append(row["name"])
    for problem, names in problems.items():
        click.echo(f"{', '.join(names)}: {problem}")
    runs = Path("runs")
    missing = {row["name"] for row in rows if row["problem"]}
    for name, roots in recorded_data_roots(runs).items():
        if name in missing:
            for root in sorted(roots):
                click.echo(f"runs under {runs}/ read {name} from {root}: altbench splits --data-root {root}")
    click.echo("Any JSON Lines file in the reference test format works too: --split FILE --images DIR")


@click.command("models")
def models_command():
    """List the registered models and what each needs."""
    click.echo(format_models(_registry_entries(), shutil.get_terminal_size((80, 24)).columns), nl=False)


def _registry_entries():
    """The registry's entries (imported late, so `altbench --help` stays light)."""
    from altbench.models.registry import REGISTRY

    return REGISTRY.entries()


def format_models(entries, columns: int = 80) -> str:
    """Plain text, one block per entry, wrapped to ``columns`` (at most 100): name and install line, then the
    description and what it needs, indented. A table of four columns is unreadable at 80 columns."""
    from altbench.extras import install_hint

    width = max(40, min(columns, 100))
    head = "altbench models (altbench run --model NAME; also hf:HUB_ID, lmms:NAME or a checkpoint folder)"
    lines = [*textwrap.wrap(head, width), ""]
    for entry in entries:
        install = install_hint(entry.extra) if entry.extra else "core install"
        lines.extend(textwrap.wrap(f"{entry.name}  [{install}]", width, subsequent_indent="    "))
        for text in (entry.description, f"needs: {entry.needs}"):
            if text:
                lines.extend(textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="      ",
                                           break_on_hyphens=False))
    return "\n".join(lines) + "\n"
