"""`jobtrend deliver` and `jobtrend outbox`: send the queued emails and webhooks now, and look at the queue."""

from __future__ import annotations

import click

from jobtrend.app.deliver import deliver as send_due
from jobtrend.app.deliver import due_messages
from jobtrend.app.deliver import outbox as outbox_rows
from jobtrend.cli import AppContext, pass_app
from jobtrend.output import FORMATS, render
from jobtrend.redact import redact_url

OUTBOX_COLUMNS = ("id", "channel", "recipient", "subject", "status", "attempts", "next_attempt_at", "last_error")


def _rows(rows) -> list[tuple]:
    """Outbox rows for the table; a webhook URL often holds a token: only its scheme and host are shown."""
    return [(r.id, r.channel, redact_url(r.recipient, keep_path=False) if r.channel == "webhook" else r.recipient,
             r.subject, r.status, r.attempts, r.next_attempt_at if r.status == "pending" else None, r.last_error)
            for r in rows]


@click.command()
@click.option("--dry-run", is_flag=True, help="List the rows that are due instead of sending them.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Send at most this many rows.")
@pass_app
def deliver(app: AppContext, dry_run: bool, limit: int) -> None:
    """Send the pending outbox rows that are due now (emails by SMTP, webhooks by JSON POST).

    Prints how many were sent, will be retried (with backoff) and failed for good. When messages were due
    and not one could be sent, it says why in one line and exits 1. A permanent error (no STARTTLS, a 5xx
    answer such as a refused login or recipient) fails the message at once; others are retried. Email needs
    an [email] table in jobtrend.toml; the SMTP password comes from JOBTREND_SMTP_PASSWORD. See
    docs/operations.md.

    \b
    Example:
        jobtrend deliver
        jobtrend deliver --dry-run
    """
    if dry_run:  # reads only: works on a database it cannot write
        click.echo(render(OUTBOX_COLUMNS, _rows(due_messages(app.read_only_config, limit=limit))))
        return
    result = send_due(app.db_config, limit=limit)
    if result.nothing_sent:
        raise click.ClickException(_nothing_sent(result))
    click.echo(f"sent {result.sent}, retried {result.retried}, failed {result.failed}")


def _nothing_sent(result) -> str:
    """One line: ``none of the 2 due messages could be sent (1 will be retried, 1 failed for good): <error>``."""
    error = result.errors[0] if result.errors else "unknown error"
    more = f" (and {len(result.errors) - 1} other errors: see jobtrend outbox)" if len(result.errors) > 1 else ""
    if result.due == 1:
        outcome = "it failed for good" if result.failed else "it will be retried"
        return f"the due message could not be sent ({outcome}): {error}{more}"
    return (f"none of the {result.due} due messages could be sent ({result.retried} will be retried, "
            f"{result.failed} failed for good): {error}{more}")


@click.command()
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]), help="Only rows with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest rows first.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_app
def outbox(app: AppContext, status: str | None, limit: int, fmt: str) -> None:
    """List outbox rows, newest first: channel, recipient, subject, status, attempts, next attempt, last error.

    Webhook URLs are shown as scheme and host only, since they often hold a token. Reads only: works on a
    database it cannot write (a snapshot in a read-only folder, a login granted SELECT only).

    \b
    Example:
        jobtrend outbox
        jobtrend outbox --status pending
        jobtrend outbox --status failed --format json
    """
    click.echo(render(OUTBOX_COLUMNS, _rows(outbox_rows(app.read_only_config, status=status, limit=limit)), fmt))
