"""`jobtrend evaluate`: measure analysis steps on labelled real data (``evaluate mentions``)."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.mentions_eval import GOLD_PATH, load_mention_gold, report, unlisted_counts
from analysis.mentions_eval import evaluate as score
from jobtrend.cli import AppContext, pass_app
from jobtrend.config import load_frameworks


@click.group()
def evaluate() -> None:
    """Measure an analysis step on labelled real postings; the database is not touched.

    \b
    Example:
        jobtrend evaluate mentions              # precision/recall of the mention matcher
        jobtrend evaluate mentions --show 100   # and the first 100 disagreements
    """


@evaluate.command()
@click.option("--show", type=int, default=20, show_default=True, metavar="N",
              help="How many disagreements to print (-1: all).")
@click.option("--gold", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Labelled postings [default: tests/data/mentions_gold.jsonl.gz].")
@click.option("--taxonomy", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Taxonomy to score [default: the configured frameworks.toml].")
@click.option("--unlisted", "show_unlisted", is_flag=True,
              help="Also list the tools the postings mention that had no taxonomy entry, most frequent first.")
@pass_app
def mentions(app: AppContext, show: int, gold: Path | None, taxonomy: Path | None, show_unlisted: bool) -> None:
    """Micro and per-entry precision, recall and F1 of the mention matcher on labelled real postings.

    Scores only the entries that existed when the set was labelled and still exist; a parent reported for a
    labelled child (roll-up) is accepted. Per-entry rows are printed worst first, then the disagreements
    with their context. The labelling rules are in docs/annotating-mentions.md.

    \b
    Example:
        jobtrend evaluate mentions
        jobtrend evaluate mentions --show -1 --unlisted
    """
    frameworks = load_frameworks(taxonomy) if taxonomy else app.config.frameworks
    gold_set = load_mention_gold(gold or GOLD_PATH)
    click.echo(report(score(gold_set, frameworks), show=show))
    if show_unlisted:
        click.echo("\nunlisted (postings): " + ", ".join(f"{name} {n}" for name, n in
                                                        unlisted_counts(gold_set).most_common()))
