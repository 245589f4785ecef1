"""`jobtrend mentions POSTING_ID`: show every framework match in one posting, and why it counted or not."""

from __future__ import annotations

import click

from jobtrend.app.analyze import explain_mentions
from jobtrend.cli import AppContext, pass_app
from jobtrend.messages import terminal_text


@click.command()
@click.argument("posting_id", type=int)
@pass_app
def mentions(app: AppContext, posting_id: int) -> None:
    """Show each framework match in a posting with the words around it, and why it counted.

    A counted match names the entry it counts for and the parents it rolls up to ("ray-serve -> ray"); a match
    a gate of config/frameworks.toml rejected says which (an excluded phrase, or no `near` term close enough).
    It reads the posting and the taxonomy as they are now, so it also previews a taxonomy change.

    \b
    Example:
        jobtrend mentions 1234
        jobtrend sql "SELECT id, title FROM postings LIMIT 5"   # to find an id
    """
    config = app.db_config
    posting, found = explain_mentions(config, posting_id)
    click.echo(terminal_text(f"posting {posting.id}: {posting.title or '(no title)'}"
                             + (f" ({posting.company})" if posting.company else "")))
    if not found:
        click.echo("no framework matched")
    for line in explanation_lines(found):
        click.echo(line)


def explanation_lines(found) -> list[str]:
    """Two lines per match: verdict and entry, then the match in [brackets] within its context (scraped text,
    made safe for a terminal)."""
    lines = []
    for e in found:
        entry = " -> ".join((e.slug, *e.parents))
        verdict = "counted " if e.counted else f"rejected ({e.reason})"
        lines.append(f"{verdict}  {entry}  at {e.start}")
        lines.append(f"    ... {' '.join(filter(None, (e.before, '[' + e.form + ']', e.after)))} ...")
    counted = sum(1 for e in found if e.counted)
    if found:
        lines.append(f"{counted} counted, {len(found) - counted} not counted")
    return [terminal_text(line) for line in lines]
