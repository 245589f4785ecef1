"""`jobtrend sources`: the health of every source, from the state each crawl leaves on its row."""

from __future__ import annotations

import click

from jobtrend.cli import AppContext, pass_app
from jobtrend.db import open_engine, session_factory
from jobtrend.health import HEALTH_COLUMNS, health_rows
from jobtrend.output import FORMATS, render


@click.command()
@click.option("--all", "include_disabled", is_flag=True, help="Include sources disabled in sources.toml.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_app
def sources(app: AppContext, include_disabled: bool, fmt: str) -> None:
    """Show each source's health: state, last ok crawl, open postings and last error.

    States: ok, empty (never listed anything), zero_yield (lists nothing after listing postings: flagged),
    gone (404/410: nothing is closed), failing (other errors), new (never crawled). Troubled sources first.

    \b
    Example:
        jobtrend sources
        jobtrend sources --format json | jq '.[] | select(.health != "ok")'
    """
    with open_engine(app.db_config.database_url) as engine, session_factory(engine)() as session:
        rows = health_rows(session, include_disabled=include_disabled)
    click.echo(render(HEALTH_COLUMNS, rows, fmt))
