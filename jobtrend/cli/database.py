"""Commands that manage the database itself: `init` and the read-only `sql`."""

from __future__ import annotations

import click
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

try:  # the PostgreSQL path talks to psycopg directly
    from psycopg import DatabaseError
except ImportError:  # pragma: no cover - the postgres extra is not installed
    DatabaseError = SQLAlchemyError

from jobtrend.cli import AppContext, main, pass_app
from jobtrend.db import make_engine, migrate, session_factory, sync_frameworks, sync_sources
from jobtrend.output import FORMATS, render


def initialise(config) -> dict[str, int]:
    """Migrate the database to the latest schema and sync sources and the taxonomy from the config."""
    migrate(config.database_url)
    engine = make_engine(config.database_url)
    try:
        with session_factory(engine).begin() as session:
            sources = sync_sources(session, config.sources)
            frameworks = sync_frameworks(session, config.frameworks)
    finally:
        engine.dispose()
    return {"sources": len(sources), "frameworks": len(frameworks)}


@main.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or upgrade the database, load sources and frameworks from the config, and make sure a role
    model exists (trained from the bundled corpus in data/training/ when there is none).

    Safe to run again: migrations only move forward, the sync updates rows in place, and an existing model is kept.

    \b
    Example:
        jobtrend init
        JOBTREND_DATABASE_URL=postgresql+psycopg://jobtrend@localhost/jobtrend jobtrend init
    """
    config = app.config
    counts = initialise(config)
    click.echo(f"database ready: {redact(config.database_url)}")
    click.echo(f"sources: {counts['sources']}  frameworks: {counts['frameworks']}")
    click.echo(model_line(config.model_path))


def model_line(model_path) -> str:
    """Train the default role model from the bundled corpus when there is none; say which model is in use."""
    import os

    from analysis.classify import ensure_default_model

    model = ensure_default_model(model_path)
    shown = os.path.relpath(model_path) if str(model_path).startswith(os.getcwd()) else model_path
    if model is None:
        return f"role model: {shown} (kept; retrain with `jobtrend classifier train`)"
    return f"role model: trained {model.version} from the bundled corpus, saved to {shown}"


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


READ_STATEMENTS = ("select", "with", "explain", "show", "values", "table", "pragma")


class WriteRefused(Exception):
    """The statement is not a query; `jobtrend sql` only reads."""


def check_read_statement(query: str) -> None:
    """Refuse statements that do not start like a query (a second guard; the connection is read-only anyway)."""
    words = query.lstrip(" \t\r\n(").split(None, 1)
    first = words[0].lower().rstrip(";") if words else ""
    if first not in READ_STATEMENTS:
        raise WriteRefused(f"refused: `jobtrend sql` is read-only and runs only queries "
                           f"({', '.join(READ_STATEMENTS)}), not {first.upper() or 'an empty statement'}")


def run_read_only(url: str, query: str, params: dict, limit: int) -> tuple[list[str], list[tuple], bool]:
    """Run one query on a connection that cannot write; return columns, up to ``limit`` rows, and whether
    rows were cut.

    SQLite: the file is opened with mode=ro and query_only, and sqlite3 runs one statement per call.
    PostgreSQL: the session is default_transaction_read_only and the statement goes through the extended
    protocol (psycopg ``prepare=True``), which rejects a string of several statements, so a
    ``SET TRANSACTION READ WRITE; ...; COMMIT`` cannot smuggle a write through. The transaction is rolled back.
    """
    check_read_statement(query)
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                columns, rows = _fetch_postgres(conn, query, params, limit + 1)
            else:
                result = conn.execute(text(query), params)
                columns = list(result.keys()) if result.returns_rows else []
                rows = [tuple(r) for r in result.fetchmany(limit + 1)] if columns else []
            conn.rollback()
    finally:
        engine.dispose()
    return columns, rows[:limit], len(rows) > limit


def _fetch_postgres(conn, query: str, params: dict, count: int) -> tuple[list[str], list[tuple]]:
    compiled = text(query).compile(dialect=conn.dialect)
    bound = {name: params.get(name) for name in compiled.params} | {
        k: v for k, v in params.items() if k in compiled.params}
    missing = [name for name in compiled.params if name not in params]
    if missing:
        raise click.ClickException(f"missing parameter(s): {', '.join(missing)} (pass -p NAME=VALUE)")
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), bound, prepare=True)
        if cursor.description is None:
            return [], []
        return [d.name for d in cursor.description], [tuple(r) for r in cursor.fetchmany(count)]
    finally:
        cursor.close()


def _explain(exc: SQLAlchemyError) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    message = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    lowered = message.lower()
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return f"refused: `jobtrend sql` is read-only ({message})"
    return f"query failed: {message}"


@main.command()
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A named parameter for :NAME in the query; repeatable.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Print at most this many rows.")
@pass_app
def sql(app: AppContext, query: str, fmt: str, params: tuple[str, ...], limit: int) -> None:
    """Run a read-only SQL query against the jobtrend database.

    The connection itself is read-only (SQLite opened with mode=ro and query_only; PostgreSQL with
    default_transaction_read_only), so any write fails with the database's own message and exit status 1.

    \b
    Example:
        jobtrend sql "select count(*) from postings"
        jobtrend sql "select title, company from postings where posted_week = :w" -p w=2025-10-13 --format csv
    """
    bound = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        bound[name] = value
    try:
        columns, rows, cut = run_read_only(app.config.database_url, query, bound, limit)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    except WriteRefused as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, DatabaseError) as exc:
        raise click.ClickException(_explain(exc)) from None
    if not columns:
        click.echo("(statement returned no rows)")
        return
    click.echo(render(columns, rows, fmt))
    if cut:
        click.echo(f"(first {limit} rows shown; use --limit to see more)", err=True)
