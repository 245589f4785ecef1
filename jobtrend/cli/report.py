"""`jobtrend report`: build the weekly report, store it, write it as an HTML file and queue it for email."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.filters import PostingFilter
from jobtrend.app.report import filtered_report, stored_report, weekly_report, write_file
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.posting_filter import posting_filter_options
from jobtrend.files import WriteFailed, check_writable
from jobtrend.messages import terminal_text
from jobtrend.weeks import monday_of, parse_iso_week


def _week(ctx: click.Context, param: click.Parameter, value: str | None):
    """Parse ``--week 2026-W47``, or a date in the week (``2026-11-18``, as ``export --since`` takes it), into the
    Monday of that ISO week."""
    if value is None:
        return None
    try:
        if "-W" in value.upper():
            return parse_iso_week(value)
        return monday_of(dt.date.fromisoformat(value))
    except ValueError as exc:
        message = str(exc) if "-W" in value.upper() else f"expected YYYY-Www or a date YYYY-MM-DD, got {value!r}"
        raise click.BadParameter(message) from None


@click.command()
@click.option("--week", metavar="YYYY-Www", callback=_week,
              help="The ISO week to report on, e.g. 2026-W47, or a date in it (2026-11-18). Default: the week that "
                   "ended last Sunday.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the report as a standalone HTML file (charts embedded) to FILE.")
@click.option("--send", is_flag=True, help="Queue the report in the outbox for every recipient (once per week).")
@click.option("--force", is_flag=True, help="Regenerate a stored report (and send it again with --send).")
@click.option("--top", type=click.IntRange(min=1), help="Frameworks listed [config: report.top].")
@click.option("--stored", is_flag=True,
              help="Show the report stored for the week as it was sent (its text, or its HTML with --out); "
                   "build nothing.")
@posting_filter_options("Only postings")
@pass_app
def report(app: AppContext, week, out: Path | None, send: bool, force: bool, top: int | None, stored: bool,
           posting_filter: PostingFilter) -> None:
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
        jobtrend report --remote --location berlin --out berlin.html  # a filtered report: never stored or sent
    """
    if stored and (send or force):
        raise click.UsageError("--stored shows a stored report: it cannot be combined with --send or --force")
    if not posting_filter.empty and (send or force or stored):
        raise click.UsageError("a filtered report (--remote, --location, --company) is printed or written with "
                               "--out, never stored or sent: it cannot be combined with --send, --force or --stored")
    if out is not None:
        try:
            check_writable(out)  # before the report is built and stored
        except WriteFailed as exc:
            raise click.ClickException(str(exc)) from None
    if stored:  # only reads: works on a database it cannot write
        found = stored_report(app.read_only_config, week)
        if out is None:
            click.echo(terminal_text(found.text, multiline=True))  # postings' companies and titles are scraped
        else:
            click.echo(f"wrote {write_file(found, out)} (the report of {found.label} stored "
                       f"{found.generated_at:%Y-%m-%d %H:%M} UTC)")
        return
    config = app.db_config
    if not posting_filter.empty:
        _filtered(config, posting_filter, week, top, out)
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


def _filtered(config, only: PostingFilter, week, top: int | None, out: Path | None) -> None:
    """Build the report of the postings ``only`` keeps; print its text, or write its HTML to ``out``."""
    built = filtered_report(config, only, week, top=top)
    if out is None:
        click.echo(terminal_text(built.text, multiline=True))  # postings' companies and titles are scraped
        return
    d = built.data
    click.echo(f"report {d.label} of the postings that are {d.filter_text}: {d.total_postings} postings "
               f"({d.ai_postings} AI roles), {len(d.movers)} movers; not stored")
    click.echo(f"wrote {write_file(built, out)}")
