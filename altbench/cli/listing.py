"""``altbench splits`` and ``altbench models``."""

from __future__ import annotations

import click

from altbench.cli.common import data_root_option


@click.command("splits")
@data_root_option
def splits_command(data_root):
    """List the named splits with item counts and where they come from."""
    from rich.console import Console
    from rich.table import Table

    from altbench.data.splits import describe_splits

    table = Table(title="altbench splits")
    for col in ("name", "items", "source / status", "description"):
        table.add_column(col)
    for row in describe_splits(data_root):
        table.add_row(row["name"], "-" if row["items"] is None else str(row["items"]), row["source"],
                      row["description"])
    Console().print(table)
    click.echo("Any JSON Lines file in the reference test format works too: --split FILE --images DIR")


@click.command("models")
def models_command():
    """List the registered models and what each needs."""
    from rich.console import Console
    from rich.table import Table

    from altbench.models.registry import REGISTRY

    table = Table(title="altbench models")
    for col in ("name", "adapter", "needs", "description"):
        table.add_column(col)
    for entry in REGISTRY.entries():
        table.add_row(entry.name, entry.target, entry.needs, entry.description)
    Console().print(table)
