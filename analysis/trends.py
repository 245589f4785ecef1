"""Weekly framework shares: ``trend_points`` rows and the terminal table of the latest weeks.

For week W (a Monday, ``posted_week``) and cohort C, as DESIGN section 4 defines it:

- n = canonical AI-role postings posted in W that belong to C. A posting is measured when it is canonical
  (``duplicate_of_id IS NULL``), has been analysed, has a non-empty ``description_text`` after trimming (a
  posting without body text cannot be measured: only its title would be searched, pulling every share down),
  and has a row in ``classifications`` that puts it in C:

  - ``all``: every AI engineering role, ``is_ai_role`` true (both roles together);
  - ``ai_swe``: ``role = 'ai_swe'``, AI Software Engineers (building products on models);
  - ``ml_engineer``: ``role = 'ml_engineer'``, ML Engineers (training, evaluating, serving models).

  A posting not yet classified, or classified as not an AI role, counts in no cohort.
- k = those among the n with at least one mention of the framework: presence, not frequency.
- share = k / n, with a 95 % Wilson score interval (:func:`wilson_interval`).

One row is written per (week, cohort, framework) for every framework in the ``frameworks`` table, zeros
included, for every week with n > 0; a week whose n falls to 0 loses its rows.

Recomputing is incremental, per cohort. A week is *touched* when a posting of that week was analysed or
(re)classified after the cohort's latest ``computed_at``, or when its current n differs from the stored
``n_postings`` (this also catches weeks with no postings left, new weeks, and postings marked duplicate after
the last run). ``full=True`` recomputes every week. Each (week, cohort) is replaced (delete, insert) in its
own transaction, so a second run changes nothing and a crash leaves every week either old or new, never
half-written.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, desc, exists, func, insert, select

from analysis.role_rules import COHORTS
from jobtrend.models import Classification, Framework, Mention, Posting, TrendPoint, utcnow

Z_95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for k successes out of n; ``(0.0, 0.0)`` when n is 0 (nothing measured)."""
    if n == 0:
        return (0.0, 0.0)
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low = 0.0 if k == 0 else max(0.0, centre - half_width)
    high = 1.0 if k == n else min(1.0, centre + half_width)
    return (low, high)


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) of the pooled two-proportion z-test of k1/n1 against k2/n2: does a share differ from
    another (a week against its trailing weeks)? ``(0.0, 1.0)`` when either n is 0 or the pooled share is 0 or 1
    (no variation: nothing to tell apart)."""
    if n1 <= 0 or n2 <= 0:
        return (0.0, 1.0)
    if not (0 <= k1 <= n1 and 0 <= k2 <= n2):
        raise ValueError(f"need 0 <= k <= n, got {k1}/{n1} and {k2}/{n2}")
    pooled = (k1 + k2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return (0.0, 1.0)
    z = (k1 / n1 - k2 / n2) / math.sqrt(variance)
    return (z, math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True)
class TrendResult:
    """What one :func:`compute_trends` run did."""

    weeks: tuple[dt.date, ...]  # weeks recomputed in any cohort, oldest first
    rows: int  # trend_points rows written, all cohorts together
    by_cohort: dict[str, tuple[tuple[dt.date, ...], int]] = field(default_factory=dict)  # cohort: (weeks, rows)


def _measured(cohort: str) -> tuple:
    """WHERE conditions selecting the postings that make up n for ``cohort``."""
    _check_cohort(cohort)
    in_cohort = Classification.is_ai_role.is_(True) if cohort == "all" else Classification.role == cohort
    return (
        Posting.duplicate_of_id.is_(None),
        Posting.analyzed_at.is_not(None),
        func.trim(Posting.description_text) != "",
        exists().where(Classification.posting_id == Posting.id, in_cohort),
    )


def _check_cohort(cohort: str) -> None:
    if cohort not in COHORTS:
        raise ValueError(f"unknown cohort {cohort!r}: expected one of {', '.join(COHORTS)}")


def postings_per_week(conn: Connection, cohort: str = "all") -> dict[dt.date, int]:
    """n for every week that has measured postings."""
    query = select(Posting.posted_week, func.count()).where(*_measured(cohort)).group_by(Posting.posted_week)
    return {week: n for week, n in conn.execute(query)}


def compute_trends(engine: Engine, *, full: bool = False, cohort: str | None = None) -> TrendResult:
    """Recompute the touched weeks (every week with ``full``) of ``cohort`` (every cohort when None) and
    replace their ``trend_points`` rows."""
    cohorts = COHORTS if cohort is None else (cohort,)
    for name in cohorts:
        _check_cohort(name)
    computed_at = utcnow()  # taken before reading, so anything analysed or classified later is touched next time
    with engine.connect() as conn:
        framework_ids = list(conn.scalars(select(Framework.id).order_by(Framework.id)))
    by_cohort = {}
    for name in cohorts:
        with engine.connect() as conn:
            current = postings_per_week(conn, name)
            stored = _stored_postings_per_week(conn, name)
            weeks = set(current) | set(stored) if full else _touched_weeks(conn, name, current, stored)
        rows = sum(_replace_week(engine, week, name, framework_ids, computed_at) for week in sorted(weeks))
        by_cohort[name] = (tuple(sorted(weeks)), rows)
    all_weeks = tuple(sorted({week for weeks, _ in by_cohort.values() for week in weeks}))
    return TrendResult(all_weeks, sum(rows for _, rows in by_cohort.values()), by_cohort)


def _stored_postings_per_week(conn: Connection, cohort: str) -> dict[dt.date, int]:
    query = (
        select(TrendPoint.period_start, func.max(TrendPoint.n_postings))
        .where(TrendPoint.cohort == cohort)
        .group_by(TrendPoint.period_start)
    )
    return {week: n for week, n in conn.execute(query)}


def _touched_weeks(conn: Connection, cohort: str, current: dict[dt.date, int],
                   stored: dict[dt.date, int]) -> set[dt.date]:
    """Weeks with postings analysed or classified since the cohort's last computation, or whose n no longer
    matches. A classification counts whatever its role: a posting moved from one role to the other touches
    its week in both role cohorts."""
    last = conn.scalar(select(func.max(TrendPoint.computed_at)).where(TrendPoint.cohort == cohort))
    if last is None:
        return set(current)
    analysed = select(Posting.posted_week).where(Posting.analyzed_at > last).distinct()
    classified = (
        select(Posting.posted_week)
        .join(Classification, Classification.posting_id == Posting.id)
        .where(Classification.classified_at > last)
        .distinct()
    )
    changed = {week for week in set(current) | set(stored) if current.get(week, 0) != stored.get(week, 0)}
    return set(conn.scalars(analysed)) | set(conn.scalars(classified)) | changed


def _replace_week(engine: Engine, week: dt.date, cohort: str, framework_ids: Iterable[int],
                  computed_at: dt.datetime) -> int:
    """Count n and k for one week and swap its rows in one transaction; return the rows written."""
    with engine.begin() as conn:
        n = conn.scalar(select(func.count()).select_from(Posting).where(Posting.posted_week == week,
                                                                         *_measured(cohort)))
        mentioning = (
            select(Mention.framework_id, func.count())
            .join(Posting, Posting.id == Mention.posting_id)
            .where(Posting.posted_week == week, Mention.count > 0, *_measured(cohort))
            .group_by(Mention.framework_id)
        )
        k_by_framework = {framework_id: k for framework_id, k in conn.execute(mentioning)}
        conn.execute(delete(TrendPoint).where(TrendPoint.period_start == week, TrendPoint.cohort == cohort))
        if not n:
            return 0
        rows = [_trend_row(week, cohort, fid, n, k_by_framework.get(fid, 0), computed_at) for fid in framework_ids]
        if rows:
            conn.execute(insert(TrendPoint), rows)
        return len(rows)


def _trend_row(week: dt.date, cohort: str, framework_id: int, n: int, k: int, computed_at: dt.datetime) -> dict:
    low, high = wilson_interval(k, n)
    return {"period_start": week, "cohort": cohort, "framework_id": framework_id, "n_postings": n,
            "n_mentioning": k, "share": k / n, "ci_low": low, "ci_high": high, "computed_at": computed_at}


def iso_week_label(week: dt.date) -> str:
    """``2025-W42`` for any day of that ISO week."""
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


def latest_rows(engine: Engine, *, weeks: int = 8, top: int = 15, cohort: str = "all",
                min_postings: int = 1) -> list[dict]:
    """The data of :func:`latest_table`: one dict per (framework, week), by rank then week (oldest first).

    The weeks are the latest ``weeks`` with n >= ``min_postings`` (a share of a handful of postings says
    nothing; those weeks are stored all the same); the frameworks are the ``top`` by mean share over them,
    leaving out any not mentioned at all in those weeks. Keys: rank, slug, name, category, mean_share, week,
    week_label, n_postings, n_mentioning, share, ci_low, ci_high.
    """
    _check_cohort(cohort)
    with engine.connect() as conn:
        week_list = _latest_weeks(conn, weeks, cohort, max(1, min_postings))
        if not week_list:
            return []
        ranked = conn.execute(_ranking(week_list, top, cohort)).all()
        points = conn.execute(
            select(TrendPoint).where(TrendPoint.cohort == cohort, TrendPoint.period_start.in_(week_list),
                                     TrendPoint.framework_id.in_([r.id for r in ranked]))
        ).all()
    by_key = {(p.framework_id, p.period_start): p for p in points}
    return [_latest_row(rank, framework, by_key[(framework.id, week)])
            for rank, framework in enumerate(ranked, start=1)
            for week in sorted(week_list) if (framework.id, week) in by_key]


def _latest_weeks(conn: Connection, weeks: int, cohort: str, min_postings: int) -> list[dt.date]:
    query = (
        select(TrendPoint.period_start)
        .where(TrendPoint.cohort == cohort, TrendPoint.n_postings >= min_postings)
        .distinct()
        .order_by(desc(TrendPoint.period_start))
        .limit(weeks)
    )
    return list(conn.scalars(query))


def _ranking(week_list: list[dt.date], top: int, cohort: str):
    mean_share = func.avg(TrendPoint.share).label("mean_share")
    return (
        select(Framework.id, Framework.slug, Framework.name, Framework.category, mean_share)
        .join(TrendPoint, TrendPoint.framework_id == Framework.id)
        .where(TrendPoint.cohort == cohort, TrendPoint.period_start.in_(week_list))
        .group_by(Framework.id, Framework.slug, Framework.name, Framework.category)
        .having(func.sum(TrendPoint.n_mentioning) > 0)
        .order_by(desc(mean_share), Framework.slug)
        .limit(top)
    )


def _latest_row(rank: int, framework, point) -> dict:
    return {"rank": rank, "slug": framework.slug, "name": framework.name, "category": framework.category,
            "mean_share": float(framework.mean_share), "week": point.period_start,
            "week_label": iso_week_label(point.period_start), "n_postings": point.n_postings,
            "n_mentioning": point.n_mentioning, "share": point.share, "ci_low": point.ci_low,
            "ci_high": point.ci_high}


NO_DATA = ("No trend data yet for cohort '{cohort}': run `jobtrend analyze` (finds mentions and classifies "
           "roles), then `jobtrend trends`.")
TOO_FEW = ("No week of cohort '{cohort}' has {min_postings} or more postings (the largest has {largest}); "
           "lower --min-postings (config: trends.min_postings) to see the smaller weeks.")


def latest_table(engine: Engine, *, weeks: int = 8, top: int = 15, cohort: str = "all",
                 min_postings: int = 1) -> str:
    """A plain-text table: the latest weeks with at least ``min_postings`` postings as columns (with an ``n``
    row), top frameworks as rows. Without any such week, a line saying why: no data, or only smaller weeks."""
    rows = latest_rows(engine, weeks=weeks, top=top, cohort=cohort, min_postings=min_postings)
    if not rows:
        with engine.connect() as conn:
            largest = conn.scalar(select(func.max(TrendPoint.n_postings)).where(TrendPoint.cohort == cohort))
        if largest and largest < min_postings:
            return TOO_FEW.format(cohort=cohort, min_postings=min_postings, largest=largest)
        return NO_DATA.format(cohort=cohort)
    labels = sorted({(r["week"], r["week_label"]) for r in rows})
    n_by_week = {r["week_label"]: r["n_postings"] for r in rows}
    names = {r["slug"]: r["name"] for r in rows}  # in rank order
    cells = {(r["slug"], r["week_label"]): f"{r['share'] * 100:.1f}%" for r in rows}
    header = ["framework"] + [label for _, label in labels]
    body = [["n"] + [str(n_by_week[label]) for _, label in labels]]
    body += [[name] + [cells.get((slug, label), "") for _, label in labels] for slug, name in names.items()]
    return _format_grid(header, body)


def _format_grid(header: list[str], body: list[list[str]]) -> str:
    """Left-align the first column, right-align the others, two spaces between columns."""
    table = [header, *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:],
                                                                                      strict=True)])
             for row in table]
    return "\n".join(line.rstrip() for line in lines)
