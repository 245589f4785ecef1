"""`jobtrend report`: build the weekly report, store it, write it as an HTML file and queue it for email."""

from __future__ import annotations

from pathlib import Path

import click

from jobtrend.cli import AppContext, main, pass_app


def _week(ctx: click.Context, param: click.Parameter, value: str | None):
    """Parse ``--week 2026-W47`` into the Monday of that ISO week."""
    if value is None:
        return None
    from jobtrend.weeks import parse_iso_week

    try:
        return parse_iso_week(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--week", metavar="YYYY-Www", callback=_week,
              help="The ISO week to report on, e.g. 2026-W47. Default: the week that ended last Sunday.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the report as a standalone HTML file (charts embedded) to FILE.")
@click.option("--send", is_flag=True, help="Queue the report in the outbox for every recipient (once per week).")
@click.option("--force", is_flag=True, help="Regenerate a stored report (and send it again with --send).")
@click.option("--top", type=click.IntRange(min=1), default=15, show_default=True, help="Frameworks listed.")
@click.option("--stored", is_flag=True,
              help="Show the report stored for the week as it was sent (its text, or its HTML with --out); "
                   "build nothing.")
@pass_app
def report(app: AppContext, week, out: Path | None, send: bool, force: bool, top: int, stored: bool) -> None:
    """Build the weekly report: postings by source and role, top frameworks, movers, alerts, source health.

    The report is stored in `reports` (once per week; --force regenerates it). --out writes a standalone HTML
    file for a browser; --send queues the email (HTML, text, inline charts) in the outbox, once per week.

    \b
    Example:
        jobtrend report                           # the week that ended last Sunday
        jobtrend report --week 2026-W47 --out report.html
        jobtrend report --send                    # queue it for the configured recipients
        jobtrend report --stored --week 2026-W47 --out sent.html   # the stored report, as it was sent
    """
    from analysis.report import build_report, store_report, write_report_file
    from jobtrend.db import make_engine

    if stored and (send or force):
        raise click.UsageError("--stored shows a stored report: it cannot be combined with --send or --force")
    config = app.db_config
    engine = make_engine(config.database_url)
    try:
        if stored:
            _show_stored(engine, week, out)
            return
        built = build_report(engine, week, top=top)
        stored = store_report(engine, built, force=force)
        d = built.data
        click.echo(f"report {d.label} ({d.week.isoformat()} to {d.week_end.isoformat()}): {d.total_postings} postings "
                   f"({d.ai_postings} AI roles), {len(d.frameworks)} frameworks, {len(d.movers)} movers, "
                   f"{len(d.new_entries)} new entries, {len(d.alerts)} alerts, {len(d.source_health)} sources not ok")
        click.echo("stored in reports" if stored else "already stored in reports (use --force to regenerate)")
        if out is not None:
            click.echo(f"wrote {write_report_file(built, out)}")
        if send:
            _send(engine, config, built, force)
    finally:
        engine.dispose()


def _show_stored(engine, week, out: Path | None) -> None:
    """Print the stored report's text, or write its HTML (charts embedded) to ``out``."""
    from sqlalchemy import select

    from jobtrend.models import Report
    from jobtrend.weeks import iso_week_label, last_complete_week

    week = week or last_complete_week()
    with engine.connect() as conn:
        row = conn.execute(select(Report.html, Report.text, Report.generated_at)
                           .where(Report.period_start == week)).first()
    if row is None:
        raise click.ClickException(f"no report stored for {iso_week_label(week)}: `jobtrend report --week "
                                   f"{iso_week_label(week)}` builds and stores it")
    if out is None:
        click.echo(row.text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(row.html, encoding="utf-8")
    click.echo(f"wrote {out} (the report of {iso_week_label(week)} stored {row.generated_at:%Y-%m-%d %H:%M} UTC)")


def _send(engine, config, built, force: bool) -> None:
    """Queue the report for every recipient of ``config.notify``; the outbox sends it once per week."""
    from analysis.report import queue_report

    settings = getattr(config, "notify", None)
    if settings is None or (getattr(settings, "email", None) is None and not getattr(settings, "webhooks", ())):
        raise click.ClickException("nobody to send the report to: add an [email] table with recipients "
                                   "(or [notify] webhooks) to jobtrend.toml")
    try:
        queued = queue_report(engine, settings, built, force=force)
    except ImportError as exc:
        raise click.ClickException(f"cannot send: {exc}") from None
    if queued:
        click.echo(f"queued {queued} message(s) in the outbox; `jobtrend deliver` (or the scheduler) sends them")
    else:
        click.echo(f"the report of {built.label} was already queued (use --force to send it again)")
