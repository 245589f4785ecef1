"""The weekly report: what the job market did in one ISO week, as an email (HTML + text + inline PNG charts).

:func:`build_report` reads the stored tables (it never recomputes trends) for one ISO week, by default the one
that ended last Sunday, and gathers:

- postings posted that week by source kind (canonical and duplicates) and by role (from ``classifications``:
  ``ai_swe`` / ``ml_engineer`` / not an AI role / not classified yet, and apart from those the postings with no
  description, which are never classified nor measured), and the companies with the most AI-role postings (a
  posting whose company is not known is counted in ``(unknown company)``, never under its site's name);
- the top frameworks of cohort ``all`` (AI-role postings): share k / n with its 95 % Wilson interval
  (``trend_points``), the share of the ``market`` cohort (every measured posting) beside it, and the change
  against the *pooled* trailing weeks (sum of k over sum of n of the ``trailing_weeks`` weeks before);
- movers: each framework mentioned this week or in the trailing weeks is tested with
  :func:`analysis.trends.proportion_change_test` (the pooled two-proportion z-test, or Fisher's exact test where a
  cell expects fewer than 5 postings); the p-values of the week are adjusted with Benjamini-Hochberg
  (:func:`benjamini_hochberg`) and a mover is a framework whose q-value is at most ``alpha`` (0.05);
- for the top frameworks and the movers, a note when the move is mostly a change in the source mix
  (:func:`source_mix_note`);
- new entries: frameworks mentioned this week and in none of the trailing weeks, with examples drawn from the
  postings counted (the AI-role postings of the week that mention it);
- the alerts fired for the week (``alerts.period_start`` = the week) and the sources whose health is not ``ok``;
- one line on the role classifier (:func:`analysis.drift.week_drift`);
- two charts (:mod:`analysis.report_charts`): the shares of six frameworks over the last 12 weeks, or over the
  last 12 months when the weeks are thin (:func:`chart_grain`), and AI-role postings per period by role.

A report can be filtered (:class:`analysis.filters.PostingFilter`: remote, location, company): every figure is then
counted on the fly from the postings the filter keeps (``trend_points`` holds only unfiltered shares); alerts,
source health and the classifier line are not filtered. A filtered report is never stored nor queued
(``jobtrend.app.report``).

The HTML is rendered from ``analysis/templates/report.html.j2`` with autoescaping on (scraped titles, company
names and errors are escaped; a posting URL becomes a link only when it is an absolute http(s) URL); charts are
referred to as ``cid:<cid>`` and travel as inline attachments.
:func:`write_report_file` writes a standalone HTML file with the charts embedded as ``data:`` URIs.
:func:`store_report` keeps one ``reports`` row per week; :func:`queue_report` puts it in the outbox.
Every figure is explained in ``docs/report.md``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Connection, Engine, and_, case, func, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from analysis import notify
from analysis.drift import DriftPoint, week_drift
from analysis.filters import PostingFilter
from analysis.pay_stats import MIN_N as PAY_MIN_N
from analysis.pay_stats import RESAMPLES, PayGroup, group_table, money, pay_records
from analysis.report_charts import ChartPoint, PayPoint, pay_chart, roles_chart, shares_chart
from analysis.trends import (
    MARKET,
    in_cohort,
    measured_postings_clause,
    period_column,
    proportion_change_test,
    wilson_interval,
)
from jobtrend.currency import shipped_rates
from jobtrend.files import atomic_write
from jobtrend.health import HEALTH_ORDER
from jobtrend.messages import one_line
from jobtrend.models import Alert, Classification, Framework, Mention, Posting, Report, Source, TrendPoint
from jobtrend.weeks import iso_week_label, last_complete_week, monday_of, month_of, utcnow

TEMPLATES = Path(__file__).parent / "templates"
ALPHA = 0.05  # the false discovery rate of the movers: Benjamini-Hochberg q-value at most this
AI = "all"  # the cohort of every AI-role posting, the denominator of the report's shares
CHART_PERIODS = 12  # weeks, or months when the weeks are thin
CHART_FRAMEWORKS = 6
CHART_MIN_POSTINGS = 10  # a period with fewer measured postings is drawn muted; a median week below it: months
MIX_MIN_CHANGE = 0.02  # a move smaller than 2 pp gets no source-mix note
MIX_PART = 0.5  # the source mix explains a move when it alone moves the share more than half as far
EXAMPLES_PER_ENTRY = 3
TOP_COMPANIES = 10
UNKNOWN_COMPANY = "(unknown company)"
SITE_KINDS = ("hackernews",)  # sources whose `company` is the site's name, never an employer's
ROLE_LABELS = {"ai_swe": "AI software engineer", "ml_engineer": "ML engineer", "not_ai": "not an AI role",
               "unclassified": "not classified yet", "no_description": "no description"}
SOURCE_NAMES = {"hackernews": "Hacker News", "ashby": "Ashby", "greenhouse": "Greenhouse", "lever": "Lever",
                "jsonld": "career-site (JSON-LD)"}
TEST_NAMES = {"two_proportion_z": "two-proportion z-test", "fisher_exact": "Fisher's exact test"}
SHARES_CID = "framework-shares@jobtrend"
ROLES_CID = "role-split@jobtrend"
PAY_CID = "pay-by-role@jobtrend"
PAY_MONTHS = 6  # the pay section pools the postings of the report week's month and the 5 before it


# --- statistics ------------------------------------------------------------------------------------------


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of :func:`analysis.trends.proportion_change_test` (1.0 when nothing can differ)."""
    return proportion_change_test(k1, n1, k2, n2)[1]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """The Benjamini-Hochberg adjusted p-values (q-values) of ``p_values``, in the same order: for the i-th
    smallest of m, q = min over j >= i of p_(j) * m / j, at most 1. Calling the hypotheses with q <= alpha
    significant keeps the expected share of false discoveries among them at most alpha (the step-up procedure)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * m / rank)
        adjusted[index] = min(1.0, running)
    return adjusted


@dataclass(frozen=True)
class MixNote:
    """A move mostly explained by the source mix: the kind whose weight changed most in the move's direction,
    its fraction of the postings before (pooled trailing weeks) and this week, the move the mix alone predicts
    and the move observed (proportions)."""

    kind: str
    before: float
    after: float
    expected_change: float
    observed_change: float

    @property
    def text(self) -> str:
        name = SOURCE_NAMES.get(self.kind, self.kind)
        return (f"mostly source mix: {name} postings went from {_pct(self.before, 0)} to {_pct(self.after, 0)} of "
                f"the AI-role postings; the mix alone moves the share {_pp(self.expected_change)} of the "
                f"{_pp(self.observed_change)} observed")


def source_mix_note(now: dict[str, tuple[int, int]], before: dict[str, tuple[int, int]]) -> MixNote | None:
    """Whether a framework's move is mostly a change in where the postings came from.

    ``now`` and ``before`` map a source kind to (k, n): postings mentioning the framework, postings measured,
    this week and in the pooled trailing weeks. The share expected if every kind kept its trailing share and only
    the mix changed is E = sum over kinds of (its fraction of this week's n) x (its trailing share); a kind
    without trailing postings is given the overall trailing share T. The note is given when the observed move
    share - T is at least ``MIX_MIN_CHANGE`` and the mix's move E - T points the same way and is more than
    ``MIX_PART`` of it. The kind named is the one contributing most to E - T,
    (fraction now - fraction before) x (its trailing share - T), in the move's direction."""
    n_now, n_before = sum(n for _, n in now.values()), sum(n for _, n in before.values())
    if not n_now or not n_before:
        return None
    share_now, share_before = sum(k for k, _ in now.values()) / n_now, sum(k for k, _ in before.values()) / n_before
    observed = share_now - share_before
    if abs(observed) < MIX_MIN_CHANGE:
        return None
    kinds = sorted(set(now) | set(before))
    rate = {s: before[s][0] / before[s][1] if before.get(s, (0, 0))[1] else share_before for s in kinds}
    weight_now = {s: now.get(s, (0, 0))[1] / n_now for s in kinds}
    weight_before = {s: before.get(s, (0, 0))[1] / n_before for s in kinds}
    expected = sum(weight_now[s] * rate[s] for s in kinds) - share_before
    if expected * observed <= 0 or abs(expected) <= MIX_PART * abs(observed):
        return None
    sign = 1 if observed > 0 else -1
    kind = max(kinds, key=lambda s: sign * (weight_now[s] - weight_before[s]) * (rate[s] - share_before))
    return MixNote(kind, weight_before[kind], weight_now[kind], expected, observed)


def chart_grain(weekly_n: Sequence[int]) -> str:
    """``"month"`` when the median of the chart's weekly n (AI-role postings measured, 0 for a week without any)
    is below ``CHART_MIN_POSTINGS``: most weeks would be gaps or noise, as with Hacker News, whose monthly thread
    lands in one or two weeks. ``"week"`` otherwise."""
    return "month" if statistics.median(weekly_n or [0]) < CHART_MIN_POSTINGS else "week"


# --- data ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceCount:
    kind: str
    postings: int  # canonical postings posted in the week
    duplicates: int  # copies pointing at a canonical posting
    boards: int = 0  # sources of this kind (boards, threads' account, sites) with a posting of the week


@dataclass(frozen=True)
class Share:
    """k of n postings of a cohort mention a framework."""

    k: int
    n: int

    @property
    def share(self) -> float | None:
        return self.k / self.n if self.n else None


@dataclass(frozen=True)
class FrameworkRow:
    """One framework in the week: share of AI-role postings with interval, the change against the pooled
    trailing weeks and its test, the market share beside it, and a source-mix note when one applies."""

    slug: str
    name: str
    category: str
    k: int
    n: int
    share: float
    ci_low: float
    ci_high: float
    trailing_k: int
    trailing_n: int
    trailing_share: float | None  # None when the trailing weeks hold no measured postings
    change: float | None  # share - trailing_share (a proportion; x100 = percentage points)
    p_value: float  # this week against the pooled trailing weeks
    test: str  # the test that gave p: "two_proportion_z" or "fisher_exact"
    q_value: float | None = None  # Benjamini-Hochberg over the frameworks tested this week; None: not tested
    market: Share | None = None  # the market cohort's k / n this week
    mix: MixNote | None = None

    @property
    def direction(self) -> str:
        return "up" if (self.change or 0) > 0 else "down"

    @property
    def tested(self) -> bool:
        """Tested for a move: the trailing weeks were measured and it is mentioned on either side."""
        return self.change is not None and self.k + self.trailing_k > 0

    @property
    def test_name(self) -> str:
        return TEST_NAMES.get(self.test, self.test)


@dataclass(frozen=True)
class Example:
    title: str
    company: str | None
    url: str | None


@dataclass(frozen=True)
class NewEntry:
    framework: FrameworkRow
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class CompanyRow:
    name: str
    ai_postings: int  # canonical AI-role postings with a description
    postings: int  # every canonical posting


@dataclass(frozen=True)
class AlertRow:
    rule: str
    subject: str
    value: float | None
    threshold: float | None
    direction: str | None
    fired_at: dt.datetime


@dataclass(frozen=True)
class SourceHealthRow:
    kind: str
    key: str
    company: str | None
    health: str
    health_since: dt.datetime | None
    last_ok_at: dt.datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Chart:
    """What the share chart draws: its grain, its periods (oldest first), one series per framework (periods with
    measured postings only) and why this grain."""

    grain: str
    periods: list[dt.date]
    series: dict[str, list[ChartPoint]]
    reason: str

    @property
    def unit(self) -> str:
        return "weeks" if self.grain == "week" else "months"

    @property
    def title(self) -> str:
        return f"Share of AI-role postings mentioning each framework, last {len(self.periods)} {self.unit}"


@dataclass(frozen=True)
class PaySection:
    """Posted base pay of AI roles over the report's last :data:`PAY_MONTHS` months: by role, and by role and
    month (pay is posted too rarely for weekly medians)."""

    months: list[dt.date]
    rates_date: str
    rows: list[PayGroup]  # by role, the months pooled
    series: dict[str, list[PayPoint]]  # role -> its monthly medians

    @property
    def postings(self) -> int:
        return sum(row.n for row in self.rows)

    @property
    def span(self) -> str:
        return f"{self.months[0]:%Y-%m} to {self.months[-1]:%Y-%m}"


@dataclass
class ReportData:
    """Everything the report shows, as read from the database."""

    week: dt.date
    label: str
    generated_at: dt.datetime
    trailing: list[dt.date]  # the trailing weeks compared against, oldest first
    sources: list[SourceCount]
    roles: dict[str, int]  # ROLE_LABELS keys (canonical postings)
    companies: list[CompanyRow]  # most AI-role postings first
    unknown_company: CompanyRow | None  # the postings whose company is not known
    n_measured: int  # n of cohort "all" this week (the denominator of every share)
    trailing_n: int  # pooled n of the trailing weeks
    market_n: int  # n of cohort "market" this week
    frameworks: list[FrameworkRow]  # the top ones, by share
    tested: int  # frameworks tested for a move (the m of Benjamini-Hochberg)
    movers: list[FrameworkRow]  # biggest change first
    new_entries: list[NewEntry]
    alerts: list[AlertRow]
    source_health: list[SourceHealthRow]
    chart: Chart | None = None
    role_series: list[tuple[dt.date, int, int]] = field(default_factory=list)  # (period, ai_swe, ml_engineer)
    classifier: DriftPoint | None = None  # the week's classifier drift, every source kind; None: none classified
    filter_text: str = ""  # the filter's description; empty when unfiltered
    alpha: float = ALPHA
    pay: PaySection | None = None  # posted pay of AI roles, the last PAY_MONTHS months

    @property
    def week_end(self) -> dt.date:
        return self.week + dt.timedelta(days=6)

    @property
    def total_postings(self) -> int:
        return sum(s.postings for s in self.sources)

    @property
    def total_duplicates(self) -> int:
        return sum(s.duplicates for s in self.sources)

    @property
    def total_boards(self) -> int:
        return sum(s.boards for s in self.sources)

    @property
    def ai_postings(self) -> int:
        return self.roles["ai_swe"] + self.roles["ml_engineer"]

    @property
    def classifier_line(self) -> str:
        return classifier_line(self.classifier)

    @property
    def mix_notes(self) -> list[FrameworkRow]:
        """The top frameworks and movers whose move is mostly source mix, once each, in table order."""
        seen: dict[str, FrameworkRow] = {}
        for row in [*self.frameworks, *self.movers]:
            if row.mix is not None:
                seen.setdefault(row.slug, row)
        return list(seen.values())

    @property
    def mover_tests(self) -> list[str]:
        """The names of the tests that gave the movers' p-values, z-test first."""
        used = {row.test for row in self.movers}
        return [TEST_NAMES[t] for t in TEST_NAMES if t in used]


@dataclass
class WeeklyReport:
    """A rendered weekly report: HTML (charts as ``cid:``), plain text, the PNG charts, and its data."""

    week: dt.date
    html: str
    text: str
    images: list[tuple[str, bytes]]  # (cid, PNG bytes)
    data: ReportData

    @property
    def label(self) -> str:
        return iso_week_label(self.week)

    @property
    def generated_at(self) -> dt.datetime:
        return self.data.generated_at

    @property
    def filtered(self) -> bool:
        return bool(self.data.filter_text)

    @property
    def subject(self) -> str:
        movers, alerts = len(self.data.movers), len(self.data.alerts)
        return (f"jobtrend weekly report {self.label}: {self.data.total_postings} postings, "
                f"{movers} mover{'' if movers == 1 else 's'}, {alerts} alert{'' if alerts == 1 else 's'}")


# --- building --------------------------------------------------------------------------------------------


def build_report(engine: Engine, week: dt.date | None = None, *, now: dt.datetime | None = None, top: int = 15,
                 trailing_weeks: int = 4, posting_filter: PostingFilter | None = None,
                 alpha: float = ALPHA) -> WeeklyReport:
    """Gather and render the report of the ISO week starting on Monday ``week`` (default: last complete week),
    of the postings ``posting_filter`` keeps (default: every posting)."""
    if trailing_weeks < 1:
        raise ValueError("trailing_weeks must be at least 1")
    generated_at = now if isinstance(now, dt.datetime) else utcnow()
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=dt.UTC)
    week = last_complete_week(now) if week is None else monday_of(week)
    data = gather(engine, week, generated_at=generated_at, top=top, trailing_weeks=trailing_weeks,
                  posting_filter=posting_filter, alpha=alpha)
    images = [(SHARES_CID, draw_shares(data)), (ROLES_CID, draw_roles(data))]
    if data.pay is not None and data.pay.rows:  # a pay chart only when some AI-role posting states pay
        images.append((PAY_CID, draw_pay(data)))
    html, text = render(data, {cid: f"cid:{cid}" for cid, _ in images})
    return WeeklyReport(week=week, html=html, text=text, images=images, data=data)


def gather(engine: Engine, week: dt.date, *, generated_at: dt.datetime, top: int = 15, trailing_weeks: int = 4,
           posting_filter: PostingFilter | None = None, alpha: float = ALPHA) -> ReportData:
    """Read everything the report of ``week`` shows."""
    only = posting_filter or PostingFilter()
    trailing = [week - dt.timedelta(weeks=i) for i in range(trailing_weeks, 0, -1)]
    chart_weeks = [week - dt.timedelta(weeks=i) for i in range(CHART_PERIODS - 1, -1, -1)]
    with engine.connect() as conn:
        frameworks = {f.id: f for f in conn.execute(select(Framework.id, Framework.slug, Framework.name,
                                                           Framework.category))}
        reader = PointReader(conn, only, list(frameworks))
        points = reader.points(AI, "week", {*trailing, *chart_weeks, week})
        market = {p.framework_id: Share(p.k, p.n) for p in reader.points(MARKET, "week", [week])}
        rows = _with_q_values(_framework_rows(points, frameworks, week, trailing))
        n_measured = _n_of(points, week)
        trailing_n = sum(_n_of(points, w) for w in trailing)
        mover_ids = sorted((fid for fid, r in rows.items() if r.q_value is not None and r.q_value <= alpha),
                           key=lambda fid: (-abs(rows[fid].change or 0), rows[fid].slug))
        top_ids = sorted((fid for fid, r in rows.items() if r.k > 0),
                         key=lambda fid: (-rows[fid].share, rows[fid].slug))[:top]
        notes = _mix_notes(conn, only, week, trailing, sorted({*top_ids, *mover_ids}))
        rows = {fid: dataclasses.replace(r, market=market.get(fid), mix=notes.get(fid)) for fid, r in rows.items()}
        new_ids = [fid for fid, r in rows.items() if r.k > 0 and trailing_n > 0 and r.trailing_k == 0]
        examples = _examples(conn, only, week, new_ids)
        chart = _chart(reader, points, chart_weeks, week, frameworks)
        companies, unknown = _companies(conn, only, week)
        data = ReportData(
            week=week, label=iso_week_label(week), generated_at=generated_at, trailing=trailing,
            sources=_source_counts(conn, only, week), roles=_role_counts(conn, only, week), companies=companies,
            unknown_company=unknown, n_measured=n_measured, trailing_n=trailing_n,
            market_n=max((s.n for s in market.values()), default=0),
            frameworks=[rows[fid] for fid in top_ids],
            tested=sum(1 for r in rows.values() if r.tested), movers=[rows[fid] for fid in mover_ids],
            new_entries=[NewEntry(rows[fid], tuple(examples.get(fid, ())))
                         for fid in sorted(new_ids, key=lambda fid: (-rows[fid].k, rows[fid].slug))],
            alerts=_alerts(conn, week), source_health=_source_health(conn), chart=chart,
            role_series=_role_series(conn, only, chart.grain, chart.periods), classifier=week_drift(conn, week),
            filter_text=only.describe(), alpha=alpha)
    data.pay = pay_section(engine, week, only)
    return data


def pay_section(engine: Engine, week: dt.date, only: PostingFilter) -> PaySection:
    """Posted base pay (USD midpoint) of the AI-role postings ``only`` keeps, of the :data:`PAY_MONTHS` months up
    to ``week``'s, posted by the end of ``week``."""
    months = _months_to(week.replace(day=1), PAY_MONTHS)
    records = pay_records(engine, cohort=AI, posting_filter=only, since=months[0], until=week)
    series: dict[str, list[PayPoint]] = {}
    for group in group_table(records, "role", grain="month"):
        month = dt.date.fromisoformat(group.key[0] + "-01")
        series.setdefault(group.key[1], []).append(PayPoint(month, group.median, group.ci_low, group.ci_high, group.n))
    ordered = {role: sorted(series[role], key=lambda p: p.period) for role in ROLE_LABELS if role in series}
    return PaySection(months, shipped_rates().date, group_table(records, "role"), ordered)


def _n_of(points: Iterable[Point], period: dt.date) -> int:
    return max((p.n for p in points if p.period_start == period), default=0)


# --- framework shares: stored, or counted on the fly for a filtered report --------------------------------


@dataclass(frozen=True)
class Point:
    """One (period, framework) share of a cohort, as ``trend_points`` stores it."""

    period_start: dt.date
    framework_id: int
    n: int
    k: int
    share: float
    ci_low: float
    ci_high: float


class PointReader:
    """Shares of a cohort for some periods: read from ``trend_points`` for an unfiltered report, counted from
    the postings (the same cohort conditions, :func:`analysis.trends.in_cohort`) for a filtered one."""

    def __init__(self, conn: Connection, posting_filter: PostingFilter, framework_ids: list[int]) -> None:
        self.conn = conn
        self.filter = posting_filter
        self.framework_ids = framework_ids

    def points(self, cohort: str, grain: str, periods: Iterable[dt.date]) -> list[Point]:
        periods = sorted(set(periods))
        if not periods:
            return []
        if self.filter.empty:
            return self._stored(cohort, grain, periods)
        return self._counted(cohort, grain, periods)

    def _stored(self, cohort: str, grain: str, periods: list[dt.date]) -> list[Point]:
        query = (select(TrendPoint.period_start, TrendPoint.framework_id, TrendPoint.n_postings,
                        TrendPoint.n_mentioning, TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high)
                 .where(TrendPoint.cohort == cohort, TrendPoint.grain == grain,
                        TrendPoint.period_start.in_(periods)))
        points = []
        for start, fid, n, k, share, low, high in self.conn.execute(query):
            if low is None or high is None:
                low, high = wilson_interval(k, n)
            points.append(Point(start, fid, n, k, share, low, high))
        return points

    def _counted(self, cohort: str, grain: str, periods: list[dt.date]) -> list[Point]:
        period = period_column(grain)
        where = (*measured(cohort, self.filter), period.in_(periods))
        n = dict(self.conn.execute(_measured_from(select(period, func.count())).where(*where).group_by(period)).all())
        k = {(start, fid): hits for start, fid, hits in self.conn.execute(
            _measured_from(select(period, Mention.framework_id, func.count()))
            .join(Mention, Mention.posting_id == Posting.id).where(*where, Mention.count > 0)
            .group_by(period, Mention.framework_id))}
        points = []
        for start, total in sorted(n.items()):
            for fid in self.framework_ids:
                hits = k.get((start, fid), 0)
                points.append(Point(start, fid, total, hits, hits / total, *wilson_interval(hits, total)))
        return points


def measured(cohort: str, posting_filter: PostingFilter) -> tuple:
    """WHERE conditions of the measured postings of ``cohort`` that ``posting_filter`` keeps (the query must
    outer-join ``classifications`` and join ``sources``: :func:`_measured_from`)."""
    return (measured_postings_clause(), in_cohort(cohort), *posting_filter.clauses(Posting))


def _measured_from(query):
    """``query`` over postings with their source and (outer-joined) classification: what :func:`measured` reads."""
    return (query.select_from(Posting).join(Source, Source.id == Posting.source_id)
            .outerjoin(Classification, Classification.posting_id == Posting.id))


def _framework_rows(points: list[Point], frameworks, week: dt.date, trailing: list[dt.date]
                    ) -> dict[int, FrameworkRow]:
    trailing_set = set(trailing)
    pooled: dict[int, list[int]] = {}
    for p in points:
        if p.period_start in trailing_set:
            acc = pooled.setdefault(p.framework_id, [0, 0])
            acc[0] += p.k
            acc[1] += p.n
    rows = {}
    for p in points:
        if p.period_start != week or p.framework_id not in frameworks:
            continue
        f = frameworks[p.framework_id]
        tk, tn = pooled.get(p.framework_id, (0, 0))
        trailing_share = tk / tn if tn else None
        _, p_value, test = proportion_change_test(p.k, p.n, tk, tn)
        rows[p.framework_id] = FrameworkRow(
            slug=f.slug, name=f.name, category=f.category, k=p.k, n=p.n, share=p.share, ci_low=p.ci_low,
            ci_high=p.ci_high, trailing_k=tk, trailing_n=tn, trailing_share=trailing_share,
            change=None if trailing_share is None else p.share - trailing_share, p_value=p_value, test=test)
    return rows


def _with_q_values(rows: dict[int, FrameworkRow]) -> dict[int, FrameworkRow]:
    """Every tested row with its Benjamini-Hochberg q-value over all the frameworks tested this week. A
    framework mentioned neither this week nor in the trailing weeks is not tested (its p is 1 by construction):
    counting it would only make every other test stricter."""
    tested = [fid for fid, r in rows.items() if r.tested]
    q_values = benjamini_hochberg([rows[fid].p_value for fid in tested])
    return rows | {fid: dataclasses.replace(rows[fid], q_value=q) for fid, q in zip(tested, q_values, strict=True)}


def _mix_notes(conn: Connection, only: PostingFilter, week: dt.date, trailing: list[dt.date],
               framework_ids: list[int]) -> dict[int, MixNote]:
    """The source-mix note of each of ``framework_ids`` whose move is mostly source mix (:func:`source_mix_note`),
    from the AI-role postings of the week and the trailing weeks counted per source kind."""
    if not framework_ids:
        return {}
    where = (*measured(AI, only), Posting.posted_week.in_([week, *trailing]))
    n: dict[tuple[bool, str], int] = {}
    for posted_week, kind, total in conn.execute(
            _measured_from(select(Posting.posted_week, Source.kind, func.count())).where(*where)
            .group_by(Posting.posted_week, Source.kind)):
        key = (posted_week == week, kind)
        n[key] = n.get(key, 0) + total
    k: dict[tuple[bool, int, str], int] = {}
    for posted_week, fid, kind, hits in conn.execute(
            _measured_from(select(Posting.posted_week, Mention.framework_id, Source.kind, func.count()))
            .join(Mention, Mention.posting_id == Posting.id)
            .where(*where, Mention.count > 0, Mention.framework_id.in_(framework_ids))
            .group_by(Posting.posted_week, Mention.framework_id, Source.kind)):
        key = (posted_week == week, fid, kind)
        k[key] = k.get(key, 0) + hits
    notes = {}
    for fid in framework_ids:
        now = {kind: (k.get((True, fid, kind), 0), total) for (is_now, kind), total in n.items() if is_now}
        before = {kind: (k.get((False, fid, kind), 0), total) for (is_now, kind), total in n.items()
                  if not is_now}
        note = source_mix_note(now, before)
        if note is not None:
            notes[fid] = note
    return notes


# --- the chart -------------------------------------------------------------------------------------------


def _chart(reader: PointReader, weekly: list[Point], chart_weeks: list[dt.date], week: dt.date,
           frameworks) -> Chart:
    """The share chart's data: weekly points over ``chart_weeks``, or monthly points over the 12 months up to
    the month the week ends in when the weeks are thin (:func:`chart_grain`); the six frameworks with the highest
    pooled share over the chart's periods."""
    weekly_n = [_n_of(weekly, w) for w in chart_weeks]
    grain = chart_grain(weekly_n)
    median = statistics.median(weekly_n)
    if grain == "week":
        periods, points = chart_weeks, [p for p in weekly if p.period_start in set(chart_weeks)]
        reason = (f"weekly: the median of the {len(chart_weeks)} weeks has {median:g} AI-role postings "
                  f"(at least {CHART_MIN_POSTINGS})")
    else:
        periods = _months_to(month_of(week + dt.timedelta(days=6)), CHART_PERIODS)
        points = reader.points(AI, "month", periods)
        reason = (f"monthly: the median of the last {len(chart_weeks)} weeks has {median:g} AI-role postings, "
                  f"fewer than {CHART_MIN_POSTINGS}")
    pooled: dict[int, list[int]] = {}
    for p in points:
        acc = pooled.setdefault(p.framework_id, [0, 0])
        acc[0] += p.k
        acc[1] += p.n
    chosen = sorted((fid for fid, (k, n) in pooled.items() if k > 0 and fid in frameworks),
                    key=lambda fid: (-pooled[fid][0] / pooled[fid][1], frameworks[fid].slug))[:CHART_FRAMEWORKS]
    series = {frameworks[fid].name: sorted((ChartPoint(p.period_start, p.share, p.ci_low, p.ci_high, p.n)
                                            for p in points if p.framework_id == fid), key=lambda c: c.period)
              for fid in chosen}
    return Chart(grain, periods, series, reason)


def _months_to(last: dt.date, count: int) -> list[dt.date]:
    """The ``count`` months up to and including ``last`` (a first of the month), oldest first."""
    months = [last]
    while len(months) < count:
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    return months[::-1]


def draw_shares(data: ReportData) -> bytes:
    """PNG: the share chart of ``data`` (:func:`analysis.report_charts.shares_chart`)."""
    chart = data.chart or Chart("week", [data.week], {}, "")
    return shares_chart(chart.periods, chart.grain, chart.series, title=chart.title,
                        min_postings=CHART_MIN_POSTINGS, caption=f"{chart.reason[:1].upper()}{chart.reason[1:]}.")


def draw_pay(data: ReportData) -> bytes:
    """PNG: the monthly median base pay of each AI role with its 95 % interval."""
    pay = data.pay
    return pay_chart(pay.months, {ROLE_LABELS[role]: points for role, points in pay.series.items()},
                     title=f"Median posted base pay of AI roles (USD), {pay.span}", min_n=PAY_MIN_N,
                     caption=f"Annualised midpoint of the posted range; bars: 95 % bootstrap intervals; hollow: "
                             f"fewer than {PAY_MIN_N} postings. USD at the shipped rates of {pay.rates_date}.")


def draw_roles(data: ReportData) -> bytes:
    """PNG: AI-role postings per period of the share chart, by role."""
    grain = data.chart.grain if data.chart else "week"
    unit = "week" if grain == "week" else "month"
    return roles_chart([p for p, _, _ in data.role_series], grain, [(a, m) for _, a, m in data.role_series],
                       title=f"AI-role postings per {unit}, last {len(data.role_series)} {unit}s",
                       labels=(ROLE_LABELS["ai_swe"], ROLE_LABELS["ml_engineer"]))


# --- counts of the week ----------------------------------------------------------------------------------


def _canonical_of_week(week: dt.date, only: PostingFilter) -> tuple:
    return (Posting.posted_week == week, Posting.duplicate_of_id.is_(None), *only.clauses(Posting))


def _source_counts(conn: Connection, only: PostingFilter, week: dt.date) -> list[SourceCount]:
    query = (select(Source.kind, Posting.duplicate_of_id.is_(None), func.count())
             .join(Source, Source.id == Posting.source_id)
             .where(Posting.posted_week == week, *only.clauses(Posting))
             .group_by(Source.kind, Posting.duplicate_of_id.is_(None)))
    counts: dict[str, list[int]] = {}
    boards = (select(Source.kind, func.count(Posting.source_id.distinct()))
              .join(Source, Source.id == Posting.source_id)
              .where(Posting.posted_week == week, *only.clauses(Posting)).group_by(Source.kind))
    for kind, is_canonical, n in conn.execute(query):
        counts.setdefault(kind, [0, 0])[0 if is_canonical else 1] += n
    contributing = dict(conn.execute(boards).all())
    return sorted((SourceCount(kind, c[0], c[1], contributing.get(kind, 0)) for kind, c in counts.items()),
                  key=lambda s: (-s.postings, s.kind))


def _has_description():
    return func.trim(func.coalesce(Posting.description_text, "")) != literal_column("''")


def _role_counts(conn: Connection, only: PostingFilter, week: dt.date) -> dict[str, int]:
    """Canonical postings of the week by role; a posting without a description is ``no_description`` whatever
    its classification (it is never classified nor measured), apart from ``unclassified`` (waiting for the
    classifier)."""
    has_text = _has_description()
    classified = Classification.posting_id.is_not(None)
    query = (select(Classification.role, func.count(),
                    func.sum(case((has_text, 1), else_=0)),
                    func.sum(case((and_(has_text, classified), 1), else_=0)))
             .select_from(Posting).outerjoin(Classification, Classification.posting_id == Posting.id)
             .where(*_canonical_of_week(week, only)).group_by(Classification.role))
    roles = dict.fromkeys(ROLE_LABELS, 0)
    for role, total, with_text, classified_with_text in conn.execute(query):
        with_text, classified_with_text = int(with_text or 0), int(classified_with_text or 0)
        roles["no_description"] += total - with_text
        if role in ("ai_swe", "ml_engineer"):
            roles[role] += with_text
        else:  # role NULL: classified as not an AI role, or not classified at all
            roles["not_ai"] += classified_with_text
            roles["unclassified"] += with_text - classified_with_text
    return roles


def company_name(company: str | None, source_kind: str, source_company: str | None) -> str | None:
    """The employer of a posting: its own company; else its source's, unless the source is a site that carries
    many employers (Hacker News: a comment whose company was not parsed), whose name is never an employer's.
    None: not known."""
    if company and company.strip() and not (source_kind in SITE_KINDS and company.strip() == source_company):
        return company.strip()
    if source_kind in SITE_KINDS or not source_company or not source_company.strip():
        return None
    return source_company.strip()


def _companies(conn: Connection, only: PostingFilter, week: dt.date) -> tuple[list[CompanyRow], CompanyRow | None]:
    """The companies with the most AI-role postings this week (then the most postings), and the bucket of the
    postings whose company is not known (None when there are none)."""
    is_ai = and_(Classification.role.in_(("ai_swe", "ml_engineer")), _has_description())
    query = (select(Posting.company, Source.kind, Source.company, func.count(), func.sum(case((is_ai, 1), else_=0)))
             .select_from(Posting).join(Source, Source.id == Posting.source_id)
             .outerjoin(Classification, Classification.posting_id == Posting.id)
             .where(*_canonical_of_week(week, only)).group_by(Posting.company, Source.kind, Source.company))
    totals: dict[str | None, list[int]] = {}
    for company, kind, source_company, n, ai in conn.execute(query):
        acc = totals.setdefault(company_name(company, kind, source_company), [0, 0])
        acc[0] += int(ai or 0)
        acc[1] += n
    unknown = totals.pop(None, None)
    ranked = sorted(totals.items(), key=lambda item: (-item[1][0], -item[1][1], item[0].casefold()))
    return ([CompanyRow(name, ai, n) for name, (ai, n) in ranked[:TOP_COMPANIES]],
            None if unknown is None else CompanyRow(UNKNOWN_COMPANY, *unknown))


def _examples(conn: Connection, only: PostingFilter, week: dt.date, framework_ids: list[int]
              ) -> dict[int, list[Example]]:
    """Up to three example postings per framework, from the postings its count is of: the AI-role postings of
    the week measured (``measured(AI)``) that mention it."""
    if not framework_ids:
        return {}
    query = (_measured_from(select(Mention.framework_id, Posting.title, Posting.company, Source.kind,
                                   Source.company, Posting.url))
             .join(Mention, Mention.posting_id == Posting.id)
             .where(*measured(AI, only), Posting.posted_week == week, Mention.framework_id.in_(framework_ids),
                    Mention.count > 0)
             .order_by(Mention.framework_id, Posting.id))
    examples: dict[int, list[Example]] = {}
    for fid, title, company, kind, source_company, url in conn.execute(query):
        found = examples.setdefault(fid, [])
        if len(found) < EXAMPLES_PER_ENTRY:
            found.append(Example(title, company_name(company, kind, source_company), url))
    return examples


def _role_series(conn: Connection, only: PostingFilter, grain: str, periods: list[dt.date]
                 ) -> list[tuple[dt.date, int, int]]:
    """(period, ai_swe, ml_engineer) canonical postings with a description, per period of the chart."""
    period = period_column(grain)
    query = (select(period, Classification.role, func.count())
             .join(Classification, Classification.posting_id == Posting.id)
             .where(period.in_(periods), Posting.duplicate_of_id.is_(None), _has_description(),
                    Classification.role.in_(("ai_swe", "ml_engineer")), *only.clauses(Posting))
             .group_by(period, Classification.role))
    counts = {(start, role): n for start, role, n in conn.execute(query)}
    return [(p, counts.get((p, "ai_swe"), 0), counts.get((p, "ml_engineer"), 0)) for p in periods]


def _alerts(conn: Connection, week: dt.date) -> list[AlertRow]:
    return [AlertRow(a.rule, a.subject, a.value, a.threshold, a.direction, a.fired_at) for a in conn.execute(
        select(Alert).where(Alert.period_start == week).order_by(Alert.rule, Alert.subject))]


def _source_health(conn: Connection) -> list[SourceHealthRow]:
    health = [SourceHealthRow(s.kind, s.key, s.company, s.health, s.health_since, s.last_ok_at, s.last_error)
              for s in conn.execute(select(Source).where(Source.enabled.is_(True), Source.health != "ok"))]
    return sorted(health, key=lambda h: (HEALTH_ORDER.get(h.health, 9), h.kind, h.key))


DRIFT_FIGURES = {"ai_share": "AI share", "ml_share": "ml_engineer share", "confidence": "mean confidence"}


def classifier_line(point: DriftPoint | None) -> str:
    """One line on the classifier this week, e.g. ``Classifier: 23.0% of this week's 412 classified postings are
    AI roles (band 18.0-29.4%), ml_engineer 41.1% of them, mean confidence 0.93; no drift``."""
    if point is None:
        return "Classifier: no posting of this week is classified by the current model yet."
    c = point.counts
    band = "" if point.ai_band is None else f" (band {point.ai_band[0] * 100:.1f}-{point.ai_band[1] * 100:.1f}%)"
    ml = "" if c.ml_share is None else f", ml_engineer {_pct(c.ml_share)} of them"
    if not point.judged:
        verdict = f"not judged: {point.not_judged}"
    elif point.flags:
        verdict = "outside the band: " + ", ".join(
            f"{DRIFT_FIGURES[figure]} {direction}" for figure, direction in (f.split() for f in point.flags))
    else:
        verdict = "no drift"
    return (f"Classifier: {_pct(c.ai_share)} of this week's {c.n} classified postings are AI roles{band}{ml}, "
            f"mean confidence {c.confidence:.2f}; {verdict}")


# --- rendering -------------------------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _pp(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


def _pvalue(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _when(moment: dt.datetime | None) -> str:
    return "–" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}".rstrip("0").rstrip(".")


HTTP_URL = re.compile(r"^https?://[^\s/?#\\@]+(?:[/?#]\S*)?$", re.IGNORECASE)


def _http_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL fit for an ``href``; None otherwise (``javascript:``, ``data:``,
    relative, with spaces or control characters): a scraped URL never becomes a link to anything else."""
    if not url or not HTTP_URL.match(url) or not url.isprintable():
        return None
    return url


def _one_line(text: Any) -> str:
    """Scraped text on one line (the plain-text part): a title cannot start a line of its own."""
    return "" if text is None else one_line(str(text))


def grid(header: list[str], rows: list[list[Any]], indent: int = 2) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned, two spaces apart."""
    table = [[str(c) for c in header]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append(" " * indent + "  ".join(cells).rstrip())
    return "\n".join(lines)


def environment() -> Environment:
    """The Jinja2 environment of the report templates: HTML templates (``*.html.j2``) are autoescaped.

    ``select_autoescape(["html", "j2"])`` would escape the plain-text template too (it also ends in ``.j2``),
    turning ``<`` into ``&lt;`` in the text part; so escaping is keyed on ``.html``/``.html.j2``.
    """
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(enabled_extensions=("html", "htm", "html.j2"),
                                                   disabled_extensions=("txt", "txt.j2"), default=True),
                      undefined=StrictUndefined, extensions=["jinja2.ext.do"], trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters.update(pct=_pct, pp=_pp, pvalue=_pvalue, when=_when, number=_number, http_url=_http_url,
                       one_line=_one_line, money=money)
    env.globals.update(grid=grid, role_labels=ROLE_LABELS, iso_week_label=iso_week_label, source_names=SOURCE_NAMES,
                       chart_min=CHART_MIN_POSTINGS, pay_min_n=PAY_MIN_N, pay_resamples=RESAMPLES)
    return env


def render(data: ReportData, image_src: dict[str, str]) -> tuple[str, str]:
    """The HTML (charts at ``image_src[cid]``) and the plain text of the report."""
    env = environment()
    context = {"d": data, "images": image_src, "shares_cid": SHARES_CID, "roles_cid": ROLES_CID, "pay_cid": PAY_CID}
    return env.get_template("report.html.j2").render(context), env.get_template("report.txt.j2").render(context)


# --- output ----------------------------------------------------------------------------------------------


def standalone_html(report: WeeklyReport) -> str:
    """The report's HTML rendered again with each chart as an embedded ``data:image/png;base64`` URI.

    Rendered, not a text replacement of ``cid:...`` in the HTML: a scraped title holding that text stays as it is.
    """
    sources = {cid: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for cid, png in report.images}
    return render(report.data, sources)[0]


def write_report_file(report: WeeklyReport, path: Path | str) -> Path:
    """Write the report as a standalone HTML file (charts embedded), for a browser; return the path. The file is
    replaced atomically (:func:`jobtrend.files.atomic_write`): a failed write keeps the previous one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, standalone_html(report))


def store_report(engine: Engine, report: WeeklyReport, *, force: bool = False) -> bool:
    """Keep the report in ``reports`` (one row per week), its HTML standalone (charts embedded as ``data:`` URIs,
    so the stored row opens as it was sent). False when the week is already stored, unless ``force``, which
    replaces it."""
    values = {"generated_at": report.generated_at, "html": standalone_html(report), "text": report.text}
    try:
        with engine.begin() as conn:
            exists = conn.scalar(select(Report.id).where(Report.period_start == report.week))
            if exists is not None:
                if not force:
                    return False
                conn.execute(update(Report).where(Report.id == exists).values(**values))
                return True
            conn.execute(Report.__table__.insert().values(period_start=report.week, **values))
            return True
    except IntegrityError:  # another process stored the same week in between
        if not force:
            return False
        raise


def attachments(report: WeeklyReport) -> list[dict[str, str]]:
    """The charts as outbox attachments: ``{"cid", "mime", "data" (base64)}``."""
    return [{"cid": cid, "mime": "image/png", "data": base64.b64encode(png).decode("ascii")}
            for cid, png in report.images]


def dedupe_key(report: WeeklyReport, *, force: bool = False) -> str:
    """``report:2026-W47``: the outbox sends one report per week; ``force`` adds the generation time."""
    key = f"report:{report.label}"
    return f"{key}:{report.generated_at.isoformat()}" if force else key


def queue_report(engine: Engine, notify_settings: Any, report: WeeklyReport, *, force: bool = False) -> Any:
    """Queue the report in the outbox for every configured recipient (``config.notify``); returns what
    :func:`analysis.notify.queue_for_recipients` returns. Once per week unless ``force``."""
    return notify.queue_for_recipients(engine, notify_settings, subject=report.subject, body=report.text,
                                html=report.html, attachments=attachments(report),
                                dedupe_key=dedupe_key(report, force=force))
