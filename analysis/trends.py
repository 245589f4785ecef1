"""Framework shares by week and by month: ``trend_points`` rows and the terminal table of the latest periods.

For a period P of a grain (a week: the Monday, ``posted_week``; a month: its first day, ``posted_month``, which
for a Hacker News comment is its thread's month) and a cohort C:

- n = canonical postings of P that are measured and belong to C. A posting is measured when it is canonical
  (``duplicate_of_id IS NULL``), has been analysed and has a non-empty ``description_text`` after trimming (a
  posting without body text cannot be measured: only its title would be searched, pulling every share down).
  The cohorts:

  - ``market``: every measured posting, whatever its role: "what share of all postings mention Kubernetes",
    the question outside references (hiringtrends and the like) answer;
  - ``market:<source kind>`` (``market:hackernews``, ``market:ashby``, ...): the market of one source kind, for
    each kind the ``sources`` table holds, so a move can be told from a change in the source mix;
  - ``all``: every AI engineering role, ``is_ai_role`` true in ``classifications`` (both roles together);
  - ``ai_swe``: ``role = 'ai_swe'``, AI Software Engineers (building products on models);
  - ``ml_engineer``: ``role = 'ml_engineer'``, ML Engineers (training, evaluating, serving models).

  A posting not yet classified, or classified as not an AI role, is in the market cohorts only.
- k = those among the n with at least one mention of the framework: presence, not frequency.
- share = k / n, with a 95 % Wilson score interval (:func:`wilson_interval`).

One row is written per (grain, period, cohort, framework) for every framework in the ``frameworks`` table, zeros
included, for every period with n > 0; a period whose n falls to 0 loses its rows.

Recomputing is incremental, per grain and cohort. A period is *touched* when a posting of that period was
analysed, (re)classified or marked (un)duplicate (``duplicate_changed_at``, set by deduplication) after the
cohort's latest ``computed_at`` at that grain; every period with postings is touched for a cohort never
computed. Nothing else jobtrend does changes which postings a period measures; rows deleted or edited by hand are
found by ``full=True``, which recomputes every period. A second run changes nothing.

The counting is set-based, a few GROUP BY queries whatever the number of periods: range scans of the three
indexed times for the touched periods (a full recompute skips them), then one for n and k of the periods to
recompute, with a conditional count per cohort so all cohorts come out of the same scan. The measured postings
are read through the partial index ``ix_postings_measured`` (migrations 0005 and 0007), whose condition
:func:`_measured_posting` repeats word for word. Rows are then built in Python (Wilson intervals by
:func:`wilson_interval`, zeros included) and each cohort's touched periods are replaced in one transaction per
cohort and grain (rows that must go are deleted, the new rows written over the old ones with an upsert): a crash
leaves every cohort, hence every period, either old or new, never half-written.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    and_,
    case,
    cast,
    delete,
    desc,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)

from analysis.role_rules import COHORTS
from jobtrend.config.sources import SOURCE_KINDS
from jobtrend.models import Classification, Framework, Mention, Posting, Source, TrendPoint
from jobtrend.weeks import iso_week_label, utcnow

ROLE_COHORTS = COHORTS  # the AI-role cohorts: every AI role, then each role
MARKET = "market"  # every measured posting, whatever its role
COHORTS_ALL = (MARKET, *ROLE_COHORTS)  # the fixed cohorts; per-source-kind ones follow the sources table
SOURCE_COHORT_PREFIX = "market:"
GRAINS = ("week", "month")

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


MIN_EXPECTED = 5  # the z-test's normal approximation needs at least this many expected in each cell


def proportion_change_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, str]:
    """(z, two-sided p, the test's name) of a share k1/n1 against another k2/n2 (a week against its trailing
    weeks), as alerts and the report's movers judge a change.

    The pooled two-proportion z-test (:func:`two_proportion_test`), unless a cell of the 2x2 table expects
    fewer than :data:`MIN_EXPECTED` postings (a framework rare in both: 4 of 50 after 0 of 200 expects 0.8
    mentions in the week), where its normal approximation is far too sure (z-test p 6e-5, exact 1.4e-3) and
    Fisher's exact test gives p.
    """
    z, p_value = two_proportion_test(k1, n1, k2, n2)
    total, mentioning = n1 + n2, k1 + k2
    if n1 <= 0 or n2 <= 0:
        return z, p_value, "two_proportion_z"
    if min(n * m / total for n in (n1, n2) for m in (mentioning, total - mentioning)) < MIN_EXPECTED:
        # scipy.stats (scikit-learn's dependency) at the top would take `import analysis.trends` from 0.35 s to
        # 1.07 s (measured with /usr/bin/time), paid by every importer (drift, alerts, report, `jobtrend trends`);
        # only a rare framework's table ever needs it.
        from scipy.stats import fisher_exact

        return z, float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue), "fisher_exact"
    return z, p_value, "two_proportion_z"


@dataclass(frozen=True)
class TrendResult:
    """What one :func:`compute_trends` run did."""

    weeks: tuple[dt.date, ...]  # weeks recomputed in any cohort, oldest first
    rows: int  # trend_points rows written, all cohorts and both grains together
    by_cohort: dict[str, tuple[tuple[dt.date, ...], int]] = field(default_factory=dict)  # cohort: (weeks, rows)
    months: tuple[dt.date, ...] = ()  # months recomputed in any cohort, oldest first
    by_cohort_month: dict[str, tuple[tuple[dt.date, ...], int]] = field(default_factory=dict)


def source_cohort(kind: str) -> str:
    """The market cohort of one source kind: ``market:hackernews``."""
    return f"{SOURCE_COHORT_PREFIX}{kind}"


def is_cohort(cohort: str) -> bool:
    """A cohort trend points can be computed for: ``market``, an AI-role cohort, or ``market:<source kind>``."""
    if cohort in COHORTS_ALL:
        return True
    return cohort.startswith(SOURCE_COHORT_PREFIX) and cohort.removeprefix(SOURCE_COHORT_PREFIX) in SOURCE_KINDS


def cohort_names() -> tuple[str, ...]:
    """Every cohort name :func:`is_cohort` accepts, fixed ones first."""
    return (*COHORTS_ALL, *(source_cohort(kind) for kind in SOURCE_KINDS))


def market_source_cohorts(engine: Engine | Connection) -> tuple[str, ...]:
    """The per-source-kind market cohorts of the kinds the ``sources`` table holds, in SOURCE_KINDS order."""
    query = select(Source.kind).distinct()
    if isinstance(engine, Connection):
        kinds = set(engine.scalars(query))
    else:
        with engine.connect() as conn:
            kinds = set(conn.scalars(query))
    return tuple(source_cohort(kind) for kind in SOURCE_KINDS if kind in kinds)


def in_cohort(cohort: str):
    """The condition that puts a measured posting in ``cohort``. It reads ``classifications`` (outer-joined: a
    posting without a classification is in no AI-role cohort but is in the market) and, for a per-source-kind
    cohort, ``sources`` (joined on ``postings.source_id``)."""
    _check_cohort(cohort)
    if cohort == MARKET:
        return true()
    if cohort.startswith(SOURCE_COHORT_PREFIX):
        return Source.kind == cohort.removeprefix(SOURCE_COHORT_PREFIX)
    return Classification.is_ai_role.is_(True) if cohort == "all" else Classification.role == cohort


def measured_postings_clause():
    """The condition on ``postings`` alone that every measured posting meets, whatever its cohort."""
    return and_(*_measured_posting())


def _measured_posting() -> tuple:
    """WHERE conditions on ``postings`` alone that a measured posting meets (its cohort is checked apart): the
    terms of ``jobtrend.models.MEASURED_POSTING``, the condition of the partial index ``ix_postings_measured``,
    in the same form (``!= ''`` as a literal, not a bound parameter), which SQLite needs to use that index."""
    return (
        Posting.duplicate_of_id.is_(None),
        Posting.analyzed_at.is_not(None),
        func.trim(Posting.description_text) != literal_column("''"),
    )


def _check_cohort(cohort: str) -> None:
    if not is_cohort(cohort):
        raise ValueError(f"unknown cohort {cohort!r}: expected one of {', '.join(cohort_names())}")


def _check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}: expected one of {', '.join(GRAINS)}")


def period_column(grain: str):
    """The posting column a grain's periods are: ``posted_week`` (a Monday) or ``posted_month`` (a 1st)."""
    _check_grain(grain)
    return Posting.posted_week if grain == "week" else Posting.posted_month


def period_label(grain: str, start: dt.date) -> str:
    """'2026-W19' for a week, '2026-05' for a month."""
    return iso_week_label(start) if grain == "week" else start.strftime("%Y-%m")


def _measured_cte(cohorts: Sequence[str], grain: str = "week", periods: Iterable[dt.date] | None = None):
    """The measured postings in any of ``cohorts`` (of ``periods`` of ``grain`` only, when given): id, period
    and a 0/1 column ``in_<i>`` per cohort. A posting has at most one classification (``posting_id`` is its
    key), so the outer join yields each posting once.

    Materialised on SQLite, so that it is planned alone: SQLite then reads the narrow partial index
    ``ix_postings_measured`` in id order instead of walking ``ix_postings_posted_week`` into the wide rows.
    PostgreSQL plans it well inline (a hash join and a hash aggregate).
    """
    period = period_column(grain)
    flags = [case((in_cohort(c), 1), else_=0).label(f"in_{i}") for i, c in enumerate(cohorts)]
    measured = select(Posting.id, period.label("period"), *flags)
    if all(c in ROLE_COHORTS for c in cohorts):
        measured = measured.join(Classification, Classification.posting_id == Posting.id)
    elif any(c in ROLE_COHORTS for c in cohorts):
        measured = measured.outerjoin(Classification, Classification.posting_id == Posting.id)
    if any(c.startswith(SOURCE_COHORT_PREFIX) for c in cohorts):
        measured = measured.join(Source, Source.id == Posting.source_id)
    measured = measured.where(*_measured_posting(), or_(*(in_cohort(c) for c in cohorts)))
    if periods is not None:
        measured = measured.where(period.in_(sorted(periods)))
    return measured.cte("measured").prefix_with("MATERIALIZED", dialect="sqlite")


def _count_n(conn: Connection, cohorts: Sequence[str], grain: str) -> dict[str, dict[dt.date, int]]:
    """n of every period with measured postings, for each cohort: one GROUP BY with a count per cohort."""
    m = _measured_cte(cohorts, grain)
    query = select(m.c.period, *(func.sum(m.c[f"in_{i}"]) for i in range(len(cohorts)))).group_by(m.c.period)
    counts: dict[str, dict[dt.date, int]] = {c: {} for c in cohorts}
    for period, *ns in conn.execute(query):
        for c, n in zip(cohorts, ns, strict=True):
            if n:
                counts[c][period] = int(n)
    return counts


def _count_n_and_k(conn: Connection, cohorts: Sequence[str], grain: str, periods: Iterable[dt.date] | None
                   ) -> tuple[dict[str, dict[dt.date, int]], dict[str, dict[tuple[dt.date, int], int]]]:
    """n by (cohort, period) and k by (cohort, period, framework) of ``periods`` (every period when None), read
    in one statement so that k never exceeds n: the measured postings grouped by period, and joined to their
    mentions and grouped by (period, framework)."""
    m = _measured_cte(cohorts, grain, periods)
    sums = [func.sum(m.c[f"in_{i}"]) for i in range(len(cohorts))]
    per_period = select(m.c.period, cast(null(), Integer).label("framework_id"), *sums).group_by(m.c.period)
    per_framework = (
        select(m.c.period, Mention.framework_id, *sums)
        .join(Mention, Mention.posting_id == m.c.id)
        .where(Mention.count > 0)
        .group_by(m.c.period, Mention.framework_id)
    )
    n: dict[str, dict[dt.date, int]] = {c: {} for c in cohorts}
    k: dict[str, dict[tuple[dt.date, int], int]] = {c: {} for c in cohorts}
    for period, framework_id, *counts in conn.execute(union_all(per_period, per_framework)):
        for c, count in zip(cohorts, counts, strict=True):
            if not count:
                continue
            if framework_id is None:
                n[c][period] = int(count)
            else:
                k[c][(period, framework_id)] = int(count)
    return n, k


MAX_WEEKS_IN_LIST = 64  # touched periods read with an IN list; more are read with every period


def compute_trends(engine: Engine, *, full: bool = False, cohort: str | None = None,
                   grain: str | None = None) -> TrendResult:
    """Recompute the touched periods (every period with ``full``) of ``cohort`` (every cohort when None: the
    market, the AI-role cohorts and the market of each source kind in the ``sources`` table) at ``grain``
    (weeks and months when None), and replace their ``trend_points`` rows."""
    if cohort is not None:
        _check_cohort(cohort)
    grains = GRAINS if grain is None else (grain,)
    for name in grains:
        _check_grain(name)
    computed_at = utcnow()  # taken before reading, so anything analysed or classified later is touched next time
    with engine.connect() as conn:
        cohorts = (*COHORTS_ALL, *market_source_cohorts(conn)) if cohort is None else (cohort,)
        framework_ids = list(conn.scalars(select(Framework.id).order_by(Framework.id)))
    done = {name: _compute_grain(engine, name, cohorts, framework_ids, computed_at, full=full) for name in grains}
    week_result, month_result = done.get("week", {}), done.get("month", {})

    def periods(result: dict) -> tuple[dt.date, ...]:
        return tuple(sorted({start for starts, _ in result.values() for start in starts}))

    rows = sum(count for result in done.values() for _, count in result.values())
    return TrendResult(periods(week_result), rows, week_result, periods(month_result), month_result)


def _compute_grain(engine: Engine, grain: str, cohorts: Sequence[str], framework_ids: list[int],
                   computed_at: dt.datetime, *, full: bool) -> dict[str, tuple[tuple[dt.date, ...], int]]:
    """One grain of :func:`compute_trends`: {cohort: (periods recomputed, rows written)}."""
    with engine.connect() as conn:
        if full:
            n, k = _count_n_and_k(conn, cohorts, grain, None)
            stored = _stored_periods(conn, cohorts, grain)
            touched = {c: set(n[c]) | stored[c] for c in cohorts}
        else:
            last = _last_computed(conn, cohorts, grain)
            touched = _touched_periods(conn, cohorts, grain, last)
            needed = {start for starts in touched.values() for start in starts}
            if not needed:
                n, k = {c: {} for c in cohorts}, {c: {} for c in cohorts}
            else:  # a short IN list narrows the scan to those periods; past that, reading them all is as quick
                n, k = _count_n_and_k(conn, cohorts, grain, needed if len(needed) <= MAX_WEEKS_IN_LIST else None)
    by_cohort = {}
    for name in cohorts:
        starts = sorted(touched[name])
        rows = _rows(grain, name, starts, framework_ids, n[name], k[name], computed_at)
        _replace(engine, grain, name, starts, rows, framework_ids, everything=full)
        by_cohort[name] = (tuple(starts), len(rows))
    return by_cohort


def _last_computed(conn: Connection, cohorts: Sequence[str], grain: str) -> dict[str, dt.datetime | None]:
    """The latest ``computed_at`` of each cohort at ``grain`` (None when it has no rows)."""
    query = (select(TrendPoint.cohort, func.max(TrendPoint.computed_at))
             .where(TrendPoint.grain == grain, TrendPoint.cohort.in_(cohorts)).group_by(TrendPoint.cohort))
    return dict.fromkeys(cohorts) | dict(conn.execute(query).all())


def _stored_periods(conn: Connection, cohorts: Sequence[str], grain: str) -> dict[str, set[dt.date]]:
    """The periods each cohort has rows for (a full recompute deletes those that no longer have postings)."""
    stored: dict[str, set[dt.date]] = {c: set() for c in cohorts}
    query = (select(TrendPoint.cohort, TrendPoint.period_start)
             .where(TrendPoint.grain == grain, TrendPoint.cohort.in_(cohorts)).distinct())
    for name, start in conn.execute(query):
        stored[name].add(start)
    return stored


def _touched_periods(conn: Connection, cohorts: Sequence[str], grain: str, last: dict[str, dt.datetime | None]
                     ) -> dict[str, set[dt.date]]:
    """Per cohort, the periods with postings analysed, classified or marked (un)duplicate since the cohort's
    last computation; every current period of a cohort never computed. A classification counts whatever its
    role: a posting moved from one role to the other touches its period in both role cohorts.

    Each of the three times has an index, so this reads only the rows changed since the last run. Nothing else
    jobtrend does changes which postings a period measures (a re-crawl keeps a posting's week and month; a
    changed text is analysed again); a row deleted or edited by hand is found by ``jobtrend trends --full``."""
    period = period_column(grain)
    known = [moment for moment in last.values() if moment is not None]
    changed: list[dict[dt.date, dt.datetime]] = []
    if known:
        since = min(known)
        changed = [
            _latest_by_period(conn, select(period.label("period"), Posting.analyzed_at.label("moment"))
                              .where(Posting.analyzed_at > since)),
            _latest_by_period(conn, select(period.label("period"), Classification.classified_at.label("moment"))
                              .join(Classification, Classification.posting_id == Posting.id)
                              .where(Classification.classified_at > since)),
            _latest_by_period(conn, select(period.label("period"), Posting.duplicate_changed_at.label("moment"))
                              .where(Posting.duplicate_changed_at > since)),
        ]
    never = [c for c in cohorts if last[c] is None]
    current = _count_n(conn, never, grain) if never else {}
    return {c: set(current[c]) if c in current
            else {start for by_period in changed for start, moment in by_period.items() if moment > last[c]}
            for c in cohorts}


def stale_periods(engine: Engine, *, cohort: str, grain: str) -> set[dt.date]:
    """The periods of ``cohort`` at ``grain`` that :func:`compute_trends` would recompute now (every period with
    postings of a cohort never computed): empty when the stored trend points are current. Reads only, so a
    command on a database it cannot write can tell whether the stored points still hold."""
    _check_cohort(cohort)
    _check_grain(grain)
    with engine.connect() as conn:
        return _touched_periods(conn, (cohort,), grain, _last_computed(conn, (cohort,), grain))[cohort]


TREND_COLUMNS = ("grain", "period_start", "cohort", "framework_id", "n_postings", "n_mentioning", "share",
                 "ci_low", "ci_high", "computed_at")
PERIOD, COMPUTED = TREND_COLUMNS.index("period_start"), TREND_COLUMNS.index("computed_at")


def _latest_by_period(conn: Connection, recent) -> dict[dt.date, dt.datetime]:
    """The latest ``moment`` per ``period`` among the rows of ``recent``. Materialised first on SQLite:
    grouped directly, it walks ``ix_postings_posted_week`` over every posting rather than range-scan the index
    on the time."""
    m = recent.cte("recent").prefix_with("MATERIALIZED", dialect="sqlite")
    return {start: moment for start, moment in
            conn.execute(select(m.c.period, func.max(m.c.moment)).group_by(m.c.period)) if start is not None}


def _rows(grain: str, cohort: str, periods: Iterable[dt.date], framework_ids: Sequence[int],
          n: dict[dt.date, int], k: dict[tuple[dt.date, int], int], computed_at: dt.datetime) -> list[tuple]:
    """The rows of ``periods`` with n > 0, one per framework (zeros included), as tuples in TREND_COLUMNS
    order."""
    intervals: dict[tuple[int, int], tuple[float, float]] = {}
    rows = []
    for start in periods:
        total = n.get(start, 0)
        if not total:
            continue
        for framework_id in framework_ids:
            hits = k.get((start, framework_id), 0)
            if (hits, total) not in intervals:
                intervals[(hits, total)] = wilson_interval(hits, total)
            low, high = intervals[(hits, total)]
            rows.append((grain, start, cohort, framework_id, total, hits, hits / total, low, high, computed_at))
    return rows


def _replace(engine: Engine, grain: str, cohort: str, periods: Sequence[dt.date], rows: list[tuple],
             framework_ids: Sequence[int], *, everything: bool) -> None:
    """Make the stored rows of ``periods`` of one cohort and grain exactly ``rows``, in one transaction: delete
    the rows of those periods that ``rows`` does not have (periods whose n fell to 0, frameworks no longer in
    the table), then write ``rows`` over the others (:func:`_upsert`). ``everything``: the periods are all the
    cohort has."""
    if not periods:
        return
    kept = sorted({row[PERIOD] for row in rows})
    gone = sorted(set(periods) - set(kept))
    ours = (TrendPoint.grain == grain, TrendPoint.cohort == cohort)
    with engine.begin() as conn:
        for start in range(0, len(gone), 500):
            conn.execute(delete(TrendPoint).where(*ours, TrendPoint.period_start.in_(gone[start:start + 500])))
        stray = delete(TrendPoint).where(*ours, TrendPoint.framework_id.not_in(framework_ids))
        if everything:
            conn.execute(stray)
        else:
            for start in range(0, len(kept), 500):
                conn.execute(stray.where(TrendPoint.period_start.in_(kept[start:start + 500])))
        if rows:
            _upsert(conn, rows)


UPSERT = (f"INSERT INTO trend_points ({', '.join(TREND_COLUMNS)}) {{source}} "
          "ON CONFLICT (grain, period_start, cohort, framework_id) DO UPDATE SET "
          + ", ".join(f"{column} = excluded.{column}" for column in TREND_COLUMNS[4:]))


def _upsert(conn: Connection, rows: list[tuple]) -> None:
    """Write ``rows`` (TREND_COLUMNS order), updating the rows that exist: an update that keeps
    ``framework_id`` skips the foreign-key check a fresh insert costs (a third of the time of a full recompute
    on PostgreSQL). PostgreSQL (psycopg): COPY into a temporary table, then one INSERT ... SELECT; elsewhere the
    driver's executemany, with the period and time columns put through their types' bind processing once per
    distinct value rather than once per row."""
    table = TrendPoint.__table__
    if conn.dialect.driver == "psycopg":
        # text format: floats as repr(), which PostgreSQL reads back to the same double; grains and cohorts are
        # checked names, so no value holds a tab, newline or backslash
        data = "".join(f"{row[0]}\t{row[1].isoformat()}\t{row[2]}\t{row[3]}\t{row[4]}\t{row[5]}\t{row[6]!r}\t"
                       f"{row[7]!r}\t{row[8]!r}\t{row[9].isoformat()}\n" for row in rows)
        conn.exec_driver_sql("CREATE TEMPORARY TABLE trend_points_new (LIKE trend_points)")
        cursor = conn.connection.driver_connection.cursor()
        with cursor, cursor.copy(f"COPY trend_points_new ({', '.join(TREND_COLUMNS)}) FROM STDIN") as copy:
            copy.write(data)
        conn.exec_driver_sql(UPSERT.format(source=f"SELECT {', '.join(TREND_COLUMNS)} FROM trend_points_new"))
        conn.exec_driver_sql("DROP TABLE trend_points_new")
        return
    processed = {}
    for column in ("period_start", "computed_at"):
        process = table.c[column].type.bind_processor(conn.dialect) or (lambda value: value)
        processed[column] = {value: process(value) for value in {row[TREND_COLUMNS.index(column)] for row in rows}}
    starts, times = processed["period_start"], processed["computed_at"]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    values = f"VALUES ({', '.join([mark] * len(TREND_COLUMNS))})"
    conn.exec_driver_sql(UPSERT.format(source=values),
                         [(row[0], starts[row[PERIOD]], *row[2:COMPUTED], times[row[COMPUTED]]) for row in rows])


def latest_rows(engine: Engine, *, weeks: int = 8, top: int = 15, cohort: str = "all",
                min_postings: int = 1, grain: str = "week") -> list[dict]:
    """The data of :func:`latest_table`: one dict per (framework, period), by rank then period (oldest first).

    The periods are the latest ``weeks`` periods of ``grain`` (weeks or months) with n >= ``min_postings`` (a
    share of a handful of postings says nothing; those periods are stored all the same); the frameworks are the
    ``top`` by mean share over them, leaving out any not mentioned at all in those periods. Keys: rank, slug,
    name, category, mean_share, week (the period's start), week_label (its label: '2026-W19' or '2026-05'),
    n_postings, n_mentioning, share, ci_low, ci_high.
    """
    _check_cohort(cohort)
    _check_grain(grain)
    with engine.connect() as conn:
        period_list = _latest_periods(conn, weeks, cohort, grain, max(1, min_postings))
        if not period_list:
            return []
        ranked = conn.execute(_ranking(period_list, top, cohort, grain)).all()
        points = conn.execute(
            select(TrendPoint).where(TrendPoint.grain == grain, TrendPoint.cohort == cohort,
                                     TrendPoint.period_start.in_(period_list),
                                     TrendPoint.framework_id.in_([r.id for r in ranked]))
        ).all()
    by_key = {(p.framework_id, p.period_start): p for p in points}
    return [_latest_row(rank, framework, by_key[(framework.id, start)], grain)
            for rank, framework in enumerate(ranked, start=1)
            for start in sorted(period_list) if (framework.id, start) in by_key]


def _latest_periods(conn: Connection, count: int, cohort: str, grain: str, min_postings: int) -> list[dt.date]:
    query = (
        select(TrendPoint.period_start)
        .where(TrendPoint.grain == grain, TrendPoint.cohort == cohort, TrendPoint.n_postings >= min_postings)
        .distinct()
        .order_by(desc(TrendPoint.period_start))
        .limit(count)
    )
    return list(conn.scalars(query))


def _ranking(period_list: list[dt.date], top: int, cohort: str, grain: str):
    mean_share = func.avg(TrendPoint.share).label("mean_share")
    return (
        select(Framework.id, Framework.slug, Framework.name, Framework.category, mean_share)
        .join(TrendPoint, TrendPoint.framework_id == Framework.id)
        .where(TrendPoint.grain == grain, TrendPoint.cohort == cohort, TrendPoint.period_start.in_(period_list))
        .group_by(Framework.id, Framework.slug, Framework.name, Framework.category)
        .having(func.sum(TrendPoint.n_mentioning) > 0)
        .order_by(desc(mean_share), Framework.slug)
        .limit(top)
    )


def _latest_row(rank: int, framework, point, grain: str) -> dict:
    return {"rank": rank, "slug": framework.slug, "name": framework.name, "category": framework.category,
            "mean_share": float(framework.mean_share), "week": point.period_start,
            "week_label": period_label(grain, point.period_start), "n_postings": point.n_postings,
            "n_mentioning": point.n_mentioning, "share": point.share, "ci_low": point.ci_low,
            "ci_high": point.ci_high}


NO_DATA = ("No trend data yet for cohort '{cohort}': run `jobtrend analyze` (finds mentions and classifies "
           "roles), then `jobtrend trends`.")
TOO_FEW = ("No {grain} of cohort '{cohort}' has {min_postings} or more postings (the largest has {largest}); "
           "lower --min-postings (config: trends.min_postings) to see the smaller {grain}s.")


def latest_table(engine: Engine, *, weeks: int = 8, top: int = 15, cohort: str = "all",
                 min_postings: int = 1, grain: str = "week") -> str:
    """A plain-text table: the latest periods of ``grain`` with at least ``min_postings`` postings as columns
    (with an ``n`` row), top frameworks as rows. Without any such period, a line saying why: no data, or only
    smaller periods."""
    rows = latest_rows(engine, weeks=weeks, top=top, cohort=cohort, min_postings=min_postings, grain=grain)
    if not rows:
        with engine.connect() as conn:
            largest = conn.scalar(select(func.max(TrendPoint.n_postings))
                                  .where(TrendPoint.grain == grain, TrendPoint.cohort == cohort))
        if largest and largest < min_postings:
            return TOO_FEW.format(grain=grain, cohort=cohort, min_postings=min_postings, largest=largest)
        return NO_DATA.format(cohort=cohort)
    labels = sorted({(r["week"], r["week_label"]) for r in rows})
    n_by_period = {r["week_label"]: r["n_postings"] for r in rows}
    names = {r["slug"]: r["name"] for r in rows}  # in rank order
    cells = {(r["slug"], r["week_label"]): f"{r['share'] * 100:.1f}%" for r in rows}
    header = ["framework"] + [label for _, label in labels]
    body = [["n"] + [str(n_by_period[label]) for _, label in labels]]
    body += [[name] + [cells.get((slug, label), "") for _, label in labels] for slug, name in names.items()]
    return format_grid(header, body)


def format_grid(header: list[str], body: list[list[str]]) -> str:
    """Left-align the first column, right-align the others, two spaces between columns."""
    table = [header, *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:],
                                                                                      strict=True)])
             for row in table]
    return "\n".join(line.rstrip() for line in lines)
