"""``trends``: recompute the framework shares of every cohort (the periods touched since the last run, or all),
and read the latest periods of one cohort as a table, or one framework over time (:func:`framework_trend`: a
text chart and, when asked, a PNG chart), filtered by remote, location and company when asked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from analysis.filters import PostingFilter
from analysis.series import (
    FrameworkSeries,
    SeriesError,
    check_cohort,
    check_framework,
    check_grain,
    counted_latest_table,
    framework_series,
    series_png,
    series_table,
)
from analysis.trends import compute_trends, latest_table
from jobtrend.app import AppError
from jobtrend.config import Config
from jobtrend.db import open_engine
from jobtrend.files import WriteFailed, atomic_write


class TrendRequestError(AppError):
    """The series asked for does not exist (an unknown cohort or framework); the message is one line and names
    the closest frameworks."""


@dataclass(frozen=True)
class TrendsResult:
    """Weeks and trend points recomputed, and (when asked for) the table of one cohort's latest weeks."""

    weeks: int
    rows: int
    cohort: str | None = None
    table: str | None = None

    def counts(self) -> dict[str, int]:
        return {"weeks": self.weeks, "rows": self.rows}


@dataclass(frozen=True)
class FrameworkTrendResult:
    """What :func:`framework_trend` recomputed, the series it read, its text chart and the PNG it wrote."""

    weeks: int
    rows: int
    series: FrameworkSeries
    table: str
    png: Path | None = None


def trends(config: Config, *, full: bool = False, cohort: str | None = None, weeks: int | None = None,
           top: int | None = None, min_postings: int | None = None, grain: str = "week",
           posting_filter: PostingFilter | None = None) -> TrendsResult:
    """Recompute the trend points (``full``: every period), then, when ``cohort`` is given, the table of its
    latest ``weeks`` periods of ``grain`` (weeks or months) and ``top`` frameworks (defaults from
    ``[trends]``): read from the trend points, or counted now from the postings ``posting_filter`` keeps."""
    settings = config.trends
    if cohort is not None:
        _check(cohort, grain)
    posting_filter = posting_filter or PostingFilter()
    with open_engine(config.database_url) as engine:
        result = compute_trends(engine, full=full)
        table = None
        if cohort is not None:
            options = {"weeks": weeks or settings.weeks, "top": top or settings.top, "cohort": cohort,
                       "min_postings": settings.min_postings if min_postings is None else min_postings,
                       "grain": grain}
            table = latest_table(engine, **options) if posting_filter.empty else (
                f"postings: {posting_filter.describe()}\n"
                + counted_latest_table(engine, posting_filter=posting_filter, **options))
    return TrendsResult(weeks=len(result.weeks), rows=result.rows, cohort=cohort, table=table)


def framework_trend(config: Config, slug: str, *, cohort: str = "all", grain: str = "week",
                    since: dt.date | None = None, posting_filter: PostingFilter | None = None, full: bool = False,
                    min_postings: int | None = None, png: Path | None = None, width: int = 80,
                    unicode: bool = False) -> FrameworkTrendResult:
    """Recompute the trend points (``full``: every period), then read framework ``slug``'s series of ``cohort``
    by ``grain`` from ``since`` on: stored, or counted on the fly with ``posting_filter``. Returns its text chart
    (``width`` columns, ASCII unless ``unicode``; periods with n below ``min_postings`` [config:
    trends.min_postings] marked) and, with ``png``, writes the chart there atomically."""
    low_n = config.trends.min_postings if min_postings is None else min_postings
    with open_engine(config.database_url) as engine:
        _check(cohort, grain)  # before the recompute: a typo costs nothing
        try:
            check_framework(engine, slug)
        except SeriesError as exc:
            raise TrendRequestError(str(exc)) from None
        result = compute_trends(engine, full=full)
        series = framework_series(engine, slug, cohort=cohort, grain=grain, since=since,
                                  posting_filter=posting_filter)
    table = series_table(series, width=width, unicode=unicode, min_postings=low_n)
    if png is not None:
        try:
            atomic_write(png, series_png(series, min_postings=low_n))
        except WriteFailed as exc:
            raise AppError(str(exc)) from None
    return FrameworkTrendResult(len(result.weeks), result.rows, series, table, png)


def _check(cohort: str, grain: str) -> None:
    try:
        check_cohort(cohort)
        check_grain(grain)
    except SeriesError as exc:
        raise TrendRequestError(str(exc)) from None
