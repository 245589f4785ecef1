"""`jobtrend sql`: one read-only query against the jobtrend database (its engine is jobtrend.sql)."""

from __future__ import annotations

import sqlite3
import sys

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

try:  # the PostgreSQL path talks to psycopg directly
    from psycopg import DatabaseError
except ImportError:  # pragma: no cover - the postgres extra is not installed
    DatabaseError = SQLAlchemyError

from jobtrend.cli import AppContext, pass_app
from jobtrend.messages import error_message
from jobtrend.output import FORMATS, render
from jobtrend.sql import (  # noqa: F401  (run_read_only re-exported: tests import it from here)
    DEFAULT_TIMEOUT,
    LoginRefused,
    ParameterError,
    QueryStopped,
    WriteRefused,
    parse_param,
    run_read_only,
)


def _explain(exc: Exception) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    message = error_message(orig)
    lowered = message.lower()
    if any(word in lowered for word in ("readonly", "read-only", "read only", "not authorized",
                                        "authorization denied", "permission denied")):
        return f"refused: `jobtrend sql` is read-only ({message})"
    return f"query failed: {message}"


@click.command()
@click.argument("query", required=False)
@click.option("-f", "--file", "query_file", type=click.File("r", encoding="utf-8"),
              help="Read the query from this file ('-' for standard input) instead of the QUERY argument.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME[:TYPE]=VALUE",
              help="A named parameter for :NAME in the query; repeatable. Values are strings; TYPE int, float "
                   "or date (YYYY-MM-DD or an ISO week YYYY-Www, given as its Monday) converts them.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Print at most this many rows; the database stops after one more (a note on stderr says when "
                   "rows were cut).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT,
              show_default=True, metavar="SECONDS", help="Stop the query in the database after this long.")
@click.option("--raw-csv", is_flag=True,
              help="CSV: write text cells as they are, without the ' put before a cell a spreadsheet would run as "
                   "a formula (=, +, -, @).")
@click.option("--database-url", "sql_url", envvar="JOBTREND_SQL_DATABASE_URL", metavar="URL",
              help="Query this database instead of the configured one, e.g. as a least-privilege PostgreSQL "
                   "login [env: JOBTREND_SQL_DATABASE_URL].")
@click.option("--allow-superuser", is_flag=True,
              help="UNSAFE: run even as a PostgreSQL login that can read or write server files or end other "
                   "sessions (a superuser); the query can use those rights.")
@pass_app
def sql(app: AppContext, query: str | None, query_file, fmt: str, params: tuple[str, ...], limit: int,
        timeout: float, raw_csv: bool, sql_url: str | None, allow_superuser: bool) -> None:
    """Run one read-only SQL query against the jobtrend database and print the rows.

    The connection itself is read-only (SQLite: mode=ro, query_only and an authorizer that refuses ATTACH,
    VACUUM INTO, setting pragmas and extensions; PostgreSQL: a read-only transaction, one statement, rolled
    back), so a write fails with the database's own message and exit status 1. On PostgreSQL a login that
    could reach server files (a superuser) is refused: use the least-privilege login of docs/querying.md. The
    query stops after --timeout seconds, or at Ctrl-C, in the database too. Text is printed safe for a terminal;
    --format json gives it exactly.

    \b
    Example:
        jobtrend sql "select count(*) from postings"
        jobtrend sql "select title, company from postings where posted_week = :w" -p w:date=2025-W42 --format csv
        jobtrend sql --file weekly.sql -p week:date=2026-W47 --format markdown
    """
    if (query is None) == (query_file is None):
        raise click.UsageError("give exactly one of QUERY or --file")
    if query_file is not None:
        query = query_file.read()
    bound = {}
    for item in params:
        try:
            name, value = parse_param(item)
        except ParameterError as exc:
            raise click.BadParameter(str(exc), param_hint="--param") from None
        bound[name] = value
    url = sql_url or app.config.database_url
    try:
        columns, rows, cut = run_read_only(url, query, bound, limit, timeout=timeout, allow_superuser=allow_superuser,
                                           warn=lambda line: click.echo(line, err=True))
    except QueryStopped as exc:
        if exc.signum is None:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Error: {exc}", err=True)
        sys.exit(128 + exc.signum)  # as a shell reports a process ended by that signal
    except ParameterError as exc:  # a -p the query does not use, or a :name it lacks: a usage mistake
        raise click.BadParameter(str(exc), param_hint="--param") from None
    except (FileNotFoundError, WriteRefused, LoginRefused) as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, DatabaseError, sqlite3.Error) as exc:
        raise click.ClickException(_explain(exc)) from None
    if not columns:
        click.echo("(statement returned no rows)")
        return
    click.echo(render(columns, rows, fmt, raw_csv=raw_csv))
    if cut:
        click.echo(f"(first {limit} rows shown; use --limit to see more)", err=True)
