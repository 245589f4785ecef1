"""`jobtrend status`: a one-screen summary of the database, crawls, model, report, outbox and scheduler."""

from __future__ import annotations

import json

import click

from jobtrend.cli import AppContext, main, pass_app


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def status(app: AppContext, fmt: str) -> None:
    """Show what the system is doing: database (password hidden) and schema revision, postings by source kind,
    the last crawl and health of each source kind and the worst sources, model and taxonomy versions with the
    postings waiting for them, the last report, the outbox and the scheduler's jobs. Reads only.

    \b
    Example:
        jobtrend status
        jobtrend status --format json | jq .outbox
    """
    from jobtrend.status import collect, render

    result = collect(app.config)
    click.echo(json.dumps(result.as_dict(), indent=2) if fmt == "json" else render(result))
