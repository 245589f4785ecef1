"""`jobtrend init`: create or upgrade the database, sync sources and frameworks, make sure a role model exists."""

from __future__ import annotations

import click

from jobtrend.app.setup import init as initialise
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.lines import model_line
from jobtrend.redact import redact_url


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database, load sources and frameworks from the config, and make sure a role
    model exists (trained from the bundled corpus in data/training/ when there is none).

    Safe to run again: migrations only move forward, the sync updates rows in place, and an existing model is kept.

    \b
    Example:
        jobtrend init
        JOBTREND_DATABASE_URL=postgresql+psycopg://jobtrend@localhost/jobtrend jobtrend init
    """
    config = app.config
    if not config.model_path.exists():
        click.echo(f"no role model at {config.model_path}: training one from the bundled corpus (10 to 30 s)")
    result = initialise(config)
    click.echo(f"database ready: {redact_url(config.database_url)}")
    click.echo(f"sources: {result.sources}  frameworks: {result.frameworks}")
    click.echo(model_line(result))
