"""`jobtrend alerts`: evaluate the rules of config/alerts.toml, store what fired, queue notifications."""

from __future__ import annotations

from pathlib import Path

import click

from jobtrend.cli import AppContext, main, pass_app
from jobtrend.config import ConfigError
from jobtrend.output import FORMATS, render

ALERT_COLUMNS = ("new", "rule", "subject", "week", "direction", "value", "threshold")


@main.command()
@click.option("--dry-run", is_flag=True, help="Print what would fire; store and queue nothing.")
@click.option("--rules", "rules_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read the rules from this file instead of alerts.toml in the config folder.")
@click.option("--weeks", type=click.IntRange(min=0),
              help="Only alerts of the current week and this many weeks before it (default: all weeks).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_app
def alerts(app: AppContext, dry_run: bool, rules_file: Path | None, weeks: int | None, fmt: str) -> None:
    """Evaluate the alert rules over weekly shares and source health; store and notify new alerts.

    Rules: threshold (a share crosses a level), change (a significant move against the trailing weeks),
    source_health (a board yields nothing or errors); see docs/alerts.md. Each alert is stored once;
    `new` marks those this run stored, and only those are queued for notification.

    \b
    Example:
        jobtrend alerts --dry-run
        jobtrend alerts --weeks 2
        jobtrend alerts --rules my-alerts.toml --format json
    """
    from analysis.alerts import evaluate_alerts, load_alert_rules, rules_path
    from jobtrend.db import make_engine

    config = app.db_config
    path = rules_file or rules_path(config.config_dir)
    try:
        rules = load_alert_rules(path, frameworks=[f.slug for f in config.frameworks])
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    if not rules:
        click.echo(f"no alert rules in {path}; see docs/alerts.md")
        return
    notify_settings = None if dry_run else getattr(config, "notify", None)
    engine = make_engine(config.database_url)
    try:
        fired = evaluate_alerts(engine, rules, weeks=weeks, dry_run=dry_run, notify_settings=notify_settings)
    except ImportError as exc:
        raise click.ClickException(f"cannot queue notifications: {exc}") from None
    finally:
        engine.dispose()
    if fired or fmt != "table":
        click.echo(render(ALERT_COLUMNS, [_row(a, fmt) for a in fired], fmt))
    if fmt == "table":
        click.echo(_summary(fired, len(rules), dry_run, _has_recipients(notify_settings)))


def _row(alert, fmt: str) -> tuple:
    new = ("new" if alert.new else "") if fmt == "table" else alert.new
    return (new, alert.rule, alert.subject, alert.details.get("week"), alert.direction, alert.value,
            alert.threshold)


def _has_recipients(settings) -> bool:
    return settings is not None and (getattr(settings, "email", None) is not None
                                     or bool(getattr(settings, "webhooks", ())))


def _summary(fired, n_rules: int, dry_run: bool, notifying: bool) -> str:
    new = sum(1 for a in fired if a.new)
    line = f"{len(fired)} alerts from {n_rules} rules, {new} new"
    if dry_run:
        return line + " (dry run: nothing stored)"
    if new and not notifying:
        return line + " (stored; no [email] recipients or [notify] webhooks configured, nothing queued)"
    return line + (" (stored and queued in the outbox)" if new else "")
