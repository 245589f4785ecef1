"""Analyst views: posting_facts, weekly_framework_share, weekly_role_split and source_health.

The views read like a data product (docs/schema.md documents every column, and its cookbook queries them) and
mean the same on SQLite and PostgreSQL: where the dialects differ (ISO week labels, day arithmetic, ordered
string aggregation) each has its own SQL, chosen with ``op.get_context().dialect.name`` (which also works
offline, for ``alembic upgrade --sql``). Flags come out as 0/1 integers on both, so ``where is_open = 1`` and
``sum(is_ai_role)`` read the same everywhere.

The view SQL lives here only: migrations are frozen, and a view must keep meaning what it meant when a database
was migrated to this revision.

Changing a table a view reads (postings, sources, crawl_runs, classifications, mentions, frameworks,
trend_points) in a later migration: on SQLite, Alembic's batch mode recreates the table (copy into
``_alembic_tmp_<table>``, drop the old one, rename), and SQLite's ``ALTER TABLE ... RENAME`` then fails with
"error in view posting_facts: no such table: main.postings" because it re-checks every view. PostgreSQL refuses
to drop or retype a column a view uses. So such a migration must drop the views first and create them again
afterwards: with this revision's SQL when the views do not change (the module is reachable from a migration as
``context.script.get_revision("0004").module``, see ``drop_views``/``create_views``), or with its own copy of
the new view SQL when they do. tests/jobtrend/test_views.py proves both the failure and the fix. (Separately, a
SQLite rebuild of a referenced table needs PRAGMA foreign_keys off, or the DROP cascades: see docs/schema.md.)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = ("posting_facts", "weekly_framework_share", "weekly_role_split", "source_health")


def _sqlite_iso_week(day: str) -> str:
    """'2026-W19' for a date: the ISO year and week are those of the week's Thursday (strftime's %G and %V
    need SQLite 3.46, so they are computed from the Thursday's year and day of the year)."""
    thursday = f"date({day}, '-3 days', 'weekday 4')"
    return (f"(strftime('%Y', {thursday}) || '-W' || "
            f"printf('%02d', (cast(strftime('%j', {thursday}) as integer) + 6) / 7))")


DIALECT_SQL = {
    "sqlite": {
        "iso_week": _sqlite_iso_week,
        "month_of_date": lambda day: f"substr({day}, 1, 7)",
        "month_of_timestamp": lambda ts: f"strftime('%Y-%m', {ts})",
        "date_of_timestamp": lambda ts: f"date({ts})",
        "days_between": lambda start, end: f"cast(julianday({end}) - julianday({start}) as integer)",
        "float": "real",
        # group_concat has no ORDER BY before SQLite 3.44: aggregate an ordered subquery instead (SQLite does
        # not flatten a subquery with ORDER BY into an aggregate, so the rows arrive in slug order).
        "framework_list": ("(select group_concat(slug, ',') from (select f.slug from mentions m "
                           "join frameworks f on f.id = m.framework_id where m.posting_id = p.id order by f.slug))"),
    },
    "postgresql": {
        "iso_week": lambda day: f"to_char({day}, 'IYYY-\"W\"IW')",
        "month_of_date": lambda day: f"to_char({day}, 'YYYY-MM')",
        "month_of_timestamp": lambda ts: f"to_char({ts} at time zone 'UTC', 'YYYY-MM')",
        "date_of_timestamp": lambda ts: f"cast({ts} at time zone 'UTC' as date)",
        "days_between": lambda start, end: f"({end} - {start})",
        "float": "double precision",
        # byte order, as SQLite sorts, whatever the database's collation
        "framework_list": ("(select string_agg(f.slug, ',' order by f.slug collate \"C\") from mentions m "
                           "join frameworks f on f.id = m.framework_id where m.posting_id = p.id)"),
    },
}


def view_sql(dialect: str) -> dict[str, str]:
    """The ``select`` of every view for ``dialect`` ("sqlite" or "postgresql")."""
    if dialect not in DIALECT_SQL:
        raise RuntimeError(f"unsupported database dialect {dialect}: jobtrend runs on SQLite and PostgreSQL")
    d = DIALECT_SQL[dialect]
    posting_date = d["date_of_timestamp"]("p.posted_at")
    until_date = d["date_of_timestamp"]("coalesce(p.closed_at, p.last_seen_at)")
    return {
        "posting_facts": f"""
select p.id as posting_id,
       s.kind as source_kind,
       s.key as source_key,
       p.company,
       p.title,
       p.location,
       case when p.remote then 1 when not p.remote then 0 end as remote,
       p.url,
       p.posted_at,
       p.posted_week,
       {d["iso_week"]("p.posted_week")} as iso_week,
       {d["month_of_timestamp"]("p.posted_at")} as posted_month,
       {d["days_between"]("p.posted_week", "latest.week")} / 7 as weeks_ago,
       p.first_seen_at,
       p.last_seen_at,
       p.closed_at,
       case when p.closed_at is null then 1 else 0 end as is_open,
       {d["days_between"](posting_date, until_date)} as age_days,
       case when trim(p.description_text) <> '' then 1 else 0 end as has_description,
       case when c.posting_id is null then null when c.is_ai_role then c.role else 'not_ai' end as role,
       c.probability as role_probability,
       c.relevance_probability,
       case when c.posting_id is null then null when c.is_ai_role then 1 else 0 end as is_ai_role,
       coalesce({d["framework_list"]}, '') as frameworks,
       (select count(*) from mentions m where m.posting_id = p.id) as framework_count
from postings p
join sources s on s.id = p.source_id
left join classifications c on c.posting_id = p.id
cross join (select max(posted_week) as week from postings where duplicate_of_id is null) latest
where p.duplicate_of_id is null""",
        "weekly_framework_share": f"""
select t.period_start as week,
       {d["iso_week"]("t.period_start")} as iso_week,
       {d["month_of_date"]("t.period_start")} as month,
       {d["days_between"]("t.period_start", "latest.week")} / 7 as weeks_ago,
       t.cohort,
       f.slug as framework,
       f.name as framework_name,
       f.category,
       t.n_postings as n,
       t.n_mentioning as k,
       t.share,
       t.ci_low,
       t.ci_high
from trend_points t
join frameworks f on f.id = t.framework_id
cross join (select max(period_start) as week from trend_points) latest""",
        "weekly_role_split": f"""
select w.week,
       {d["iso_week"]("w.week")} as iso_week,
       {d["month_of_date"]("w.week")} as month,
       {d["days_between"]("w.week", "latest.week")} / 7 as weeks_ago,
       w.postings,
       w.ai_swe,
       w.ml_engineer,
       w.not_ai,
       w.unclassified,
       cast(w.ai_swe as {d["float"]}) / nullif(w.ai_swe + w.ml_engineer, 0) as ai_swe_share_of_ai
from (select p.posted_week as week,
             count(*) as postings,
             sum(case when c.is_ai_role and c.role = 'ai_swe' then 1 else 0 end) as ai_swe,
             sum(case when c.is_ai_role and c.role = 'ml_engineer' then 1 else 0 end) as ml_engineer,
             sum(case when c.posting_id is not null and not c.is_ai_role then 1 else 0 end) as not_ai,
             sum(case when c.posting_id is null then 1 else 0 end) as unclassified
      from postings p
      left join classifications c on c.posting_id = p.id
      where p.duplicate_of_id is null and trim(p.description_text) <> ''
      group by p.posted_week) w
cross join (select max(posted_week) as week from postings
            where duplicate_of_id is null and trim(description_text) <> '') latest""",
        "source_health": """
select s.id as source_id,
       s.kind,
       s.key,
       s.company,
       case when s.enabled then 1 else 0 end as enabled,
       s.health,
       s.health_since,
       s.last_crawled_at,
       s.last_ok_at,
       s.last_error,
       s.consecutive_failures,
       coalesce(pc.postings, 0) as postings,
       coalesce(pc.open_postings, 0) as open_postings,
       r.status as last_run_status,
       r.started_at as last_run_started_at,
       r.finished_at as last_run_finished_at,
       r.seen as last_run_seen,
       r.new as last_run_new,
       r.error as last_run_error
from sources s
left join (select source_id,
                  count(*) as postings,
                  sum(case when closed_at is null then 1 else 0 end) as open_postings
           from postings group by source_id) pc on pc.source_id = s.id
left join (select source_id, status, started_at, finished_at, seen, new, error,
                  row_number() over (partition by source_id order by started_at desc, id desc) as recency
           from crawl_runs) r on r.source_id = s.id and r.recency = 1""",
    }


def create_views() -> None:
    """Create every view with this revision's SQL, for the database the migration runs on."""
    for name, select in view_sql(op.get_context().dialect.name).items():
        op.execute(f"create view {name} as {select.strip()}")


def drop_views() -> None:
    for name in VIEWS:
        op.execute(f"drop view if exists {name}")


def upgrade() -> None:
    create_views()


def downgrade() -> None:
    drop_views()
