"""`jobtrend report`: build the weekly report, store it, write it as an HTML file and queue it for email."""

from __future__ import annotations

from pathlib import Path

import click

from jobtrend.app.report import stored_report, weekly_report, write_file
from jobtrend.cli import AppContext, pass_app
from jobtrend.messages import terminal_text
from jobtrend.weeks import parse_iso_week


def _week(ctx: click.Context, param: click.Parameter, value: str | None):
    """Parse ``--week 2026-W47`` into the Monday of that ISO week."""
    if value is None:
        return None
    try:
        return parse_iso_week(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--week", metavar="YYYY-Www", callback=_week,
              help="The ISO week to report on, e.g. 2026-W47. Default: the week that ended last Sunday.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the report as a standalone HTML file (charts embedded) to FILE.")
@click.option("--send", is_flag=True, help="Queue the report in the outbox for every recipient (once per week).")
@click.option("--force", is_flag=True, help="Regenerate a stored report (and send it again with --send).")
@click.option("--top", type=click.IntRange(min=1), help="Frameworks listed [config: report.top].")
@click.option("--stored", is_flag=True,
              help="Show the report stored for the week as it was sent (its text, or its HTML with --out); "
                   "build nothing.")
@pass_app
def report(app: AppContext, week, out: Path | None, send: bool, force: bool, top: int | None, stored: bool) -> None:
    """Build the weekly report: postings by source and role, top frameworks, movers, alerts, source health.

    The report is stored in `reports` (once per week; --force regenerates it). --out writes a standalone HTML
    file for a browser; --send queues the email (HTML, text, inline charts) in the outbox, once per week.
    A report built without --send is a preview: the scheduler's Monday job still queues that week's email
    (whether a report was sent is read from the outbox), and the stored copy becomes the one that was sent.

    \b
    Example:
        jobtrend report                           # the week that ended last Sunday
        jobtrend report --week 2026-W47 --out report.html
        jobtrend report --send                    # queue it for the configured recipients
        jobtrend report --stored --week 2026-W47 --out sent.html   # the stored report, as it was sent
    """
    if stored and (send or force):
        raise click.UsageError("--stored shows a stored report: it cannot be combined with --send or --force")
    config = app.db_config
    if stored:
        found = stored_report(config, week)
        if out is None:
            click.echo(terminal_text(found.text, multiline=True))  # postings' companies and titles are scraped
        else:
            click.echo(f"wrote {write_file(found, out)} (the report of {found.label} stored "
                       f"{found.generated_at:%Y-%m-%d %H:%M} UTC)")
        return
    result = weekly_report(config, week, send=send, force=force, top=top)
    d = result.report.data
    click.echo(f"report {d.label} ({d.week.isoformat()} to {d.week_end.isoformat()}): {d.total_postings} postings "
               f"({d.ai_postings} AI roles), {len(d.frameworks)} frameworks, {len(d.movers)} movers, "
               f"{len(d.new_entries)} new entries, {len(d.alerts)} alerts, {len(d.source_health)} sources not ok")
    click.echo("stored in reports" if result.stored else "already stored in reports (use --force to regenerate)")
    if out is not None:
        click.echo(f"wrote {write_file(result.report, out)}")
    if result.queued:
        click.echo(f"queued {result.queued} message(s) in the outbox; `jobtrend deliver` (or the scheduler) sends "
                   "them")
    elif send:
        click.echo(f"the report of {d.label} was already queued (use --force to send it again)")
