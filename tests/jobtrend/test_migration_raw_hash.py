"""Migration 0011 (postings.raw_hash) upgrades and downgrades a populated database, views kept, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from jobtrend.db import alembic_config, make_engine, migrate
from tests.jobtrend.test_migrations import seed_three_postings

VIEWS = {"posting_facts", "weekly_framework_share", "monthly_framework_share", "weekly_role_split",
         "source_health", "posting_pay", "monthly_pay"}


def state(url: str) -> tuple[set[str], set[str], list]:
    """The postings columns, the views, and the postings' (external id, description) rows."""
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("postings")}
        with engine.connect() as conn:
            rows = conn.execute(text("select external_id, description_text from postings order by 1")).all()
        return columns, set(inspector.get_view_names()), [tuple(r) for r in rows]
    finally:
        engine.dispose()


def test_raw_hash_is_added_empty_and_removed_with_every_row_and_view_kept(empty_db_url):
    migrate(empty_db_url, "0010")
    seed_three_postings(empty_db_url)
    columns, views, rows = state(empty_db_url)
    assert "raw_hash" not in columns and views >= VIEWS and len(rows) == 3

    migrate(empty_db_url)
    columns, views, upgraded = state(empty_db_url)
    assert "raw_hash" in columns and views >= VIEWS and upgraded == rows
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        assert conn.execute(text("select count(*) from postings where raw_hash is null")).scalar() == 3
        conn.execute(text("update postings set raw_hash = -9223372036854775807"))  # a 64-bit value fits
        assert conn.execute(text("select min(raw_hash) from postings")).scalar() == -9223372036854775807
    engine.dispose()

    command.downgrade(alembic_config(empty_db_url), "0010")
    columns, views, downgraded = state(empty_db_url)
    assert "raw_hash" not in columns and views >= VIEWS and downgraded == rows

    migrate(empty_db_url)
    assert "raw_hash" in state(empty_db_url)[0]
