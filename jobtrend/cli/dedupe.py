"""`jobtrend dedupe`: link duplicate postings to their canonical posting, or measure how well that works."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.duplicates_eval import PAIRS_PATH, load_pairs, report
from jobtrend.app.analyze import link_duplicates
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.lines import dedupe_line


@click.command()
@click.option("--evaluate", "evaluate_only", is_flag=True,
              help="Print precision, recall and F1 on the labelled real pairs, a threshold sweep and every "
                   "disagreement; the database is not touched.")
@click.option("--pairs", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Labelled pairs for --evaluate [default: tests/data/duplicate_pairs.jsonl].")
@pass_app
def dedupe(app: AppContext, evaluate_only: bool, pairs: Path | None) -> None:
    """Link postings that are the same job to one canonical posting (postings.duplicate_of_id).

    The same job: an HN comment linking a board posting, one ad copied per location or reposted under a new
    id, an HN ad repeated in a later thread. Trends count canonical postings only, so run it before `trends`.
    It recomputes from the stored postings and writes only what changed: a second run changes nothing.
    `jobtrend analyze` runs it too, after mentions and roles.

    \b
    Example:
        jobtrend dedupe
        jobtrend dedupe --evaluate      # precision/recall on labelled real pairs
    """
    if evaluate_only:
        click.echo(report(load_pairs(pairs or PAIRS_PATH)))
        return
    click.echo(dedupe_line(link_duplicates(app.db_config)))
