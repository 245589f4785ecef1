"""Commands that manage the database itself: `init`, and the read-only `sql` (its engine is jobtrend.sql)."""

from __future__ import annotations

import sqlite3

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

try:  # the PostgreSQL path talks to psycopg directly
    from psycopg import DatabaseError
except ImportError:  # pragma: no cover - the postgres extra is not installed
    DatabaseError = SQLAlchemyError

from jobtrend.cli import AppContext, main, pass_app
from jobtrend.db import make_engine, migrate, session_factory, sync_frameworks, sync_sources
from jobtrend.messages import error_message
from jobtrend.output import FORMATS, render
from jobtrend.redact import redact_url
from jobtrend.sql import (  # noqa: F401  (run_read_only re-exported: tests import it from here)
    ParameterError,
    WriteRefused,
    parse_param,
    run_read_only,
)


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
    click.echo(f"database ready: {redact_url(config.database_url)}")
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



def _explain(exc: Exception) -> str:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    message = error_message(orig)
    lowered = message.lower()
    if any(word in lowered for word in ("readonly", "read-only", "read only", "not authorized",
                                        "authorization denied", "permission denied")):
        return f"refused: `jobtrend sql` is read-only ({message})"
    return f"query failed: {message}"


@main.command()
@click.argument("query", required=False)
@click.option("-f", "--file", "query_file", type=click.File("r", encoding="utf-8"),
              help="Read the query from this file ('-' for standard input) instead of the QUERY argument.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME[:TYPE]=VALUE",
              help="A named parameter for :NAME in the query; repeatable. Values are strings; TYPE int, float "
                   "or date (YYYY-MM-DD or an ISO week YYYY-Www, given as its Monday) converts them.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Print at most this many rows (a note on stderr says when rows were cut).")
@click.option("--database-url", "sql_url", envvar="JOBTREND_SQL_DATABASE_URL", metavar="URL",
              help="Query this database instead of the configured one, e.g. as a least-privilege PostgreSQL "
                   "login [env: JOBTREND_SQL_DATABASE_URL].")
@pass_app
def sql(app: AppContext, query: str | None, query_file, fmt: str, params: tuple[str, ...], limit: int,
        sql_url: str | None) -> None:
    """Run one read-only SQL query against the jobtrend database and print the rows.

    The connection itself is read-only (SQLite: mode=ro, query_only and an authorizer that refuses ATTACH,
    VACUUM INTO, setting pragmas and extensions; PostgreSQL: a read-only transaction, one statement, rolled
    back), so a write fails with the database's own message and exit status 1. See docs/querying.md.

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
        columns, rows, cut = run_read_only(url, query, bound, limit, warn=lambda line: click.echo(line, err=True))
    except (FileNotFoundError, WriteRefused, ParameterError) as exc:
        raise click.ClickException(str(exc)) from None
    except (SQLAlchemyError, DatabaseError, sqlite3.Error) as exc:
        raise click.ClickException(_explain(exc)) from None
    if not columns:
        click.echo("(statement returned no rows)")
        return
    click.echo(render(columns, rows, fmt))
    if cut:
        click.echo(f"(first {limit} rows shown; use --limit to see more)", err=True)
