"""``weekly_report``: build the report of one ISO week, queue it for every recipient, store it; and read a
stored report back.

One order for every caller, the crash-safe one: **build, queue, store**. Whether a week's report was sent is read
from the outbox (its per-recipient dedupe key makes queueing twice a no-op), never from ``reports``: a report
previewed with `jobtrend report` (stored, not queued) is still queued by the Monday job, and a run that dies
between queueing and storing is completed by the next one. When this run queued the report, the stored copy is
replaced by the one it queued, so `jobtrend report --stored` shows what was sent.

A filtered report (remote, location, company: :func:`filtered_report`) is only built: it is never the week's
report, so it is neither stored nor queued.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from analysis.filters import PostingFilter
from analysis.report import WeeklyReport, build_report, queue_report, store_report, write_report_file
from jobtrend.app import AppError
from jobtrend.app.alerts import has_recipients
from jobtrend.config import Config
from jobtrend.db import open_engine
from jobtrend.files import atomic_write
from jobtrend.models import Classification, Posting, Report
from jobtrend.weeks import iso_week_label, last_complete_week


@dataclass(frozen=True)
class ReportResult:
    """The report built, how many outbox rows this run queued (None: not asked to send), whether it was stored."""

    report: WeeklyReport
    queued: int | None
    stored: bool

    def counts(self) -> dict[str, object]:
        return {"week": self.report.label, "queued": self.queued or 0, "stored": self.stored}


def weekly_report(config: Config, week: dt.date | None = None, *, send: bool = False, force: bool = False,
                  top: int | None = None) -> ReportResult:
    """Build the report of ``week`` (default: the week that ended last Sunday), queue it when ``send`` (once per
    week and recipient; ``force``: again), then store it (once per week; replaced when this run queued it or
    ``force``). ``send`` with nobody configured to send to: AppError."""
    if send and not has_recipients(config.notify):
        raise AppError("nobody to send the report to: add an [email] table with recipients (or [notify] webhooks) "
                       "to jobtrend.toml")
    with open_engine(config.database_url) as engine:
        built = build_report(engine, week, top=top or config.report.top,
                             trailing_weeks=config.report.trailing_weeks)
        try:
            queued = queue_report(engine, config.notify, built, force=force) if send else None
        except ImportError as exc:
            raise AppError(f"cannot send: {exc}") from None
        stored = store_report(engine, built, force=force or bool(queued))
    return ReportResult(report=built, queued=queued, stored=stored)


def filtered_report(config: Config, posting_filter: PostingFilter, week: dt.date | None = None, *,
                    top: int | None = None) -> WeeklyReport:
    """The report of ``week`` (default: the week that ended last Sunday) over the postings ``posting_filter``
    keeps, counted on the fly; neither stored nor queued (the week's report is the unfiltered one)."""
    with open_engine(config.database_url) as engine:
        return build_report(engine, week, top=top or config.report.top, trailing_weeks=config.report.trailing_weeks,
                            posting_filter=posting_filter)


def scheduled_report(config: Config) -> ReportResult:
    """The Monday job: last week's report, queued for whoever is configured (nobody: stored only)."""
    return weekly_report(config, send=has_recipients(config.notify))


def latest_ai_week(config: Config) -> dt.date | None:
    """The latest posted week that holds an AI-role posting (None: none yet): the week a demo reports on."""
    with open_engine(config.database_url) as engine, engine.connect() as conn:
        return conn.scalar(select(func.max(Posting.posted_week)).join(
            Classification, Classification.posting_id == Posting.id).where(Classification.is_ai_role))


@dataclass(frozen=True)
class StoredReport:
    """A report as it was stored (and sent): its week, HTML (charts embedded), text and when it was made."""

    week: dt.date
    html: str
    text: str
    generated_at: dt.datetime

    @property
    def label(self) -> str:
        return iso_week_label(self.week)


def stored_report(config: Config, week: dt.date | None = None) -> StoredReport:
    """The report stored for ``week`` (default: last complete week); AppError when there is none."""
    week = week or last_complete_week()
    with open_engine(config.database_url) as engine, engine.connect() as conn:
        row = conn.execute(select(Report.html, Report.text, Report.generated_at)
                           .where(Report.period_start == week)).first()
    if row is None:
        label = iso_week_label(week)
        raise AppError(f"no report stored for {label}: `jobtrend report --week {label}` builds and stores it")
    return StoredReport(week, row.html, row.text, row.generated_at)


def write_file(report: WeeklyReport | StoredReport, path: Path) -> Path:
    """Write a report as a standalone HTML file (charts embedded), atomically (a previous file is replaced whole or
    kept); AppError when the file cannot be written."""
    try:
        if isinstance(report, StoredReport):
            path.parent.mkdir(parents=True, exist_ok=True)
            return atomic_write(path, report.html)
        return write_report_file(report, path)
    except OSError as exc:
        raise AppError(f"cannot write {path}: {exc.strerror or exc}") from None
