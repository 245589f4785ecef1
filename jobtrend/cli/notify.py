"""`jobtrend deliver` and `jobtrend outbox`: send the queued emails and webhooks now, and look at the queue."""

from __future__ import annotations

import re

import click

from jobtrend.cli import AppContext, main, pass_app
from jobtrend.db import make_engine
from jobtrend.output import FORMATS, render

OUTBOX_COLUMNS = ("id", "channel", "recipient", "subject", "status", "attempts", "next_attempt_at", "last_error")


def _shown_recipient(channel: str, recipient: str) -> str:
    """A webhook URL often holds a token: show only its scheme and host."""
    if channel != "webhook":
        return recipient
    match = re.match(r"^([a-zA-Z][\w+.-]*://[^/?#]*)", recipient)
    return match.group(1) + "/..." if match and len(match.group(1)) < len(recipient) else recipient


def _rows(outbox_rows) -> list[tuple]:
    return [(r.id, r.channel, _shown_recipient(r.channel, r.recipient), r.subject, r.status, r.attempts,
             r.next_attempt_at if r.status == "pending" else None, r.last_error) for r in outbox_rows]


@main.command()
@click.option("--dry-run", is_flag=True, help="List the rows that are due instead of sending them.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Send at most this many rows.")
@pass_app
def deliver(app: AppContext, dry_run: bool, limit: int) -> None:
    """Send the pending outbox rows that are due now (emails by SMTP, webhooks by JSON POST).

    Prints how many were sent, will be retried (with backoff) and failed for good. Email needs an [email]
    table in jobtrend.toml; the SMTP password comes from JOBTREND_SMTP_PASSWORD. See docs/operations.md.

    \b
    Example:
        jobtrend deliver
        jobtrend deliver --dry-run
    """
    from analysis.notify import deliver_pending, pending_rows

    config = app.db_config
    engine = make_engine(config.database_url)
    try:
        if dry_run:
            click.echo(render(OUTBOX_COLUMNS, _rows(pending_rows(engine, limit=limit))))
            return
        result = deliver_pending(engine, config.notify, limit=limit)
    finally:
        engine.dispose()
    click.echo(f"sent {result.sent}, retried {result.retried}, failed {result.failed}")


@main.command()
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), help="Only rows with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest rows first.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_app
def outbox(app: AppContext, status: str | None, limit: int, fmt: str) -> None:
    """List outbox rows, newest first: channel, recipient, subject, status, attempts, next attempt, last error.

    Webhook URLs are shown as scheme and host only, since they often hold a token.

    \b
    Example:
        jobtrend outbox
        jobtrend outbox --status pending
        jobtrend outbox --status failed --format json
    """
    from sqlalchemy import select

    from jobtrend.db import session_factory
    from jobtrend.models import Outbox

    engine = make_engine(app.db_config.database_url)
    try:
        query = select(Outbox).order_by(Outbox.id.desc()).limit(limit)
        if status:
            query = query.where(Outbox.status == status)
        with session_factory(engine)() as session:
            rows = _rows(session.scalars(query))
    finally:
        engine.dispose()
    click.echo(render(OUTBOX_COLUMNS, rows, fmt))
