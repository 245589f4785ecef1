"""Migrations build exactly the schema the models describe, and undo cleanly, on SQLite and PostgreSQL."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from jobtrend.db import alembic_config, make_engine, migrate
from jobtrend.models import Base

OWNED_TABLES = {"sources", "crawl_runs", "postings", "frameworks", "mentions", "trend_points"}


def _diff(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def _tables(url):
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_matches_models(empty_db_url):
    migrate(empty_db_url)
    assert _tables(empty_db_url) >= OWNED_TABLES
    assert _diff(empty_db_url) == []


def test_downgrade_base_removes_every_table_and_upgrade_again_works(empty_db_url):
    migrate(empty_db_url)
    command.downgrade(alembic_config(empty_db_url), "base")
    assert _tables(empty_db_url) & OWNED_TABLES == set()
    migrate(empty_db_url)
    assert _diff(empty_db_url) == []


def test_a_model_change_without_a_migration_is_detected(empty_db_url):
    """The comparison is not vacuous: a column missing from the database shows up as a difference."""
    migrate(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        for view in ("monthly_pay", "posting_pay", "posting_facts", "weekly_framework_share", "weekly_role_split",
                     "source_health"):
            conn.exec_driver_sql(f"drop view {view}")  # SQLite cannot rebuild a table a view reads (see 0004)
        ctx = MigrationContext.configure(conn)
        from alembic.operations import Operations

        with Operations(ctx).batch_alter_table("postings") as batch:
            batch.drop_column("department")
    engine.dispose()
    diff = _diff(empty_db_url)
    assert any(d[0] == "add_column" and d[3].name == "department" for d in diff)


def test_upgrading_a_database_with_data_keeps_every_row(empty_db_url):
    """0001 -> head on a populated database: rows survive, new source columns get their defaults."""
    migrate(empty_db_url, "0001")
    seed_three_postings(empty_db_url)
    migrate(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from postings")).scalar() == 3
        row = conn.execute(text("select key, health, consecutive_failures from sources")).one()
    engine.dispose()
    assert tuple(row) == ("acme", "new", 0)
    assert _diff(empty_db_url) == []


def seed_three_postings(url: str) -> None:
    """One source (ashby:acme) and three postings, written with the columns every schema version has."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("insert into sources (kind, key, company, enabled, created_at) "
                          "values ('ashby', 'acme', 'Acme', true, current_timestamp)"))
        source_id = conn.execute(text("select id from sources")).scalar()
        for i in range(3):
            conn.execute(text(
                "insert into postings (source_id, external_id, title, description_text, posted_at, posted_week, "
                "first_seen_at, last_seen_at, content_hash) values (:s, :e, 't', 'x', current_timestamp, "
                "current_date, current_timestamp, current_timestamp, 'h')"), {"s": source_id, "e": str(i)})
    engine.dispose()
