"""`jobtrend alerts`: evaluate the rules of config/alerts.toml, store what fired, queue notifications; `--list`
shows the alerts stored so far."""

from __future__ import annotations

from pathlib import Path

import click

from jobtrend.app.alerts import LIST_COLUMNS, AlertsResult, stored_alerts
from jobtrend.app.alerts import alerts as evaluate
from jobtrend.cli import AppContext, pass_app
from jobtrend.output import FORMATS, render

ALERT_COLUMNS = ("new", "rule", "subject", "week", "direction", "value", "threshold")


@click.command()
@click.option("--dry-run", is_flag=True, help="Print what would fire; store and queue nothing.")
@click.option("--rules", "rules_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read the rules from this file instead of alerts.toml in the config folder.")
@click.option("--weeks", type=click.IntRange(min=0),
              help="Only alerts of the current week and this many weeks before it (default: all weeks).")
@click.option("--list", "list_stored", is_flag=True,
              help="List the stored alerts, newest first (with --limit), instead of evaluating the rules.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="With --list: at most this many alerts.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_app
def alerts(app: AppContext, dry_run: bool, rules_file: Path | None, weeks: int | None, list_stored: bool,
           limit: int, fmt: str) -> None:
    """Evaluate the alert rules over weekly shares and source health; store and notify new alerts.

    Rules: threshold (a share crosses a level), change (a significant move against the trailing weeks),
    source_health (a board fails several crawls in a row, or yields nothing), classifier_drift; see
    docs/alerts.md. Each alert is stored once; `new` marks those this run stored, and only those are
    queued for notification: the failing sources of a run as one digest, at most max_messages messages.

    \b
    Example:
        jobtrend alerts --dry-run
        jobtrend alerts --weeks 2
        jobtrend alerts --rules my-alerts.toml --format json
        jobtrend alerts --list
    """
    if list_stored:
        if dry_run or rules_file or weeks is not None:
            raise click.UsageError("--list shows stored alerts: it takes no --dry-run, --rules or --weeks")
        click.echo(render(LIST_COLUMNS, stored_alerts(app.db_config, limit=limit), fmt))
        return
    result = evaluate(app.db_config, rules_file=rules_file, weeks=weeks, dry_run=dry_run)
    if not result.rules:
        click.echo(f"no alert rules in {result.path}; see docs/alerts.md")
        return
    if result.fired or fmt != "table":
        click.echo(render(ALERT_COLUMNS, [_row(a, fmt) for a in result.fired], fmt))
    if fmt == "table":
        click.echo(_summary(result))


def _row(alert, fmt: str) -> tuple:
    new = ("new" if alert.new else "") if fmt == "table" else alert.new
    return (new, alert.rule, alert.subject, alert.details.get("week"), alert.direction, alert.value,
            alert.threshold)


def _summary(result: AlertsResult) -> str:
    line = f"{len(result.fired)} alerts from {result.rules} rules, {result.new} new"
    if result.dry_run:
        return line + " (dry run: nothing stored)"
    if result.new and not result.notifying:
        return line + " (stored; no [email] recipients or [notify] webhooks configured, nothing queued)"
    return line + (" (stored and queued in the outbox)" if result.new else "")
