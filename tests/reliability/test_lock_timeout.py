"""A writer blocked by another transaction's lock fails cleanly after a timeout, on both databases, and the CLI
turns a database error raised by the driver itself (not wrapped by SQLAlchemy) into one line."""

from __future__ import annotations

import sqlite3

import click
import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jobtrend import db
from jobtrend.cli import main
from jobtrend.db import make_engine
from tests.analysis.factories import add_source


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_postgres_connections_carry_a_lock_timeout_and_keep_the_url_s_options(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("show lock_timeout").scalar() == "30s"
    engine.dispose()
    url = sa.engine.make_url(db_url).update_query_dict({"options": "-c statement_timeout=12345"})
    engine = make_engine(url.render_as_string(hide_password=False), read_only=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("show statement_timeout").scalar() == "12345ms"
        assert conn.exec_driver_sql("show lock_timeout").scalar() == "30s"
        assert conn.exec_driver_sql("show default_transaction_read_only").scalar() == "on"
    engine.dispose()


def test_a_writer_behind_a_held_lock_gives_up_with_an_error_and_changes_nothing(db_url, db_kind, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    monkeypatch.setattr(db, "POSTGRES_LOCK_TIMEOUT_MS", 300)
    holder, writer = make_engine(db_url), make_engine(db_url)
    source = add_source(holder)
    with holder.connect() as held:
        if db_kind == "sqlite":  # Python's sqlite3 begins only before DML; take the write lock now
            held.exec_driver_sql("BEGIN IMMEDIATE")
        held.execute(sa.text("update sources set company = 'Held' where id = :id"), {"id": source})
        with pytest.raises(sa.exc.OperationalError, match="lock timeout|database is locked"), writer.begin() as conn:
            conn.execute(sa.text("update sources set company = 'Blocked' where id = :id"), {"id": source})
        held.rollback()
    with writer.connect() as conn:
        assert conn.execute(sa.text("select company from sources where id = :id"), {"id": source}).scalar() != (
            "Blocked")
    holder.dispose()
    writer.dispose()


@pytest.fixture
def failing_command():
    """A command on `main` that raises a given driver error, as a COPY on a raw cursor would; removed after."""
    errors = []

    @main.command("raise-driver-error", hidden=True)
    def raise_driver_error() -> None:
        raise errors[0]

    yield errors
    main.commands.pop("raise-driver-error")


@pytest.mark.parametrize("error", [
    psycopg.errors.LockNotAvailable("canceling statement due to lock timeout\nCONTEXT: COPY trend_points_new"),
    sqlite3.OperationalError("database is locked"),
])
def test_a_driver_error_ends_the_command_with_one_line(failing_command, error):
    failing_command.append(error)
    result = CliRunner().invoke(main, ["raise-driver-error"])
    assert result.exit_code == 1
    assert result.output == f"Error: database error: {str(error).splitlines()[0]}\n"


def test_other_errors_are_not_dressed_up_as_database_errors(failing_command):
    failing_command.append(click.UsageError("not a database problem"))
    result = CliRunner().invoke(main, ["raise-driver-error"])
    assert "database error" not in result.output
