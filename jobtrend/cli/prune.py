"""`jobtrend prune`: thin out the service's own history (sent outbox content, old job runs) by hand."""

from __future__ import annotations

import click

from jobtrend.app.prune import prune as prune_history
from jobtrend.cli import AppContext, pass_app


@click.command()
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep this many days of history (default: [retention] days in jobtrend.toml, 90).")
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@pass_app
def prune(app: AppContext, days: int | None, dry_run: bool) -> None:
    """Empty the content of sent outbox rows and delete finished job runs older than the retention period.

    A pruned outbox row keeps its recipient, subject, times and dedupe key, so nothing already sent is sent
    again; pending and failed rows, and the latest run of each job, are kept. Postings, trends, alerts and
    reports are never pruned. The scheduler's `prune` job does the same every night. See docs/operations.md.

    \b
    Example:
        jobtrend prune --dry-run
        jobtrend prune --days 30
    """
    config = app.db_config
    days = days or config.retention.days
    result = prune_history(config, days=days, dry_run=dry_run)
    verb = "would empty" if dry_run else "emptied"
    click.echo(f"{verb} {result.outbox_emptied} sent outbox rows and "
               f"{'would delete' if dry_run else 'deleted'} {result.job_runs_deleted} job runs "
               f"from before {result.cutoff:%Y-%m-%d %H:%M} UTC ({days} days)")
