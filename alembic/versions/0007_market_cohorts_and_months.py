"""Market cohorts and a monthly grain: postings.posted_month, trend_points.grain, monthly_framework_share.

- ``postings.posted_month``: the first day of the month a posting belongs to. The pipeline sets it when it
  stores a posting: a Hacker News comment belongs to its "Who is hiring?" thread's month (a late answer to
  April's thread posted on 2 May is April's), anything else to the month of ``posted_at`` (UTC). Rows stored
  before this revision get the month of ``posted_at``: the thread of a stored comment is not recorded, so a late
  comment stored before the upgrade stays in the month it was posted in.
- ``ix_postings_measured`` holds ``posted_month`` and ``source_id`` as well, so the monthly counts and the
  per-source-kind cohorts read the narrow partial index too (same condition as revision 0005).
- ``trend_points.grain`` ('week' or 'month') joins the primary key; existing rows are weekly. ``cohort`` widens
  to 40 characters for the per-source-kind cohorts (``market:hackernews``).
- Views: ``weekly_framework_share`` reads the weekly rows only, ``posting_facts.posted_month`` is the stored
  month, and ``monthly_framework_share`` is new. The other views keep revision 0004's SQL.

trend_points changes its primary key, which SQLite can only do by rebuilding the table (batch mode), so every
view is dropped first and created again afterwards (see revision 0004's docstring).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURED_POSTING = "duplicate_of_id IS NULL AND analyzed_at IS NOT NULL AND trim(description_text) != ''"
VIEWS = ("posting_facts", "weekly_framework_share", "monthly_framework_share", "weekly_role_split",
         "source_health")

# A Hacker News posting is current while its thread is the newest or the one before (late answers): the month
# before the newest thread month, and the last day a posting of thread month M can count as open
HN_SQL = {
    "sqlite": {"month_before": lambda m: f"date({m}, '-1 month')",
               "thread_end": lambda m: f"date({m}, '+2 months', '-1 day')",
               "earlier": lambda a, b: f"min({a}, {b})"},
    "postgresql": {"month_before": lambda m: f"cast({m} - interval '1 month' as date)",
                   "thread_end": lambda m: f"cast({m} + interval '2 months' - interval '1 day' as date)",
                   "earlier": lambda a, b: f"least({a}, {b})"},
}
MONTH_OF_TIMESTAMP = {
    "sqlite": "date(posted_at, 'start of month')",
    "postgresql": "cast(date_trunc('month', posted_at at time zone 'UTC') as date)",
}


def _revision_0004():
    return context.script.get_revision("0004").module


def view_sql(dialect: str) -> dict[str, str]:
    """Every view's ``select`` at this revision: 0004's, with the three views this revision changes."""
    views = _revision_0004()
    sql = views.view_sql(dialect)
    d = views.DIALECT_SQL[dialect]
    sql["posting_facts"] = _posting_facts(sql["posting_facts"], d, HN_SQL[dialect])
    week = ["t.period_start as week", f'{d["iso_week"]("t.period_start")} as iso_week',
            f'{d["month_of_date"]("t.period_start")} as month',
            f'{d["days_between"]("t.period_start", "latest.week")} / 7 as weeks_ago']
    sql["weekly_framework_share"] = _shares("week", week, latest=True)
    month = [f'{d["month_of_date"]("t.period_start")} as month', "t.period_start as month_start"]
    sql["monthly_framework_share"] = _shares("month", month)
    return sql


def _posting_facts(sql: str, d: dict, hn: dict) -> str:
    """0004's posting_facts with the stored month, and Hacker News postings open and ageing only while their
    thread is current: a crawl never closes them (it reads some threads), so a 2011 comment seen by a backfill
    would otherwise be open and 5,000 days old."""
    until = d["date_of_timestamp"]("coalesce(p.closed_at, p.last_seen_at)")
    hn_until = hn["earlier"](until, hn["thread_end"]("p.posted_month"))
    posted = d["date_of_timestamp"]("p.posted_at")
    age = d["days_between"](posted, f"(case when s.kind = 'hackernews' then {hn_until} else {until} end)")
    replacements = {
        f'{d["month_of_timestamp"]("p.posted_at")} as posted_month':
            f'{d["month_of_date"]("p.posted_month")} as posted_month',
        "case when p.closed_at is null then 1 else 0 end as is_open":
            "case when p.closed_at is null and (s.kind <> 'hackernews' or p.posted_month >= hn.current_month) "
            "then 1 else 0 end as is_open",
        f'{d["days_between"](posted, until)} as age_days': f"{age} as age_days",
        "cross join (select max(posted_week) as week from postings where duplicate_of_id is null) latest":
            "cross join (select max(posted_week) as week from postings where duplicate_of_id is null) latest\n"
            f"cross join (select {hn['month_before']('max(hp.posted_month)')} as current_month from postings hp "
            "join sources hs on hs.id = hp.source_id where hs.kind = 'hackernews') hn",
    }
    for old, new in replacements.items():
        if old not in sql:
            raise RuntimeError(f"revision 0004's posting_facts changed: {old!r} not found")
        sql = sql.replace(old, new)
    return sql


def _shares(grain: str, period_columns: list[str], *, latest: bool = False) -> str:
    """The rows of ``trend_points`` of one grain with the framework's names: the period's columns, then cohort,
    framework, n, k, share and its interval; ``latest`` joins the latest week (for ``weeks_ago``)."""
    columns = ",\n       ".join([*period_columns, "t.cohort", "f.slug as framework", "f.name as framework_name",
                                   "f.category", "t.n_postings as n", "t.n_mentioning as k", "t.share", "t.ci_low",
                                   "t.ci_high"])
    latest_week = (f"\ncross join (select max(period_start) as week from trend_points where grain = '{grain}') latest"
                   if latest else "")
    return f"""
select {columns}
from trend_points t
join frameworks f on f.id = t.framework_id{latest_week}
where t.grain = '{grain}'"""


def create_views() -> None:
    """Create every view with this revision's SQL."""
    for name, select in view_sql(op.get_context().dialect.name).items():
        op.execute(f"create view {name} as {select.strip()}")


def drop_views() -> None:
    for name in VIEWS:
        op.execute(f"drop view if exists {name}")


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    drop_views()
    op.add_column("postings", sa.Column("posted_month", sa.Date(), nullable=True))
    op.execute(f"update postings set posted_month = {MONTH_OF_TIMESTAMP[dialect]}")
    op.create_index("ix_postings_posted_month", "postings", ["posted_month"], unique=False)
    # SQLite plans these queries without statistics and breaks the tie between the partial index and
    # ix_postings_analyzed_at (whose "analyzed_at IS NOT NULL" range also fits) by the order the indexes were
    # created in: the analysis-time index is created again after the partial one, as revision 0005 had them
    op.drop_index("ix_postings_analyzed_at", table_name="postings")
    op.drop_index("ix_postings_measured", table_name="postings")
    op.create_index("ix_postings_measured", "postings", ["id", "posted_week", "posted_month", "source_id"],
                    unique=False, sqlite_where=sa.text(MEASURED_POSTING), postgresql_where=sa.text(MEASURED_POSTING))
    op.create_index("ix_postings_analyzed_at", "postings", ["analyzed_at"], unique=False)
    with op.batch_alter_table("trend_points", recreate="always") as batch:
        batch.add_column(sa.Column("grain", sa.String(length=5), nullable=False, server_default="week"))
        batch.alter_column("cohort", existing_type=sa.String(length=20), type_=sa.String(length=40),
                           existing_nullable=False)
        batch.drop_constraint("pk_trend_points", type_="primary")
        batch.create_primary_key("pk_trend_points", ["grain", "period_start", "cohort", "framework_id"])
    create_views()


def downgrade() -> None:
    drop_views()
    op.execute("delete from trend_points where grain <> 'week' or cohort not in ('all', 'ai_swe', 'ml_engineer')")
    with op.batch_alter_table("trend_points", recreate="always") as batch:
        batch.drop_constraint("pk_trend_points", type_="primary")
        batch.drop_column("grain")
        batch.alter_column("cohort", existing_type=sa.String(length=40), type_=sa.String(length=20),
                           existing_nullable=False)
        batch.create_primary_key("pk_trend_points", ["period_start", "cohort", "framework_id"])
    op.drop_index("ix_postings_analyzed_at", table_name="postings")
    op.drop_index("ix_postings_measured", table_name="postings")
    op.create_index("ix_postings_measured", "postings", ["id", "posted_week"], unique=False,
                    sqlite_where=sa.text(MEASURED_POSTING), postgresql_where=sa.text(MEASURED_POSTING))
    op.create_index("ix_postings_analyzed_at", "postings", ["analyzed_at"], unique=False)
    op.drop_index("ix_postings_posted_month", table_name="postings")
    with op.batch_alter_table("postings") as batch:
        batch.drop_column("posted_month")
    _revision_0004().create_views()
