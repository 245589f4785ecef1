"""Database access: engines (read-write and read-only), migrations, and syncing config into tables.

SQLite runs in WAL mode with foreign keys on and a busy timeout; PostgreSQL gets a lock timeout of the same
length. Nothing here assumes one database or the other except where a dialect demands it (read-only
connections, insert-or-ignore).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, Table, bindparam, create_engine, event, inspect, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from jobtrend.config import REPO_ROOT, FrameworkConfig, SourceConfig
from jobtrend.messages import error_message
from jobtrend.models import Framework, Source

ALEMBIC_DIR = REPO_ROOT / "alembic"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL's counterpart: a statement waiting this long for a lock (a migration's ALTER behind a stuck
# transaction, two writers on one row) fails with "canceling statement due to lock timeout" instead of hanging
POSTGRES_LOCK_TIMEOUT_MS = 30_000


# Set by a read-only command (`jobtrend sql`, `status`, `report --stored`, ...) for as long as it runs
# (:func:`read_only_engines`): every engine made meanwhile is read-only, whichever use case makes it.
READ_ONLY: ContextVar[bool] = ContextVar("jobtrend_read_only_engines", default=False)


@contextmanager
def read_only_engines() -> Iterator[None]:
    """``with read_only_engines():`` every engine :func:`make_engine` makes inside the block is read-only, so a
    command that only reads works on a database it cannot write (a snapshot on a read-only mount)."""
    token = READ_ONLY.set(True)
    try:
        yield
    finally:
        READ_ONLY.reset(token)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be opened as configured: the SQLite file's folder does not exist (`jobtrend init`
    creates it; other commands never do), or the URL's driver is not installed."""


class DatabaseReadOnly(RuntimeError):
    """A command that writes met a database it cannot write (a read-only file or folder)."""


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """Create an engine for ``url``; with ``read_only`` (or inside :func:`read_only_engines`) the connection itself
    refuses writes. A SQLite file whose folder does not exist is :class:`DatabaseUnavailable` (only :func:`migrate`,
    that is `jobtrend init`, creates the folder); a missing file is created by a writer, never by a reader."""
    parsed = make_url(url)
    read_only = read_only or READ_ONLY.get()
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, read_only)
    connect_args = {}
    if parsed.get_backend_name() == "postgresql":
        options = [parsed.query.get("options"), f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        connect_args["options"] = " ".join(o for o in options if o)  # after any the URL sets, so ours win
        parsed = parsed.difference_update_query(["options"])
    try:
        return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    except ImportError as exc:  # postgresql+psycopg2://, say, without psycopg2
        raise DatabaseUnavailable(f"no driver for {parsed.drivername}:// ({exc.name or exc} is not installed): use "
                              "postgresql+psycopg:// with `pip install -e '.[postgres]'`") from None


@contextmanager
def open_engine(url: str, *, read_only: bool = False) -> Iterator[Engine]:
    """``with open_engine(url) as engine``: an engine (:func:`make_engine`) disposed when the block ends, so a
    use case opens and closes its own connections."""
    engine = make_engine(url, read_only=read_only)
    try:
        yield engine
    finally:
        engine.dispose()


def _sqlite_engine(parsed, read_only: bool) -> Engine:
    database = parsed.database or ""
    on_disk = bool(database) and database != ":memory:" and not database.startswith("file:")
    if on_disk and not Path(database).parent.is_dir():
        raise DatabaseUnavailable(f"no folder {Path(database).parent} for the SQLite database {Path(database).name}: "
                              "check the database URL, or run `jobtrend init` to create it")
    if read_only:
        if not on_disk or not Path(database).exists():
            raise FileNotFoundError(f"no SQLite database at {database or ':memory:'}; run `jobtrend init` first")
        engine = create_engine("sqlite://", creator=_ro_creator(sqlite_read_only_uri(Path(database))))
    else:
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cur.execute("PRAGMA query_only=ON")
        elif database and database != ":memory:":
            _set_wal(cur, database)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


def _set_wal(cursor, database: str) -> None:
    """Put the database in WAL mode; a file or folder that cannot be written is :class:`DatabaseReadOnly`."""
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        if not is_read_only_error(exc):
            raise
        raise DatabaseReadOnly(read_only_message(database)) from None


# SQLite's answers to a write it cannot make: the file is read-only, or its folder is (no -wal/-shm can be made)
READ_ONLY_ERRORS = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


def is_read_only_error(exc: BaseException) -> bool:
    """Whether a SQLite error is a write refused because the file or its folder is read-only."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF in READ_ONLY_ERRORS) or "readonly database" in str(exc)


def read_only_message(database: str) -> str:
    """The one line for a command that must write a SQLite database it cannot."""
    path = Path(database)
    what = "its folder" if path.exists() and not folder_writable(path) else "the file"
    return (f"cannot write the database {path}: {what} is read-only; commands that only read (sql, status, "
            "sources, browse, report --stored, trends, outbox, classifier drift) still work")


def require_writable(database_url: str) -> None:
    """Fail early, in one line (:class:`DatabaseReadOnly`), when a SQLite database or its folder cannot be
    written: before a crawl takes its lock or sends a request."""
    if not _sqlite_file_writable(database_url):
        raise DatabaseReadOnly(read_only_message(make_url(database_url).database))


def _sqlite_file_writable(database_url: str) -> bool:
    """False when ``database_url`` is a SQLite file that exists and that, or whose folder, cannot be written;
    True otherwise (another database, an in-memory or missing file)."""
    parsed = make_url(database_url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return True
    path = Path(database)
    return not path.exists() or (os.access(path, os.W_OK) and folder_writable(path))


def database_writable(database_url: str, tables: Sequence[str]) -> bool:
    """Whether this command may write ``tables`` of ``database_url``, asked before it opens the database: not
    inside :func:`read_only_engines`; SQLite: the file and its folder can be written (else a reader opens it with
    :func:`sqlite_read_only_uri`); PostgreSQL: the session is not read-only (a standby, a login with
    ``default_transaction_read_only``) and the login may insert, update and delete in each of ``tables`` (not a
    login granted SELECT only)."""
    if READ_ONLY.get() or not _sqlite_file_writable(database_url):
        return False
    if make_url(database_url).get_backend_name() != "postgresql":
        return True
    with open_engine(database_url) as engine, engine.connect() as conn:
        if conn.scalar(text("select current_setting('transaction_read_only')")) == "on":
            return False
        return all(conn.scalar(text("select has_table_privilege(:table, :privilege)"),
                               {"table": table, "privilege": privilege})
                   for table in tables for privilege in ("INSERT", "UPDATE", "DELETE"))


def folder_writable(path: Path) -> bool:
    """Whether files can be created next to ``path`` (SQLite's -wal and -shm in WAL mode)."""
    return os.access(path.parent, os.W_OK | os.X_OK)


def sqlite_read_only_uri(path: Path) -> str:
    """The URI a reader opens ``path`` with: ``mode=ro``, or ``immutable=1`` where its folder is not writable.

    In WAL mode even a reader needs the -shm file beside the database, which a read-only folder (a snapshot on a
    read-only mount) cannot hold; there nothing writes the file either, so it is opened as immutable: no locks, no
    -shm. A -wal file left beside it is not read then (SQLite reads the main file only): checkpoint a database
    before making its folder read-only (closing the last connection does it).
    """
    resolved = path.resolve()
    flag = "mode=ro" if folder_writable(resolved) else "immutable=1"
    return f"file:{quote(str(resolved))}?{flag}"


def _ro_creator(uri: str):
    def connect():
        return sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

    return connect


class SchemaMissing(RuntimeError):
    """The database has not been migrated: `jobtrend init` must run first."""


def require_schema(database_url: str) -> None:
    """Fail early, with the fix in the message, when the database has not been migrated. Read-only: a SQLite file
    that does not exist is not created (:class:`SchemaMissing`), so no empty file is left behind."""
    try:
        with open_engine(database_url, read_only=True) as engine:
            if not inspect(engine).has_table("postings"):
                raise SchemaMissing(f"database {engine.url.render_as_string(hide_password=True)} has no jobtrend "
                                    "tables: run `jobtrend init` first")
    except FileNotFoundError as exc:
        raise SchemaMissing(str(exc)) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str):
    """An Alembic Config pointing at the repository's migrations and the given database."""
    from alembic.config import Config as AlembicConfig  # here: Alembic is ~0.3 s of imports every command would pay

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (creating it when new)."""
    from alembic import command  # here: ~0.3 s of imports, needed only by init and migrations

    create_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def create_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file (`jobtrend init` does; no other command creates it)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(f"cannot create the folder {Path(database).parent} for the SQLite database: "
                                  f"{exc.strerror or exc}") from None


def insert_ignoring_conflicts(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` into ``table``, skipping any that clash with a unique constraint."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        dialect_insert = postgresql_insert
    elif dialect == "sqlite":
        dialect_insert = sqlite_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database dialect {dialect}")
    session.execute(dialect_insert(table).on_conflict_do_nothing(), list(rows))


def sync_sources(session: Session, sources: Iterable[SourceConfig]) -> dict[tuple[str, str], int]:
    """Make the ``sources`` table hold every configured source; return ids by (kind, key).

    Sources removed from the file are kept (their postings stay queryable) but marked disabled. Set-based, for a
    registry of thousands of boards: one insert of the new sources, one batched update of those whose company or
    enabled flag changed, one read of the ids.
    """
    configured = {(s.kind, s.key): s for s in sources}
    table = Source.__table__
    existing = {(kind, key): (row_id, company, enabled) for row_id, kind, key, company, enabled in session.execute(
        select(table.c.id, table.c.kind, table.c.key, table.c.company, table.c.enabled))}
    insert_ignoring_conflicts(session, table, [
        {"kind": cfg.kind, "key": cfg.key, "company": cfg.company, "enabled": cfg.enabled}
        for ident, cfg in configured.items() if ident not in existing])
    changes = []
    for ident, (row_id, company, enabled) in existing.items():
        cfg = configured.get(ident)
        wanted = (cfg.company or company, cfg.enabled) if cfg else (company, False)
        if wanted != (company, enabled):
            changes.append({"row_id": row_id, "new_company": wanted[0], "new_enabled": wanted[1]})
    if changes:
        session.execute(update(table).where(table.c.id == bindparam("row_id")).values(
            company=bindparam("new_company"), enabled=bindparam("new_enabled")), changes)
    session.expire_all()  # Source objects loaded before see the new values
    return {(kind, key): row_id for row_id, kind, key in session.execute(select(table.c.id, table.c.kind,
                                                                                  table.c.key))}


def ensure_source(session: Session, kind: str, key: str, company: str | None = None) -> int:
    """Return the id of source (kind, key), creating it if a crawl names a board that is not configured."""
    return ensure_sources(session, [(kind, key, company)])[0]


def ensure_sources(session: Session, sources: Sequence[tuple[str, str, str | None]]) -> list[int]:
    """The ids of ``sources`` ((kind, key, company) triples), in their order, creating the ones not stored (a crawl
    naming a board that is not configured). Set-based, for a crawl of thousands of boards: one read of the
    stored sources of their kinds, one insert of the missing ones and one read of those."""
    wanted = [(kind, key) for kind, key, _ in sources]
    if not wanted:
        return []
    kinds = sorted({kind for kind, _ in wanted})
    query = select(Source.kind, Source.key, Source.id).where(Source.kind.in_(kinds))
    if len(wanted) == 1:
        query = query.where(Source.key == wanted[0][1])
    wanted_set = set(wanted)

    def stored() -> dict[tuple[str, str], int]:
        return {(kind, key): id_ for kind, key, id_ in session.execute(query) if (kind, key) in wanted_set}

    ids = stored()
    missing = {(kind, key): company for kind, key, company in sources if (kind, key) not in ids}
    if missing:
        rows = [{"kind": kind, "key": key, "company": company, "enabled": True}
                for (kind, key), company in missing.items()]
        insert_ignoring_conflicts(session, Source.__table__, rows)
        ids = stored()
    return [ids[pair] for pair in wanted]


def sync_frameworks(session: Session, frameworks: Iterable[FrameworkConfig]) -> dict[str, int]:
    """Make the ``frameworks`` table hold every taxonomy entry; return ids by slug. Rows are never deleted."""
    existing = {f.slug: f for f in session.scalars(select(Framework))}
    for entry in frameworks:
        row = existing.get(entry.slug)
        if row is None:
            session.add(Framework(slug=entry.slug, name=entry.name, category=entry.category))
        else:
            row.name, row.category = entry.name, entry.category
    session.flush()
    return {f.slug: f.id for f in session.scalars(select(Framework))}


DISK_FULL_MESSAGES = ("database or disk is full", "could not extend file", "no space left on device")
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it wraps) is a write refused for lack of space: SQLite's SQLITE_FULL ("database or
    disk is full"), PostgreSQL's SQLSTATE 53100 ("could not extend file ...: No space left on device"), or an
    OSError ENOSPC."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if getattr(exc, "sqlstate", None) == POSTGRES_DISK_FULL:
            return True
        if any(text in str(exc).lower() for text in DISK_FULL_MESSAGES):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


def disk_full_message(exc: BaseException) -> str:
    """The database's own words for a full disk, on one line, without SQLAlchemy's statement and parameters."""
    orig = getattr(exc, "orig", None) or exc
    return error_message(orig)
