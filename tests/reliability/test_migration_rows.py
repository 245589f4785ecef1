"""Upgrading a database that holds data keeps every row, on SQLite and PostgreSQL, through every migration.

The database is migrated one revision at a time from the first to head. After each step every table that is still
empty gets a row (its columns filled by type from the reflected schema, foreign keys pointing at rows of the
tables they reference), and every row of every table is kept; the next step must leave each of those rows in
place with the same values in every column it still has. New migrations are covered without touching this test.
"""

from __future__ import annotations

import datetime as dt

from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, MetaData, Numeric, String, Text, select
from sqlalchemy.types import TypeEngine

from jobtrend.db import alembic_config, make_engine, migrate

SKIPPED = {"alembic_version"}


def revisions(url: str) -> list[str]:
    """Every revision from the first to head, in order."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def value_for(column, table_name: str, n: int):
    """A value of the column's type; distinct per table and column so that a mix-up shows."""
    kind: TypeEngine = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 40 + n
    if isinstance(kind, Float | Numeric):
        return 0.25 + n
    if isinstance(kind, DateTime):
        return dt.datetime(2026, 1, 2, 3, 4, 5 + n, tzinfo=dt.UTC)
    if isinstance(kind, Date):
        return dt.date(2026, 1, 5) + dt.timedelta(weeks=n)
    if isinstance(kind, JSON):
        return {"column": column.name, "values": [n, "é", None]}
    if isinstance(kind, String | Text):
        text = f"{table_name}.{column.name}:é{n}"
        length = getattr(kind, "length", None)
        return text[-length:] if length else text
    raise AssertionError(f"no test value for {table_name}.{column.name} of type {kind!r}: extend value_for")


def fill_empty_tables(engine) -> None:
    """Give every empty table one row (parents first)."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name in SKIPPED or conn.scalar(select(table).limit(1)) is not None:
                continue
            row = {}
            for n, column in enumerate(table.columns):
                keys = list(column.foreign_keys)
                if keys:
                    target = keys[0].column
                    if target.table is table:  # a self-reference (postings.duplicate_of_id): none
                        row[column.name] = None
                        continue
                    row[column.name] = conn.scalar(select(target).limit(1))
                    assert row[column.name] is not None, f"{table.name}.{column.name}: nothing to point at"
                elif column.primary_key and isinstance(column.type, Integer) and len(table.primary_key) == 1:
                    continue  # the database numbers it
                else:
                    row[column.name] = value_for(column, table.name, n)
            conn.execute(table.insert(), row)


def snapshot(engine, keys: dict[str, list[str]] | None = None) -> dict[str, dict[tuple, dict]]:
    """Every row of every table, by primary key (the whole row when a table has none); ``keys`` gives a table's
    key columns instead (the key of the revision before, when a migration widened a primary key: 0007 added
    ``grain`` to trend_points')."""
    metadata = MetaData()
    metadata.reflect(engine)
    tables = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in SKIPPED:
                continue
            key_columns = (keys or {}).get(table.name) or [c.name for c in table.primary_key] or [
                c.name for c in table.columns]
            rows = [dict(r._mapping) for r in conn.execute(select(table))]
            tables[table.name] = {tuple(str(r[c]) for c in key_columns): r for r in rows}
    return tables


def key_columns(engine) -> dict[str, list[str]]:
    """Each table's primary-key columns (every column when it has none)."""
    metadata = MetaData()
    metadata.reflect(engine)
    return {table.name: [c.name for c in table.primary_key] or [c.name for c in table.columns]
            for table in metadata.sorted_tables}


def test_every_migration_keeps_every_row_of_every_table(empty_db_url):
    steps = revisions(empty_db_url)
    assert len(steps) >= 3
    engine = make_engine(empty_db_url)
    try:
        migrate(empty_db_url, steps[0])
        fill_empty_tables(engine)
        before, keys = snapshot(engine), key_columns(engine)
        for revision in steps[1:]:
            engine.dispose()
            migrate(empty_db_url, revision)
            after = snapshot(engine, keys)
            for table, rows in before.items():
                assert table in after, f"{revision} dropped table {table}"
                assert after[table].keys() == rows.keys(), f"{revision} lost or renumbered rows of {table}"
                for key, row in rows.items():
                    kept = after[table][key]
                    assert {c: v for c, v in row.items() if c in kept} == {c: kept[c] for c in row if c in kept}, \
                        f"{revision} changed {table} row {key}"
            fill_empty_tables(engine)
            before, keys = snapshot(engine), key_columns(engine)
        assert all(before.values()), "a table at head holds no row: the test filled nothing in it"
    finally:
        engine.dispose()
