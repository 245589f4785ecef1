"""Alembic environment: jobtrend's models are the target; SQLite migrations run in batch mode."""

from __future__ import annotations

import logging.config
import os

from alembic import context

from jobtrend.config import load_config
from jobtrend.db import make_engine
from jobtrend.models import Base, UTCDateTime

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Tables in the same database that other libraries own (APScheduler's job store).
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001 - Alembic's hook signature
    return not (type_ == "table" and name in FOREIGN_TABLES)


def render_item(type_, obj, autogen_context):  # noqa: ANN001 - Alembic's hook signature
    """Render jobtrend's UTCDateTime as a plain DateTime(timezone=True): migrations never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def database_url() -> str:
    """The URL `jobtrend` set, else JOBTREND_DATABASE_URL, else the one in config/jobtrend.toml."""
    return (config.get_main_option("sqlalchemy.url") or os.environ.get("JOBTREND_DATABASE_URL")
            or load_config().database_url)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:  # noqa: ANN001
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _set_sqlite_foreign_keys(connection, on=False)
    try:
        # SQLite runs DDL transactionally too once a BEGIN is explicit (Python's sqlite3 only begins before DML),
        # so every pending migration and the foreign-key check below commit or roll back together.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_object=include_object, compare_type=True, render_item=render_item,
                          **({"transactional_ddl": True} if sqlite else {}))
        with context.begin_transaction():
            if sqlite:
                connection.exec_driver_sql("BEGIN")
            context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(connection, on=True)


def _set_sqlite_foreign_keys(connection, *, on: bool) -> None:  # noqa: ANN001
    """Turn SQLite's foreign-key enforcement on or off; the pragma only takes effect outside a transaction.

    Batch mode rebuilds a table by copying it, dropping the original and renaming the copy. With enforcement on,
    dropping `postings` would cascade: every mention and classification deleted, every duplicate link set to NULL.
    Alembic's batch documentation asks for the pragma to be off while tables are rebuilt.
    """
    if connection.in_transaction():
        connection.commit()
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def _check_sqlite_foreign_keys(connection) -> None:  # noqa: ANN001
    """Refuse to commit a migration that left a row pointing at nothing (checked while enforcement is off)."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        sample = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in broken[:5])
        raise RuntimeError(f"migration left {len(broken)} rows with a dangling foreign key ({sample}); rolled back")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
