"""One framework over time: the share of a cohort's postings that mention it, week by week or month by month,
with 95 % Wilson intervals, as data, a text chart and a PNG chart (``jobtrend trends --framework``).

Two ways to get the same numbers:

- without a :class:`~analysis.filters.PostingFilter`, the stored ``trend_points`` of the cohort and grain
  (:func:`framework_series`, one indexed read);
- with one, counted from ``postings``, ``classifications`` and ``mentions`` (:func:`framework_series` with a
  filter, :func:`counted_series` even without one), with the definitions of :mod:`analysis.trends`: n = measured
  postings of the period in the cohort that pass the filter (canonical, analysed, with description text:
  :func:`analysis.trends.measured_postings_clause`; the cohort: :func:`analysis.trends.in_cohort`), k = those
  among them with a mention of the framework, share = k / n. Unfiltered, both give the same series
  (tests/analysis/test_series.py checks it on both databases).

:func:`counted_latest_table` is ``analysis.trends.latest_table`` counted the same way, for a filtered table.

A period is a week (its Monday, ``posted_week``) or a month (its first day, ``posted_month``: a Hacker News
comment belongs to its thread's month). Only periods with n > 0 are in a series; the periods between two of them
are gaps, which the text chart names and the PNG chart bridges with a dashed line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, and_, func, select

from analysis.filters import PostingFilter
from analysis.trends import (
    COHORTS_ALL,
    GRAINS,
    format_grid,
    in_cohort,
    is_cohort,
    measured_postings_clause,
    period_column,
    period_label,
    wilson_interval,
)
from jobtrend.config import SOURCE_KINDS
from jobtrend.models import Classification, Framework, Mention, Posting, Source, TrendPoint
from jobtrend.weeks import monday_of, month_of

COHORT_HELP = f"{', '.join(COHORTS_ALL)} or market:<source kind> ({', '.join(SOURCE_KINDS)})"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class SeriesError(ValueError):
    """A series cannot be read as asked (unknown cohort, framework or date); the message is one line."""


class UnknownFramework(SeriesError):
    """No framework has this slug; ``suggestions`` are the closest slugs."""

    def __init__(self, slug: str, suggestions: list[str]):
        self.slug = slug
        self.suggestions = suggestions
        hint = f": did you mean {', '.join(suggestions)}?" if suggestions else " (see config/frameworks.toml)"
        super().__init__(f"unknown framework {slug!r}{hint}")


# --- cohorts, periods, dates -------------------------------------------------------------------------------


def check_cohort(cohort: str) -> str:
    """``cohort`` if it names a cohort (``market``, ``all``, ``ai_swe``, ``ml_engineer``, ``market:<kind>`` for a
    source kind jobtrend crawls: :func:`analysis.trends.is_cohort`); a :class:`SeriesError` otherwise."""
    if not is_cohort(cohort):
        raise SeriesError(f"unknown cohort {cohort!r}: expected {COHORT_HELP}")
    return cohort


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise SeriesError(f"unknown grain {grain!r}: expected {' or '.join(GRAINS)}")
    return grain


def period_of(day: dt.date, grain: str) -> dt.date:
    """The start of the period holding ``day``: its Monday (week) or the first of its month (month)."""
    return monday_of(day) if grain == "week" else month_of(day)


def next_period(start: dt.date, grain: str) -> dt.date:
    """The start of the period after the one starting on ``start``."""
    if grain == "week":
        return start + dt.timedelta(weeks=1)
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def parse_since(text: str) -> dt.date:
    """The first day ``--since`` asks for: ``YYYY-MM`` (the month's first day) or ``YYYY-MM-DD``; a
    :class:`SeriesError` otherwise. The series starts at the period holding that day."""
    month = _MONTH.match(text.strip())
    try:
        if month:
            return dt.date(int(month[1]), int(month[2]), 1)
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise SeriesError(f"expected YYYY-MM or YYYY-MM-DD, got {text!r}") from None


# --- the series --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesPoint:
    """One period of a series: n postings, k of them mentioning the framework, share k/n with its interval."""

    start: dt.date
    label: str
    n: int
    k: int
    share: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class FrameworkSeries:
    """A framework's share over the periods of ``grain`` with n > 0, oldest first, for one cohort and filter.
    ``counted``: counted on the fly (a filter), not read from ``trend_points``."""

    slug: str
    name: str
    cohort: str
    grain: str
    since: dt.date | None
    posting_filter: PostingFilter = field(default_factory=PostingFilter)
    points: tuple[SeriesPoint, ...] = ()
    counted: bool = False

    def gaps(self) -> dict[dt.date, int]:
        """Periods without postings before each point that follows a gap: {point start: periods missing}."""
        missing = {}
        for before, after in zip(self.points, self.points[1:], strict=False):
            count, start = 0, next_period(before.start, self.grain)
            while start < after.start:
                count, start = count + 1, next_period(start, self.grain)
            if count:
                missing[after.start] = count
        return missing


def framework_series(engine: Engine, slug: str, *, cohort: str = "all", grain: str = "week",
                     since: dt.date | None = None, posting_filter: PostingFilter | None = None) -> FrameworkSeries:
    """The series of framework ``slug`` from the period holding ``since`` on (every period when None): read from
    ``trend_points`` when ``posting_filter`` is empty, counted otherwise. An :class:`UnknownFramework` (with the
    closest slugs) when there is no such framework."""
    posting_filter = posting_filter or PostingFilter()
    return _series(engine, slug, cohort, grain, since, posting_filter, counted=not posting_filter.empty)


def counted_series(engine: Engine, slug: str, *, cohort: str = "all", grain: str = "week",
                   since: dt.date | None = None, posting_filter: PostingFilter | None = None) -> FrameworkSeries:
    """The series counted from the postings now, whatever ``trend_points`` holds (no filter: every posting of
    the cohort)."""
    return _series(engine, slug, cohort, grain, since, posting_filter or PostingFilter(), counted=True)


def _series(engine: Engine, slug: str, cohort: str, grain: str, since: dt.date | None,
            posting_filter: PostingFilter, *, counted: bool) -> FrameworkSeries:
    check_cohort(cohort)
    check_grain(grain)
    start = None if since is None else period_of(since, grain)
    with engine.connect() as conn:
        framework = _framework(conn, slug)
        if counted:
            rows = conn.execute(_counted_query(framework.id, cohort, grain, start, posting_filter)).all()
            points = tuple(_point(r.start, int(r.n), int(r.k or 0), grain) for r in rows)
        else:
            rows = conn.execute(_stored_query(framework.id, cohort, grain, start)).all()
            points = tuple(SeriesPoint(r.start, period_label(grain, r.start), r.n, r.k, r.share, r.ci_low,
                                       r.ci_high) for r in rows)
    return FrameworkSeries(framework.slug, framework.name, cohort, grain, since, posting_filter, points,
                           counted=counted)


def check_framework(engine: Engine, slug: str) -> str:
    """The slug of framework ``slug`` (case and blanks ignored), or an :class:`UnknownFramework` naming the
    closest slugs."""
    with engine.connect() as conn:
        return _framework(conn, slug).slug


def _framework(conn: Connection, slug: str):
    """The framework row (id, slug, name) of ``slug``, or an :class:`UnknownFramework` naming the closest."""
    wanted = slug.strip().lower()
    framework = conn.execute(select(Framework.id, Framework.slug, Framework.name)
                             .where(Framework.slug == wanted)).one_or_none()
    if framework is None:
        slugs = list(conn.scalars(select(Framework.slug).order_by(Framework.slug)))
        raise UnknownFramework(slug, difflib.get_close_matches(wanted, slugs, n=3, cutoff=0.6))
    return framework


def _point(start: dt.date, n: int, k: int, grain: str) -> SeriesPoint:
    low, high = wilson_interval(k, n)
    return SeriesPoint(start, period_label(grain, start), n, k, k / n, low, high)


def _stored_query(framework_id: int, cohort: str, grain: str, start: dt.date | None):
    query = (
        select(TrendPoint.period_start.label("start"), TrendPoint.n_postings.label("n"),
               TrendPoint.n_mentioning.label("k"), TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high)
        .where(TrendPoint.grain == grain, TrendPoint.cohort == cohort, TrendPoint.framework_id == framework_id,
               TrendPoint.n_postings > 0)
        .order_by(TrendPoint.period_start)
    )
    return query if start is None else query.where(TrendPoint.period_start >= start)


def _counted_query(framework_id: int, cohort: str, grain: str, start: dt.date | None,
                   posting_filter: PostingFilter):
    """n and k per period, one GROUP BY: the measured postings of the cohort that pass the filter (the conditions
    of :func:`analysis.trends.measured_postings_clause` and :func:`analysis.trends.in_cohort`, as the stored
    trend points are counted), outer-joined to their classification and to their mention of the framework (at
    most one row each: both are keyed by posting)."""
    period = period_column(grain)
    query = (
        select(period.label("start"), func.count().label("n"), func.count(Mention.posting_id).label("k"))
        .select_from(Posting)
        .join(Source, Source.id == Posting.source_id)
        .outerjoin(Classification, Classification.posting_id == Posting.id)
        .outerjoin(Mention, and_(Mention.posting_id == Posting.id, Mention.framework_id == framework_id,
                                 Mention.count > 0))
        .where(measured_postings_clause(), in_cohort(cohort), *posting_filter.clauses(Posting),
               period.is_not(None))
        .group_by(period)
        .order_by(period)
    )
    return query if start is None else query.where(period >= start)


# --- the latest periods of every framework, counted ---------------------------------------------------------


def counted_latest_table(engine: Engine, *, posting_filter: PostingFilter | None = None, weeks: int = 8,
                         top: int = 15, cohort: str = "all", min_postings: int = 1, grain: str = "week") -> str:
    """:func:`analysis.trends.latest_table` counted on the fly from the postings ``posting_filter`` keeps: the
    latest ``weeks`` periods of ``grain`` with n >= ``min_postings`` as columns (with an ``n`` row), the ``top``
    frameworks by mean share over them as rows (none that no posting of those periods mentions), shares as
    ``12.5%``. Unfiltered, it prints what ``latest_table`` prints."""
    check_cohort(cohort)
    check_grain(grain)
    posting_filter = posting_filter or PostingFilter()
    period = period_column(grain)
    with engine.connect() as conn:
        n = dict(conn.execute(_filtered(select(period, func.count()), cohort, posting_filter)
                              .group_by(period).having(func.count() >= max(1, min_postings))
                              .order_by(period.desc()).limit(weeks)).all())
        if not n:
            return f"No {grain} of cohort '{cohort}' has {max(1, min_postings)} or more postings that match."
        counts = conn.execute(
            _filtered(select(period, Framework.slug, Framework.name, func.count()), cohort, posting_filter)
            .join(Mention, and_(Mention.posting_id == Posting.id, Mention.count > 0))
            .join(Framework, Framework.id == Mention.framework_id)
            .where(period.in_(sorted(n)))
            .group_by(period, Framework.slug, Framework.name)).all()
    k: dict[tuple[str, dt.date], int] = {(slug, start): int(count) for start, slug, _, count in counts}
    names = {slug: name for _, slug, name, _ in counts}
    starts = sorted(n)
    mean = {slug: sum(k.get((slug, start), 0) / n[start] for start in starts) / len(starts) for slug in names}
    ranked = sorted(names, key=lambda slug: (-mean[slug], slug))[:top]
    header = ["framework", *(period_label(grain, start) for start in starts)]
    body = [["n", *(str(n[start]) for start in starts)]]
    body += [[names[slug], *(f"{k.get((slug, start), 0) / n[start] * 100:.1f}%" for start in starts)]
             for slug in ranked]
    return format_grid(header, body)


def _filtered(query, cohort: str, posting_filter: PostingFilter):
    """``query`` over the measured postings of ``cohort`` that ``posting_filter`` keeps."""
    return (query.select_from(Posting)
            .join(Source, Source.id == Posting.source_id)
            .outerjoin(Classification, Classification.posting_id == Posting.id)
            .where(measured_postings_clause(), in_cohort(cohort), *posting_filter.clauses(Posting)))


# --- the text chart ----------------------------------------------------------------------------------------

ASCII_BAR = ("#", "-")
UNICODE_BAR = ("█", "░")
MIN_BAR = 10


def series_header(series: FrameworkSeries) -> str:
    """``PyTorch (pytorch), cohort market, by month from 2011-04, remote, location ~ 'Berlin'``."""
    parts = [f"{series.name} ({series.slug})", f"cohort {series.cohort}", f"by {series.grain}"]
    if series.since is not None:
        parts[-1] += f" from {period_label(series.grain, period_of(series.since, series.grain))}"
    if not series.posting_filter.empty:
        parts.append(series.posting_filter.describe())
    return ", ".join(parts)


def series_table(series: FrameworkSeries, *, width: int = 80, unicode: bool = False, min_postings: int = 1) -> str:
    """The series as text: a header, one row per period (period, n, k, share, 95 % interval and a bar: the share
    filled, the rest of the interval light, scaled to the periods with enough postings), a line where periods
    without postings were skipped, and a note on the periods with n below ``min_postings`` (``*`` after n). Fits
    ``width`` columns; plain ASCII unless ``unicode``."""
    if not series.points:
        return f"{series_header(series)}\nno {series.grain} with measured postings" + (
            "" if series.counted else ": run `jobtrend analyze`, then `jobtrend trends`")
    full, light = UNICODE_BAR if unicode else ASCII_BAR
    cells = [(p.label, f"{p.n}{'*' if p.n < min_postings else ' '}", str(p.k), _pct(p.share),
              f"{_pct(p.ci_low)}-{_pct(p.ci_high)}") for p in series.points]
    heads = ("period", "n ", "k", "share", "95% interval")
    widths = [max(len(row[i]) for row in [heads, *cells]) for i in range(len(heads))]
    fixed = sum(widths) + 2 * len(widths)  # two spaces between columns and before the bar
    bar_width = max(MIN_BAR, width - 1 - fixed)
    enough = [p for p in series.points if p.n >= min_postings] or series.points
    scale = _scale(max(p.ci_high for p in enough))  # the few postings' wide intervals would squash the rest
    gaps = series.gaps()
    lines = [series_header(series),
             f"bar: {full} share of postings mentioning it, {light} up to the 95 % bound; full bar "
             f"{_pct(scale, 0)}",
             _row(heads, widths, "")]
    for point, row in zip(series.points, cells, strict=True):
        if point.start in gaps:
            lines.append(f"{'':{widths[0]}}  ... {_periods(gaps[point.start], series.grain)} without postings")
        bar = _bar(point, scale, bar_width, full, light)
        lines.append(_row(row, widths, bar))
    if min_postings > 1 and any(p.n < min_postings for p in series.points):
        lines.append(f"* n < {min_postings}: a share of so few postings says little (--min-postings)")
    return "\n".join(line.rstrip() for line in lines)


def _row(cells, widths, bar: str) -> str:
    label, *numbers = cells
    text = "  ".join([label.ljust(widths[0])] + [c.rjust(w) for c, w in zip(numbers, widths[1:], strict=True)])
    return f"{text}  {bar}"


def _bar(point: SeriesPoint, scale: float, width: int, full: str, light: str) -> str:
    """The bar of one point; one past the scale (an interval of a handful of postings) ends in ``>``."""
    filled = round(point.share / scale * width)
    upper = max(filled, round(point.ci_high / scale * width))
    bar = full * filled + light * (upper - filled)
    return bar if len(bar) <= width else bar[:width - 1] + ">"


def _scale(high: float) -> float:
    """The share a full bar stands for: the smallest of 1 %, 2 %, 5 %, 10 %, 20 %, 25 %, 50 %, 100 % at or above
    the highest upper bound (of the periods with enough postings), so that bars of different runs compare."""
    for step in (0.01, 0.02, 0.05, 0.10, 0.20, 0.25, 0.50):
        if high <= step:
            return step
    return 1.0


def _pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}%"


def _periods(count: int, grain: str) -> str:
    return f"{count} {grain}{'s' if count != 1 else ''}"


# --- the PNG chart -----------------------------------------------------------------------------------------
# matplotlib is imported inside series_png, as in analysis.report: ~0.5 s of imports only a chart pays for.

LINE_COLOUR = "#4c78a8"
MUTED_COLOUR = "#b0b0b0"


def series_png(series: FrameworkSeries, *, min_postings: int = 1) -> bytes:
    """A PNG line chart of the share (%): solid lines between consecutive periods, a dashed line across periods
    without postings, the 95 % interval as a band (a bar for a lone period), periods with n below
    ``min_postings`` grey and hollow, the legend to the right of the plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    runs = _runs(series)
    for run in runs:
        _draw_run(axes, run, min_postings)
    for before, after in zip(runs, runs[1:], strict=False):
        axes.plot([before[-1].start, after[0].start], [before[-1].share * 100, after[0].share * 100],
                  color=LINE_COLOUR, linewidth=1.2, linestyle="--", alpha=0.7)
    _points(axes, series, min_postings)
    if series.points:
        axes.legend(handles=_legend(series, runs, min_postings), fontsize=8, loc="upper left",
                    bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        axes.text(0.5, 0.5, "no measured postings", ha="center", va="center", transform=axes.transAxes,
                  color="#888")
    axes.set_ylim(bottom=0)
    axes.set_ylabel("share of postings (%)", fontsize=9)
    axes.set_title(series_header(series), fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(labelsize=8)
    locator = AutoDateLocator(minticks=3, maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _draw_run(axes, run: list[SeriesPoint], min_postings: int) -> None:
    """Consecutive periods: a line and a band; a lone period: its interval as a bar (grey when n is small)."""
    x = [p.start for p in run]
    if len(run) > 1:
        axes.plot(x, [p.share * 100 for p in run], color=LINE_COLOUR, linewidth=1.6)
        axes.fill_between(x, [p.ci_low * 100 for p in run], [p.ci_high * 100 for p in run], color=LINE_COLOUR,
                          alpha=0.18, linewidth=0)
        return
    point = run[0]
    axes.errorbar(x, [point.share * 100],
                  yerr=[[(point.share - point.ci_low) * 100], [(point.ci_high - point.share) * 100]],
                  color=LINE_COLOUR if point.n >= min_postings else MUTED_COLOUR, alpha=0.5, capsize=2,
                  linewidth=1)


def _legend(series: FrameworkSeries, runs: list[list[SeriesPoint]], min_postings: int) -> list:
    """The legend's entries: only what the chart shows."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=LINE_COLOUR, linewidth=1.6, marker="o", markersize=3.5, label="share"),
               Patch(color=LINE_COLOUR, alpha=0.18, label="95 % interval")]
    if len(runs) > 1:
        handles.append(Line2D([], [], color=LINE_COLOUR, linewidth=1.2, linestyle="--", alpha=0.7,
                              label="across periods without postings"))
    if any(p.n < min_postings for p in series.points):
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=4, markerfacecolor="white",
                              markeredgecolor=MUTED_COLOUR, label=f"n < {min_postings} postings"))
    return handles


def _runs(series: FrameworkSeries) -> list[list[SeriesPoint]]:
    """The points split where periods without postings lie between two of them."""
    gaps = series.gaps()
    runs: list[list[SeriesPoint]] = []
    for point in series.points:
        if not runs or point.start in gaps:
            runs.append([])
        runs[-1].append(point)
    return runs


def _points(axes, series: FrameworkSeries, min_postings: int) -> None:
    """Markers: filled for periods with enough postings, grey and hollow for the few."""
    enough = [p for p in series.points if p.n >= min_postings]
    few = [p for p in series.points if p.n < min_postings]
    if enough:
        axes.plot([p.start for p in enough], [p.share * 100 for p in enough], linestyle="none", marker="o",
                  markersize=3.5, color=LINE_COLOUR, clip_on=False)
    if few:
        axes.plot([p.start for p in few], [p.share * 100 for p in few], linestyle="none", marker="o",
                  markersize=4, markerfacecolor="white", markeredgecolor=MUTED_COLOUR, color=MUTED_COLOUR,
                  clip_on=False)
