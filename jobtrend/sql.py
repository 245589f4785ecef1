"""Read-only SQL for analysts: one query, bounded in time and rows, on a connection that cannot write, attach or
reach server files.

The guarantees do not rest on reading the query's words (that check, :func:`check_read_statement`, is only a
first, friendlier refusal); they rest on the connection and the login:

- **SQLite**: the file is opened with ``mode=ro`` and ``PRAGMA query_only``, and an authorizer
  (``sqlite3.Connection.set_authorizer``) allows only reading: no ATTACH (so no ``VACUUM INTO`` and no new
  file), no PRAGMA that sets a value, no ``load_extension``. sqlite3 runs one statement per call.
- **PostgreSQL**: the session is ``default_transaction_read_only`` and the statement goes through the extended
  protocol (one statement, no ``...; COMMIT; ...``); the transaction is rolled back. A login that could reach
  server files or other sessions (a superuser, CREATEROLE, or a member of pg_read_server_files,
  pg_write_server_files, pg_execute_server_program or pg_signal_backend) is refused before the query is sent
  (:class:`LoginRefused`), unless ``allow_superuser`` (unsafe, documented as such): no check of the query can
  hold against such a login. docs/querying.md gives the grants of the least-privilege login to use instead.

Bounds: the query stops after ``timeout`` seconds (PostgreSQL ``statement_timeout``; SQLite a progress handler
that interrupts it), SIGINT or SIGTERM while it runs cancels it in the database (a PostgreSQL cancel request;
the SQLite interrupt), and at most ``limit + 1`` rows are ever fetched (a server-side cursor on PostgreSQL; SQLite
steps row by row), so memory is bounded by the limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text

from jobtrend.db import open_engine

log = logging.getLogger(__name__)

READ_STATEMENTS = ("select", "with", "explain", "show", "values", "table", "pragma")
CURSOR_STATEMENTS = ("select", "with", "values", "table")  # what a PostgreSQL server-side cursor can run
READER_ROLE = "pg_read_all_data"
PARAM_TYPES = ("str", "int", "float", "date")
DEFAULT_TIMEOUT = 30  # seconds
SERVER_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend")
PROGRESS_STEPS = 10_000  # SQLite virtual-machine steps between two looks at the clock


class WriteRefused(Exception):
    """The statement is not a query, or tried to leave the read-only sandbox; `jobtrend sql` only reads."""


class ParameterError(ValueError):
    """A ``-p NAME=VALUE`` that is malformed, missing, unused or of the wrong type."""


class LoginRefused(Exception):
    """The PostgreSQL login could reach server files or other sessions: `jobtrend sql` does not run as it."""


class QueryStopped(Exception):
    """The query ran past its timeout, or a signal (``signum``: SIGINT, SIGTERM) cancelled it."""

    def __init__(self, message: str, signum: int | None = None):
        super().__init__(message)
        self.signum = signum


# The first keywords of SQLite's and PostgreSQL's other statements: refused as writes (or session changes); any
# other first word is a syntax error ("selec ...").
WRITE_STATEMENTS = ("abort", "alter", "analyze", "attach", "begin", "call", "checkpoint", "cluster", "comment",
                    "commit", "copy", "create", "deallocate", "declare", "delete", "detach", "discard", "do", "drop",
                    "end", "execute", "fetch", "grant", "import", "insert", "listen", "load", "lock", "merge", "move",
                    "notify", "prepare", "reassign", "refresh", "reindex", "release", "replace", "reset", "revoke",
                    "rollback", "savepoint", "security", "set", "start", "truncate", "unlisten", "update", "upsert",
                    "vacuum")
_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)


def first_word(query: str) -> str:
    """The statement's first keyword, lower case, after comments and opening parentheses."""
    words = _LEADING_COMMENTS.sub("", query).lstrip(" \t\r\n(").split(None, 1)
    return words[0].lower().rstrip(";") if words else ""


def check_read_statement(query: str) -> None:
    """Refuse statements that do not start like a query (a first guard; the connection is read-only anyway)."""
    first = first_word(query)
    if first and first not in READ_STATEMENTS and first not in WRITE_STATEMENTS:
        raise WriteRefused(f"syntax error: {first.upper()!r} is not an SQL statement; `jobtrend sql` runs queries "
                           f"starting with {', '.join(READ_STATEMENTS)}")
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
                  timeout: float = DEFAULT_TIMEOUT, allow_superuser: bool = False,
                  warn: Callable[[str], None] | None = None) -> tuple[list[str], list[tuple], bool]:
    """Run one query on a connection that cannot write; return columns, up to ``limit`` rows, and whether
    rows were cut. The query stops after ``timeout`` seconds, or at SIGINT/SIGTERM (:class:`QueryStopped`).

    ``check=False`` skips the keyword check (tests use it to prove the connection holds alone). A PostgreSQL login
    with rights beyond reading raises :class:`LoginRefused` unless ``allow_superuser``; ``warn`` receives a
    warning when the login reads more than it needs (``pg_authid``) or was let through by ``allow_superuser``."""
    query = clean_query(query)
    if check:
        check_read_statement(query)
    bound = bind_params(query, params)
    stop = _Stop(timeout)
    try:
        with stop.on_signals(), open_engine(url, read_only=True) as engine, engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                columns, rows = _fetch_postgres(conn, query, bound, limit + 1, stop, allow_superuser, warn)
            else:
                columns, rows = _fetch_sqlite(conn, query, bound, limit + 1, stop)
            conn.rollback()
    except (LoginRefused, WriteRefused):
        raise
    except Exception as exc:
        stopped = stop.reason(exc)
        if stopped is None:
            raise
        raise stopped from None
    if stop.signum is not None:  # a signal after the last row: the user still asked to stop
        raise stop.reason(None)
    return columns, rows[:limit], len(rows) > limit


class _Stop:
    """When one query must stop: its deadline, and the signal (SIGINT, SIGTERM) received while it ran, which
    also calls ``cancel`` (PostgreSQL: a cancel request to the server) when set."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.signum: int | None = None
        self.cancel: Callable[[], object] | None = None

    def _received(self, signum: int, _frame) -> None:
        self.signum = signum
        if self.cancel is not None:
            self.cancel()

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        """Catch SIGINT and SIGTERM while the query runs (signals can only be caught in the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._received) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, signal.SIG_DFL if handler is None else handler)

    def started(self) -> None:
        """Called just before the query is sent: a signal received until now stops it before it starts."""
        if self.signum is not None:
            raise self.reason(None)
        log.info("query running (timeout %g s; Ctrl-C cancels it)", self.timeout)

    def sqlite_should_interrupt(self) -> bool:
        """SQLite's progress handler: a true value interrupts the statement."""
        return self.signum is not None or time.monotonic() > self.deadline

    def reason(self, exc: BaseException | None) -> QueryStopped | None:
        """Why the query stopped, when ``exc`` (None: no error) comes from this timeout or a signal."""
        if self.signum is not None:
            return QueryStopped(f"query cancelled ({signal.Signals(self.signum).name})", self.signum)
        orig = getattr(exc, "orig", None) or exc
        interrupted = getattr(orig, "sqlstate", None) == "57014" or (  # PostgreSQL's query_canceled
            isinstance(orig, sqlite3.OperationalError) and "interrupt" in str(orig))
        if interrupted and time.monotonic() >= self.deadline:  # not someone else's pg_cancel_backend
            return QueryStopped(f"query stopped after {self.timeout:g} s (--timeout)")
        return None


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


def _fetch_sqlite(conn, query: str, params: dict, count: int, stop: _Stop) -> tuple[list[str], list[tuple]]:
    raw = conn.connection.driver_connection
    raw.set_authorizer(sqlite_authorizer)
    raw.set_progress_handler(stop.sqlite_should_interrupt, PROGRESS_STEPS)
    try:
        stop.started()
        result = conn.execute(text(query), params)
        columns = list(result.keys()) if result.returns_rows else []
        return columns, ([tuple(r) for r in result.fetchmany(count)] if columns else [])  # steps `count` rows
    finally:
        raw.set_progress_handler(None, 0)
        raw.set_authorizer(None)


# The login's rights beyond reading (a superuser is a member of every role, so it lists them all), whether it
# reads pg_authid, and whether it may become pg_read_all_data (PostgreSQL 14+; a superuser may).
_PRIVILEGE_CHECK = """
select array(select case when r.rolsuper then 'superuser' when r.rolcreaterole then 'CREATEROLE'
                         else r.rolname::text end
             from pg_roles r
             where (r.rolsuper or r.rolcreaterole or r.rolname::text = any(%s))
               and pg_has_role(session_user, r.oid, 'member')),
       has_table_privilege('pg_catalog.pg_authid', 'select'),
       coalesce(pg_has_role(session_user, to_regrole('pg_read_all_data'), 'member'), false)
"""
_LEAST_PRIVILEGE = "use a least-privilege login (JOBTREND_SQL_DATABASE_URL; its grants are in docs/querying.md)"


def _fetch_postgres(conn, query: str, params: dict, count: int, stop: _Stop, allow_superuser: bool,
                    warn: Callable[[str], None] | None) -> tuple[list[str], list[tuple]]:
    driver = conn.connection.driver_connection
    stop.cancel = driver.pgconn.get_cancel().cancel
    warn = warn or (lambda _line: None)
    with driver.cursor() as cursor:
        cursor.execute(_PRIVILEGE_CHECK, [list(SERVER_ROLES)])
        found, reads_authid, has_reader = cursor.fetchone()
        rights = ["superuser"] if "superuser" in found else sorted(set(found))
        if rights and not allow_superuser:
            raise LoginRefused(f"refused: `jobtrend sql` is read-only and does not run as this PostgreSQL login "
                               f"({', '.join(rights)}): a query could read or write server files or end other "
                               f"sessions; {_LEAST_PRIVILEGE}, or pass --allow-superuser (unsafe)")
        if rights:
            warn(f"warning: --allow-superuser: this login ({', '.join(rights)}) can read and write server files "
                 f"and end other sessions, and a query can use it (unsafe); {_LEAST_PRIVILEGE}")
        elif reads_authid:
            warn("warning: this login can read pg_authid (password hashes), more than `jobtrend sql` needs; "
                 f"{_LEAST_PRIVILEGE}, without pg_read_all_data")
        cursor.execute("select set_config('statement_timeout', %s, true)", [str(max(1, round(stop.timeout * 1000)))])
        if driver.info.server_version >= 140000:  # a client killed outright: its query stops within a second
            cursor.execute("select set_config('client_connection_check_interval', '1000', true)")
        if rights and has_reader:  # against accidents only: a query can leave the role
            cursor.execute(f"SET LOCAL ROLE {READER_ROLE}")
    compiled = str(text(query).compile(dialect=conn.dialect))
    stop.started()
    if first_word(query) in CURSOR_STATEMENTS:  # a server-side cursor: the server stops after `count` rows
        with driver.cursor(name="jobtrend_sql") as cursor:
            cursor.execute(compiled, params)
            return [d.name for d in cursor.description], [tuple(r) for r in cursor.fetchmany(count)]
    with driver.cursor() as cursor:  # EXPLAIN, SHOW: a few rows; prepared, so one statement only
        cursor.execute(compiled, params, prepare=True)
        if cursor.description is None:
            return [], []
        return [d.name for d in cursor.description], [tuple(r) for r in cursor.fetchmany(count)]
