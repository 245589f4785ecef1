"""ISO weeks, the grain of every posting, trend point, alert and report: the Monday of a moment's week, the
``2026-W47`` label and its parse, and the last complete week (the one a Monday report is about).

A week is always stored as its Monday (a ``date``); a datetime is taken in UTC, a naive one is UTC already.
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def monday_of(moment: dt.date | dt.datetime) -> dt.date:
    """The Monday of the ISO week holding ``moment`` (a datetime is taken in UTC; a naive one is UTC already):
    the ``posted_week`` of a posting, the ``period_start`` of a trend point, alert or report."""
    if isinstance(moment, dt.datetime):
        moment = (moment.astimezone(dt.UTC) if moment.tzinfo else moment).date()
    return moment - dt.timedelta(days=moment.weekday())


def month_of(moment: dt.date | dt.datetime) -> dt.date:
    """The first day of the month holding ``moment`` (a datetime is taken in UTC): a posting's ``posted_month``
    unless its source says otherwise, the ``period_start`` of a monthly trend point."""
    if isinstance(moment, dt.datetime):
        moment = (moment.astimezone(dt.UTC) if moment.tzinfo else moment).date()
    return moment.replace(day=1)


def iso_week_label(week: dt.date) -> str:
    """``2025-W42`` for any day of that ISO week."""
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


def parse_iso_week(label: str) -> dt.date:
    """The Monday of an ISO week label such as ``2026-W47``; ValueError with a clear message otherwise."""
    text = label.strip().upper()
    year, sep, number = text.partition("-W")
    if not (sep and len(year) == 4 and year.isdigit() and number.isdigit() and 1 <= len(number) <= 2):
        raise ValueError(f"{label!r} is not an ISO week: expected YYYY-Www, e.g. 2026-W47")
    try:
        return dt.date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise ValueError(f"{label!r} is not an ISO week: {year} has no week {int(number)}") from None


def last_complete_week(now: dt.datetime | dt.date | None = None) -> dt.date:
    """The Monday of the ISO week that ended on the last Sunday before ``now`` (UTC)."""
    return monday_of(utcnow() if now is None else now) - dt.timedelta(weeks=1)
