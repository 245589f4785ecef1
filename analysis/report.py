"""The weekly report: what the job market did in one ISO week, as an email (HTML + text + inline PNG charts).

:func:`build_report` reads the stored tables (it never recomputes trends) for one ISO week, by default the one
that ended last Sunday, and gathers:

- postings posted that week by source kind (canonical and duplicates) and by role (from ``classifications``:
  ``ai_swe`` / ``ml_engineer`` / not an AI role / not classified yet), and the companies posting most;
- the top frameworks of cohort ``all``: share k / n with its 95 % Wilson interval (``trend_points``), and the
  change against the *pooled* trailing weeks (sum of k over sum of n of the ``trailing_weeks`` weeks before);
- movers: frameworks whose change passes :func:`analysis.trends.proportion_change_test` (alpha 0.05): the pooled
  two-proportion z-test, or Fisher's exact test where a cell expects fewer than 5 postings;
- new entries: frameworks mentioned this week and in none of the trailing weeks (with a few example postings);
- the alerts fired for the week (``alerts.period_start`` = the week) and the sources whose health is not ``ok``;
- one line on the role classifier: the week's AI-role share with its band, the ml_engineer share and the mean
  confidence, and whether any left the band (:func:`analysis.drift.week_drift`, the current model version,
  every source kind together, the default band);
- two charts (matplotlib, Agg, PNG bytes): framework shares over the last 12 weeks for the top 6 frameworks,
  and the weekly role split (ai_swe vs ml_engineer postings) over the last 12 weeks.

The HTML is rendered from ``analysis/templates/report.html.j2`` with autoescaping on (scraped titles, company
names and errors are escaped; a posting URL becomes a link only when it is an absolute http(s) URL); charts are
referred to as ``cid:<cid>`` and travel as inline attachments.
:func:`write_report_file` writes a standalone HTML file with the charts embedded as ``data:`` URIs.
:func:`store_report` keeps one ``reports`` row per week; :func:`queue_report` puts it in the outbox.
Every figure is explained in ``docs/report.md``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from analysis import notify
from analysis.drift import DriftPoint, week_drift
from analysis.trends import proportion_change_test, wilson_interval
from jobtrend.files import atomic_write
from jobtrend.health import HEALTH_ORDER
from jobtrend.messages import one_line
from jobtrend.models import Alert, Classification, Framework, Mention, Posting, Report, Source, TrendPoint
from jobtrend.weeks import iso_week_label, last_complete_week, monday_of, utcnow

TEMPLATES = Path(__file__).parent / "templates"
ALPHA = 0.05
CHART_WEEKS = 12
CHART_FRAMEWORKS = 6
CHART_MIN_POSTINGS = 10  # a week with fewer measured postings is left out of the share chart (a gap): too noisy
EXAMPLES_PER_ENTRY = 3
TOP_COMPANIES = 10
ROLE_LABELS = {"ai_swe": "AI software engineer", "ml_engineer": "ML engineer", "not_ai": "not an AI role",
               "unclassified": "not classified yet"}
SHARES_CID = "framework-shares@jobtrend"
ROLES_CID = "role-split@jobtrend"


# --- statistics ------------------------------------------------------------------------------------------


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of :func:`analysis.trends.proportion_change_test` (1.0 when nothing can differ)."""
    return proportion_change_test(k1, n1, k2, n2)[1]




# --- data ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceCount:
    kind: str
    postings: int  # canonical postings posted in the week
    duplicates: int  # copies pointing at a canonical posting


@dataclass(frozen=True)
class FrameworkRow:
    """One framework in the week: share with interval, and the change against the pooled trailing weeks."""

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
    p_value: float  # two-proportion test of this week against the pooled trailing weeks

    @property
    def direction(self) -> str:
        return "up" if (self.change or 0) > 0 else "down"


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


@dataclass
class ReportData:
    """Everything the report shows, as read from the database."""

    week: dt.date
    label: str
    generated_at: dt.datetime
    trailing: list[dt.date]  # the trailing weeks compared against, oldest first
    sources: list[SourceCount]
    roles: dict[str, int]  # ai_swe, ml_engineer, not_ai, unclassified (canonical postings)
    companies: list[tuple[str, int]]  # most postings first
    n_measured: int  # n of cohort "all" this week (the denominator of every share)
    trailing_n: int  # pooled n of the trailing weeks
    frameworks: list[FrameworkRow]  # the top ones, by share
    movers: list[FrameworkRow]  # biggest change first
    new_entries: list[NewEntry]
    alerts: list[AlertRow]
    source_health: list[SourceHealthRow]
    share_series: dict[str, list[tuple[dt.date, float]]] = field(default_factory=dict)  # name -> (week, share)
    role_series: list[tuple[dt.date, int, int]] = field(default_factory=list)  # (week, ai_swe, ml_engineer)
    classifier: DriftPoint | None = None  # the week's classifier drift, every source kind; None: none classified

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
    def ai_postings(self) -> int:
        return self.roles["ai_swe"] + self.roles["ml_engineer"]

    @property
    def classifier_line(self) -> str:
        return classifier_line(self.classifier)


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
    def subject(self) -> str:
        movers, alerts = len(self.data.movers), len(self.data.alerts)
        return (f"jobtrend weekly report {self.label}: {self.data.total_postings} postings, "
                f"{movers} mover{'' if movers == 1 else 's'}, {alerts} alert{'' if alerts == 1 else 's'}")


# --- building --------------------------------------------------------------------------------------------


def build_report(engine: Engine, week: dt.date | None = None, *, now: dt.datetime | None = None, top: int = 15,
                 trailing_weeks: int = 4) -> WeeklyReport:
    """Gather and render the report of the ISO week starting on Monday ``week`` (default: last complete week)."""
    if trailing_weeks < 1:
        raise ValueError("trailing_weeks must be at least 1")
    generated_at = now if isinstance(now, dt.datetime) else utcnow()
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=dt.UTC)
    week = last_complete_week(now) if week is None else monday_of(week)
    data = gather(engine, week, generated_at=generated_at, top=top, trailing_weeks=trailing_weeks)
    images = [(SHARES_CID, shares_chart(data)), (ROLES_CID, roles_chart(data))]
    html, text = render(data, {SHARES_CID: f"cid:{SHARES_CID}", ROLES_CID: f"cid:{ROLES_CID}"})
    return WeeklyReport(week=week, html=html, text=text, images=images, data=data)


def gather(engine: Engine, week: dt.date, *, generated_at: dt.datetime, top: int = 15,
           trailing_weeks: int = 4) -> ReportData:
    """Read everything the report of ``week`` shows."""
    trailing = [week - dt.timedelta(weeks=i) for i in range(trailing_weeks, 0, -1)]
    chart_weeks = [week - dt.timedelta(weeks=i) for i in range(CHART_WEEKS - 1, -1, -1)]
    canonical = Posting.duplicate_of_id.is_(None)
    with engine.connect() as conn:
        sources = _source_counts(conn, week)
        roles = _role_counts(conn, week, canonical)
        company = func.coalesce(Posting.company, Source.company)
        companies = [(name, n) for name, n in conn.execute(
            select(company, func.count()).join(Source, Source.id == Posting.source_id)
            .where(Posting.posted_week == week, canonical, company.is_not(None))
            .group_by(company).order_by(func.count().desc(), company).limit(TOP_COMPANIES))]
        first = min(trailing[0], chart_weeks[0])
        points = conn.execute(
            select(TrendPoint.period_start, TrendPoint.framework_id, TrendPoint.n_postings, TrendPoint.n_mentioning,
                   TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high)
            .where(TrendPoint.cohort == "all", TrendPoint.period_start >= first, TrendPoint.period_start <= week)
        ).all()
        frameworks = {f.id: f for f in conn.execute(select(Framework.id, Framework.slug, Framework.name,
                                                           Framework.category))}
        rows = _framework_rows(points, frameworks, week, trailing)
        n_measured = max((p.n_postings for p in points if p.period_start == week), default=0)
        trailing_n = sum({p.period_start: p.n_postings for p in points if p.period_start in trailing}.values())
        movers = sorted((r for r in rows.values() if r.change is not None and r.p_value < ALPHA),
                        key=lambda r: (-abs(r.change), r.slug))
        new_ids = [fid for fid, r in rows.items() if r.k > 0 and trailing_n > 0 and r.trailing_k == 0]
        examples = _examples(conn, week, new_ids, canonical)
        alerts = [AlertRow(a.rule, a.subject, a.value, a.threshold, a.direction, a.fired_at) for a in conn.execute(
            select(Alert).where(Alert.period_start == week).order_by(Alert.rule, Alert.subject))]
        health = [SourceHealthRow(s.kind, s.key, s.company, s.health, s.health_since, s.last_ok_at, s.last_error)
                  for s in conn.execute(select(Source).where(Source.enabled.is_(True), Source.health != "ok"))]
        role_series = _role_series(conn, chart_weeks, canonical)
        classifier = week_drift(conn, week)
    ranked = sorted((r for r in rows.values() if r.k > 0), key=lambda r: (-r.share, r.slug))[:top]
    new_entries = [NewEntry(rows[fid], tuple(examples.get(fid, ()))) for fid in
                   sorted(new_ids, key=lambda fid: (-rows[fid].k, rows[fid].slug))]
    id_by_slug = {r.slug: fid for fid, r in rows.items()}
    chart_set = set(chart_weeks)
    share_series = {row.name: sorted((p.period_start, p.share) for p in points
                                     if p.framework_id == id_by_slug[row.slug] and p.period_start in chart_set
                                     and p.n_postings >= CHART_MIN_POSTINGS)
                    for row in ranked[:CHART_FRAMEWORKS]}
    return ReportData(
        week=week, label=iso_week_label(week), generated_at=generated_at, trailing=trailing, sources=sources,
        roles=roles, companies=companies, n_measured=n_measured, trailing_n=trailing_n, frameworks=ranked,
        movers=movers, new_entries=new_entries, alerts=alerts,
        source_health=sorted(health, key=lambda h: (HEALTH_ORDER.get(h.health, 9), h.kind, h.key)),
        share_series=share_series, role_series=role_series, classifier=classifier)


def _source_counts(conn, week: dt.date) -> list[SourceCount]:
    query = (select(Source.kind, Posting.duplicate_of_id.is_(None), func.count())
             .join(Source, Source.id == Posting.source_id).where(Posting.posted_week == week)
             .group_by(Source.kind, Posting.duplicate_of_id.is_(None)))
    counts: dict[str, list[int]] = {}
    for kind, is_canonical, n in conn.execute(query):
        counts.setdefault(kind, [0, 0])[0 if is_canonical else 1] += n
    return sorted((SourceCount(kind, c[0], c[1]) for kind, c in counts.items()), key=lambda s: (-s.postings, s.kind))


def _role_counts(conn, week: dt.date, canonical) -> dict[str, int]:
    query = (select(Classification.role, func.count(Classification.posting_id), func.count())
             .select_from(Posting).outerjoin(Classification, Classification.posting_id == Posting.id)
             .where(Posting.posted_week == week, canonical).group_by(Classification.role))
    roles = dict.fromkeys(ROLE_LABELS, 0)
    for role, classified, total in conn.execute(query):
        if role in ("ai_swe", "ml_engineer"):
            roles[role] += total
        else:  # role NULL: classified as not an AI role, or not classified at all
            roles["not_ai"] += classified
            roles["unclassified"] += total - classified
    return roles


def _framework_rows(points, frameworks, week: dt.date, trailing: list[dt.date]) -> dict[int, FrameworkRow]:
    trailing_set = set(trailing)
    pooled: dict[int, list[int]] = {}
    for p in points:
        if p.period_start in trailing_set:
            acc = pooled.setdefault(p.framework_id, [0, 0])
            acc[0] += p.n_mentioning
            acc[1] += p.n_postings
    rows = {}
    for p in points:
        if p.period_start != week or p.framework_id not in frameworks:
            continue
        f = frameworks[p.framework_id]
        tk, tn = pooled.get(p.framework_id, (0, 0))
        trailing_share = tk / tn if tn else None
        low, high = (p.ci_low, p.ci_high) if p.ci_low is not None else wilson_interval(p.n_mentioning, p.n_postings)
        rows[p.framework_id] = FrameworkRow(
            slug=f.slug, name=f.name, category=f.category, k=p.n_mentioning, n=p.n_postings, share=p.share,
            ci_low=low, ci_high=high, trailing_k=tk, trailing_n=tn, trailing_share=trailing_share,
            change=None if trailing_share is None else p.share - trailing_share,
            p_value=two_proportion_p(p.n_mentioning, p.n_postings, tk, tn))
    return rows


def _examples(conn, week: dt.date, framework_ids: list[int], canonical) -> dict[int, list[Example]]:
    if not framework_ids:
        return {}
    query = (select(Mention.framework_id, Posting.title, func.coalesce(Posting.company, Source.company), Posting.url)
             .join(Posting, Posting.id == Mention.posting_id).join(Source, Source.id == Posting.source_id)
             .where(Mention.framework_id.in_(framework_ids), Mention.count > 0, Posting.posted_week == week,
                    canonical)
             .order_by(Mention.framework_id, Posting.id))
    examples: dict[int, list[Example]] = {}
    for fid, title, company, url in conn.execute(query):
        found = examples.setdefault(fid, [])
        if len(found) < EXAMPLES_PER_ENTRY:
            found.append(Example(title, company, url))
    return examples


def _role_series(conn, weeks: list[dt.date], canonical) -> list[tuple[dt.date, int, int]]:
    query = (select(Posting.posted_week, Classification.role, func.count())
             .join(Classification, Classification.posting_id == Posting.id)
             .where(Posting.posted_week >= weeks[0], Posting.posted_week <= weeks[-1], canonical,
                    Classification.role.in_(("ai_swe", "ml_engineer")))
             .group_by(Posting.posted_week, Classification.role))
    counts = {(w, role): n for w, role, n in conn.execute(query)}
    return [(w, counts.get((w, "ai_swe"), 0), counts.get((w, "ml_engineer"), 0)) for w in weeks]


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


# --- charts ----------------------------------------------------------------------------------------------
# matplotlib is imported by the chart functions, not at the top: it takes `import analysis.report` from 0.38 s to
# 0.86 s (measured with /usr/bin/time), paid by `jobtrend report --stored` and every process that imports the
# report module without drawing a chart.


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib: ~0.5 s, see above
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 3.4), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _week_ticks(axes, weeks: list[dt.date]) -> None:
    axes.set_xticks(range(len(weeks)))
    axes.set_xticklabels([f"W{w.isocalendar()[1]:02d}" for w in weeks], fontsize=8)


def shares_chart(data: ReportData) -> bytes:
    """PNG: the share (%) of the top frameworks in each of the last 12 weeks, one line each."""
    figure = _figure()
    axes = figure.add_subplot()
    weeks = [data.week - dt.timedelta(weeks=i) for i in range(CHART_WEEKS - 1, -1, -1)]
    position = {w: i for i, w in enumerate(weeks)}
    for name, series in data.share_series.items():
        values = [math.nan] * len(weeks)  # a week without measured postings is a gap in the line
        for w, share in series:
            values[position[w]] = share * 100
        axes.plot(range(len(weeks)), values, marker="o", markersize=3, linewidth=1.6, label=name)
    if data.share_series:
        axes.legend(fontsize=8, loc="upper left", frameon=False, ncol=2)
    else:
        axes.text(0.5, 0.5, "no trend data", ha="center", va="center", transform=axes.transAxes, color="#888")
    _week_ticks(axes, weeks)
    axes.set_ylim(bottom=0)
    axes.set_ylabel("share of postings (%)", fontsize=9)
    axes.set_title(f"Framework shares, 12 weeks to {data.label}", fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def roles_chart(data: ReportData) -> bytes:
    """PNG: AI-role postings per week over the last 12 weeks, stacked ai_swe / ml_engineer bars."""
    from matplotlib.ticker import MaxNLocator  # matplotlib: ~0.5 s, see above

    figure = _figure()
    axes = figure.add_subplot()
    weeks = [w for w, _, _ in data.role_series]
    swe = [a for _, a, _ in data.role_series]
    mle = [m for _, _, m in data.role_series]
    x = list(range(len(weeks)))
    axes.bar(x, swe, color="#4c78a8", label=ROLE_LABELS["ai_swe"])
    axes.bar(x, mle, bottom=swe, color="#f58518", label=ROLE_LABELS["ml_engineer"])
    _week_ticks(axes, weeks)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("postings", fontsize=9)
    axes.set_title(f"AI-role postings per week, 12 weeks to {data.label}", fontsize=10)
    axes.legend(fontsize=8, loc="upper left", frameon=False)
    axes.grid(axis="y", alpha=0.3)
    if not any(swe) and not any(mle):
        axes.text(0.5, 0.5, "no classified postings", ha="center", va="center", transform=axes.transAxes,
                  color="#888")
        axes.set_ylim(0, 1)
    return _png(figure)


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
                       one_line=_one_line)
    env.globals.update(grid=grid, role_labels=ROLE_LABELS, alpha=ALPHA, iso_week_label=iso_week_label)
    return env


def render(data: ReportData, image_src: dict[str, str]) -> tuple[str, str]:
    """The HTML (charts at ``image_src[cid]``) and the plain text of the report."""
    env = environment()
    context = {"d": data, "images": image_src, "shares_cid": SHARES_CID, "roles_cid": ROLES_CID}
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
