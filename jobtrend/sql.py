"""Read-only SQL for analysts: one query on a connection that cannot write, attach or reach server files.

The guarantees do not rest on reading the query's words (that check, :func:`check_read_statement`, is only a
first, friendlier refusal); they rest on the connection:

- **SQLite**: the file is opened with ``mode=ro`` and ``PRAGMA query_only``, and an authorizer
  (``sqlite3.Connection.set_authorizer``) allows only reading: no ATTACH (so no ``VACUUM INTO`` and no new
  file), no PRAGMA that sets a value, no ``load_extension``. sqlite3 runs one statement per call.
- **PostgreSQL**: the session is ``default_transaction_read_only`` and the statement goes through the extended
  protocol (one statement, no ``...; COMMIT; ...``); the transaction is rolled back. When the login is a
  superuser or may touch server files, the statement runs under ``SET LOCAL ROLE pg_read_all_data`` (no
  ``pg_read_file``, ``lo_export`` or ``COPY ... TO 'file'``) and its rows are thrown away if it left that role
  (``set_config('role', ...)``). That is a guard, not a boundary: production gives ``jobtrend sql`` its own
  least-privilege login (``JOBTREND_SQL_DATABASE_URL``, see docs/querying.md).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable

from sqlalchemy import text

from jobtrend.db import open_engine

READ_STATEMENTS = ("select", "with", "explain", "show", "values", "table", "pragma")
READER_ROLE = "pg_read_all_data"
PARAM_TYPES = ("str", "int", "float", "date")


class WriteRefused(Exception):
    """The statement is not a query, or tried to leave the read-only sandbox; `jobtrend sql` only reads."""


class ParameterError(ValueError):
    """A ``-p NAME=VALUE`` that is malformed, missing, unused or of the wrong type."""


_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)


def check_read_statement(query: str) -> None:
    """Refuse statements that do not start like a query (a first guard; the connection is read-only anyway)."""
    words = _LEADING_COMMENTS.sub("", query).lstrip(" \t\r\n(").split(None, 1)
    first = words[0].lower().rstrip(";") if words else ""
    if first not in READ_STATEMENTS:
        raise WriteRefused(f"refused: `jobtrend sql` is read-only and runs only queries "
                           f"({', '.join(READ_STATEMENTS)}), not {first.upper() or 'an empty statement'}")


_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_param(item: str) -> tuple[str, object]:
    """``NAME=VALUE`` (a string), or ``NAME:TYPE=VALUE`` with TYPE int, float or date.

    ``date`` takes ``YYYY-MM-DD`` or an ISO week ``YYYY-Www`` (its Monday) and gives the ``YYYY-MM-DD``
    string, which compares with a DATE column the same way on SQLite (dates are stored as that text) and on
    PostgreSQL (an untyped string is cast to the column's type). Without a type the value is passed unchanged.
    """
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise ParameterError(f"expected NAME=VALUE, got {item!r}")
    name, _, kind = name.partition(":")
    kind = kind or "str"
    if not re.fullmatch(r"\w+", name):
        raise ParameterError(f"bad parameter name {name!r}: use letters, digits and _")
    if kind not in PARAM_TYPES:
        raise ParameterError(f"unknown type {kind!r} for {name}: use one of {', '.join(PARAM_TYPES)}")
    try:
        if kind == "int":
            return name, int(value)
        if kind == "float":
            return name, float(value)
        if kind == "date":
            return name, iso_date(value)
    except ValueError as exc:
        raise ParameterError(f"{name}: {exc}") from None
    return name, value


def iso_date(value: str) -> str:
    """``YYYY-MM-DD`` for a date, or for the Monday of an ISO week ``YYYY-Www``."""
    week = _ISO_WEEK.match(value)
    if week:
        try:
            return dt.date.fromisocalendar(int(week[1]), int(week[2]), 1).isoformat()
        except ValueError:
            raise ValueError(f"no ISO week {value!r}") from None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"expected YYYY-MM-DD or YYYY-Www, got {value!r}") from None


def clean_query(query: str) -> str:
    """The query without surrounding blanks and one trailing semicolon (as a .sql file usually ends)."""
    query = query.strip()
    return query[:-1].rstrip() if query.endswith(";") else query


def bind_params(query: str, params: dict) -> dict:
    """The parameters the query names, checked: every ``:name`` given, no ``-p`` the query does not use."""
    wanted = set(text(query).compile().params)
    missing = sorted(wanted - params.keys())
    if missing:
        raise ParameterError(f"missing parameter(s): {', '.join(missing)} (pass -p NAME=VALUE)")
    unused = sorted(params.keys() - wanted)
    if unused:
        raise ParameterError(f"parameter(s) not used by the query: {', '.join(unused)}")
    return dict(params)


def run_read_only(url: str, query: str, params: dict, limit: int, *, check: bool = True,
                  warn: Callable[[str], None] | None = None) -> tuple[list[str], list[tuple], bool]:
    """Run one query on a connection that cannot write; return columns, up to ``limit`` rows, and whether
    rows were cut. ``check=False`` skips the keyword check (tests use it to prove the connection holds alone);
    ``warn`` receives a warning when a PostgreSQL login has more rights than reading needs."""
    query = clean_query(query)
    if check:
        check_read_statement(query)
    bound = bind_params(query, params)
    with open_engine(url, read_only=True) as engine, engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            columns, rows = _fetch_postgres(conn, query, bound, limit + 1, warn)
        else:
            columns, rows = _fetch_sqlite(conn, query, bound, limit + 1)
        conn.rollback()
    return columns, rows[:limit], len(rows) > limit


# SQLite authorizer: reading only. UPDATE of sqlite_master is how SQLite declares an eponymous virtual table
# (json_each, pragma_table_info) to itself; the file is opened read-only and query_only, so it writes nothing.
_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}
_PRAGMAS_WITH_ARGUMENT = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
                          "foreign_key_list"}
_REFUSED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"}


def sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None):
    """Allow reading and read-only pragmas; deny ATTACH/DETACH (and so VACUUM INTO), writes and extensions."""
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _REFUSED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        reading = arg2 is None or (arg1 or "").lower() in _PRAGMAS_WITH_ARGUMENT
        return sqlite3.SQLITE_OK if reading else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _fetch_sqlite(conn, query: str, params: dict, count: int) -> tuple[list[str], list[tuple]]:
    raw = conn.connection.driver_connection
    raw.set_authorizer(sqlite_authorizer)
    try:
        result = conn.execute(text(query), params)
        columns = list(result.keys()) if result.returns_rows else []
        return columns, ([tuple(r) for r in result.fetchmany(count)] if columns else [])
    finally:
        raw.set_authorizer(None)


_PRIVILEGE_CHECK = """
select r.rolsuper
       or pg_has_role(current_user, 'pg_read_server_files', 'member')
       or pg_has_role(current_user, 'pg_write_server_files', 'member')
       or pg_has_role(current_user, 'pg_execute_server_program', 'member'),
       exists (select 1 from pg_roles where rolname = 'pg_read_all_data')
from pg_roles r where r.rolname = current_user
"""


def _fetch_postgres(conn, query: str, params: dict, count: int,
                    warn: Callable[[str], None] | None) -> tuple[list[str], list[tuple]]:
    compiled = text(query).compile(dialect=conn.dialect)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(_PRIVILEGE_CHECK)
        privileged, has_reader = cursor.fetchone()
        guarded = bool(privileged and has_reader)
        if privileged and warn:
            warn("warning: this PostgreSQL login may read or write server files; "
                 + (f"the query runs as {READER_ROLE}, " if guarded else "")
                 + "give `jobtrend sql` a least-privilege login (JOBTREND_SQL_DATABASE_URL, docs/querying.md)")
        if guarded:
            cursor.execute(f"SET LOCAL ROLE {READER_ROLE}")
        cursor.execute(str(compiled), params, prepare=True)
        if cursor.description is None:
            columns, rows = [], []
        else:
            columns, rows = [d.name for d in cursor.description], [tuple(r) for r in cursor.fetchmany(count)]
        if guarded:
            cursor.execute("select current_user")
            if cursor.fetchone()[0] != READER_ROLE:
                raise WriteRefused(f"refused: the query left the {READER_ROLE} role (set_config('role', ...)); "
                                   "its rows are discarded")
        return columns, rows
    finally:
        cursor.close()
