"""``trends``: recompute the framework shares of every cohort (the periods touched since the last run, or all),
and read the latest periods of one cohort as a table, or one framework over time (:func:`framework_trend`: a
text chart and, when asked, a PNG chart), filtered by remote, location and company when asked.

On a database it cannot write (``read_only_ok``: a snapshot in a read-only folder, a PostgreSQL login granted
SELECT only), nothing is recomputed: the stored trend points are read when they are current, and when they are
not (postings analysed since, or ``full``) the numbers are counted from the postings, as a filtered table is.
Counted, they are what a recompute would store (tests/analysis/test_series.py checks both ways agree), so an
analyst on a snapshot sees the snapshot's numbers, not a stale table with a refresh they cannot run there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from analysis.filters import PostingFilter
from analysis.series import (
    FrameworkSeries,
    SeriesError,
    check_cohort,
    check_framework,
    check_grain,
    counted_latest_table,
    counted_series,
    framework_series,
    series_png,
    series_table,
)
from analysis.trends import compute_trends, latest_table, stale_periods
from jobtrend.app import AppError
from jobtrend.config import Config
from jobtrend.db import database_writable, open_engine
from jobtrend.files import WriteFailed, atomic_write
from jobtrend.models import TrendPoint

TREND_TABLES = (TrendPoint.__tablename__,)  # what a recompute writes
READ_ONLY_CURRENT = "read-only database: nothing recomputed; the stored trend points are current"
READ_ONLY_STALE = ("read-only database: nothing recomputed; counted from the postings, since the stored trend "
                   "points are older than the latest analysis")
READ_ONLY_FULL = "read-only database: nothing recomputed; counted from the postings (--full)"


class TrendRequestError(AppError):
    """The series asked for does not exist (an unknown cohort or framework); the message is one line and names
    the closest frameworks."""


@dataclass(frozen=True)
class TrendsResult:
    """Weeks and trend points recomputed, and (when asked for) the table of one cohort's latest weeks.
    ``read_only``: why nothing was recomputed, on a database that cannot be written."""

    weeks: int
    rows: int
    cohort: str | None = None
    table: str | None = None
    read_only: str | None = None

    def counts(self) -> dict[str, int]:
        return {"weeks": self.weeks, "rows": self.rows}

    @property
    def summary(self) -> str:
        return _summary(self.weeks, self.rows, self.read_only)


@dataclass(frozen=True)
class FrameworkTrendResult:
    """What :func:`framework_trend` recomputed, the series it read, its text chart and the PNG it wrote."""

    weeks: int
    rows: int
    series: FrameworkSeries
    table: str
    png: Path | None = None
    read_only: str | None = None

    @property
    def summary(self) -> str:
        return _summary(self.weeks, self.rows, self.read_only)


def _summary(weeks: int, rows: int, read_only: str | None) -> str:
    """The first line a command prints: what was recomputed, or why nothing was."""
    return read_only or f"recomputed {weeks} weeks ({rows} trend points)"


@dataclass(frozen=True)
class _Refresh:
    """What :func:`_refresh` did: periods and rows recomputed, or on a read-only database why not, and whether the
    numbers must be counted from the postings (the stored ones are not current)."""

    weeks: int = 0
    rows: int = 0
    read_only: str | None = None
    count: bool = False


def trends(config: Config, *, full: bool = False, cohort: str | None = None, weeks: int | None = None,
           top: int | None = None, min_postings: int | None = None, grain: str = "week",
           posting_filter: PostingFilter | None = None, read_only_ok: bool = False) -> TrendsResult:
    """Recompute the trend points (``full``: every period), then, when ``cohort`` is given, the table of its
    latest ``weeks`` periods of ``grain`` (weeks or months) and ``top`` frameworks (defaults from
    ``[trends]``): read from the trend points, or counted now from the postings ``posting_filter`` keeps.
    ``read_only_ok``: on a database that cannot be written, recompute nothing and read instead (module
    docstring)."""
    settings = config.trends
    if cohort is not None:
        _check(cohort, grain)
    posting_filter = posting_filter or PostingFilter()
    writable = not read_only_ok or database_writable(config.database_url, TREND_TABLES)
    with open_engine(config.database_url, read_only=not writable) as engine:
        done = _refresh(engine, writable, full=full, cohort=cohort, grain=grain)
        table = None
        if cohort is not None:
            options = {"weeks": weeks or settings.weeks, "top": top or settings.top, "cohort": cohort,
                       "min_postings": settings.min_postings if min_postings is None else min_postings,
                       "grain": grain}
            if not posting_filter.empty:
                table = (f"postings: {posting_filter.describe()}\n"
                         + counted_latest_table(engine, posting_filter=posting_filter, **options))
            elif done.count:
                table = counted_latest_table(engine, **options)
            else:
                table = latest_table(engine, **options)
    return TrendsResult(weeks=done.weeks, rows=done.rows, cohort=cohort, table=table, read_only=done.read_only)


def framework_trend(config: Config, slug: str, *, cohort: str = "all", grain: str = "week",
                    since: dt.date | None = None, posting_filter: PostingFilter | None = None, full: bool = False,
                    min_postings: int | None = None, png: Path | None = None, width: int = 80,
                    unicode: bool = False, read_only_ok: bool = False) -> FrameworkTrendResult:
    """Recompute the trend points (``full``: every period), then read framework ``slug``'s series of ``cohort``
    by ``grain`` from ``since`` on: stored, or counted on the fly with ``posting_filter``. Returns its text chart
    (``width`` columns, ASCII unless ``unicode``; periods with n below ``min_postings`` [config:
    trends.min_postings] marked) and, with ``png``, writes the chart there atomically. ``read_only_ok``: as
    for :func:`trends`."""
    low_n = config.trends.min_postings if min_postings is None else min_postings
    _check(cohort, grain)  # before the recompute: a typo costs nothing
    writable = not read_only_ok or database_writable(config.database_url, TREND_TABLES)
    with open_engine(config.database_url, read_only=not writable) as engine:
        try:
            check_framework(engine, slug)
        except SeriesError as exc:
            raise TrendRequestError(str(exc)) from None
        done = _refresh(engine, writable, full=full, cohort=cohort, grain=grain)
        read_series = counted_series if done.count else framework_series
        series = read_series(engine, slug, cohort=cohort, grain=grain, since=since, posting_filter=posting_filter)
    table = series_table(series, width=width, unicode=unicode, min_postings=low_n)
    if png is not None:
        try:
            atomic_write(png, series_png(series, min_postings=low_n))
        except WriteFailed as exc:
            raise AppError(str(exc)) from None
    return FrameworkTrendResult(done.weeks, done.rows, series, table, png, done.read_only)


def _refresh(engine: Engine, writable: bool, *, full: bool, cohort: str | None, grain: str) -> _Refresh:
    """Writable: recompute the trend points (``full``: every period). Read-only: recompute nothing; the stored
    points of ``cohort`` at ``grain`` are read when none of its periods is stale, otherwise (or with ``full``)
    the numbers are counted from the postings."""
    if writable:
        result = compute_trends(engine, full=full)
        return _Refresh(weeks=len(result.weeks), rows=result.rows)
    if full:
        return _Refresh(read_only=READ_ONLY_FULL, count=True)
    if cohort is not None and stale_periods(engine, cohort=cohort, grain=grain):
        return _Refresh(read_only=READ_ONLY_STALE, count=True)
    return _Refresh(read_only=READ_ONLY_CURRENT)


def _check(cohort: str, grain: str) -> None:
    try:
        check_cohort(cohort)
        check_grain(grain)
    except SeriesError as exc:
        raise TrendRequestError(str(exc)) from None
