"""Database access: engines (read-write and read-only), migrations, and syncing config into tables.

SQLite runs in WAL mode with foreign keys on and a busy timeout; PostgreSQL gets a lock timeout of the same
length. Nothing here assumes one database or the other except where a dialect demands it (read-only
connections, insert-or-ignore).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, Table, create_engine, event, inspect, select
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


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """Create an engine for ``url``; with ``read_only`` the connection itself refuses writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, read_only)
    connect_args = {}
    if parsed.get_backend_name() == "postgresql":
        options = [parsed.query.get("options"), f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        connect_args["options"] = " ".join(o for o in options if o)  # after any the URL sets, so ours win
        parsed = parsed.difference_update_query(["options"])
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


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
    if database and database != ":memory:" and not read_only:  # a reader never creates anything
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    if read_only:
        if not database or database == ":memory:" or not Path(database).exists():
            raise FileNotFoundError(f"no SQLite database at {database or ':memory:'}; run `jobtrend init` first")
        uri = f"file:{Path(database).resolve()}?mode=ro"
        engine = create_engine("sqlite://", creator=_ro_creator(uri))
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
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


def _ro_creator(uri: str):
    def connect():
        return sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

    return connect


class SchemaMissing(RuntimeError):
    """The database has not been migrated: `jobtrend init` must run first."""


def require_schema(database_url: str) -> None:
    """Fail early, with the fix in the message, when the database has not been migrated."""
    with open_engine(database_url) as engine:
        if not inspect(engine).has_table("postings"):
            raise SchemaMissing(f"database {engine.url.render_as_string(hide_password=True)} has no jobtrend "
                                "tables: run `jobtrend init` first")


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

    command.upgrade(alembic_config(url), revision)


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

    Sources removed from the file are kept (their postings stay queryable) but marked disabled.
    """
    configured = {(s.kind, s.key): s for s in sources}
    existing = {(s.kind, s.key): s for s in session.scalars(select(Source))}
    for ident, cfg in configured.items():
        row = existing.get(ident)
        if row is None:
            session.add(Source(kind=cfg.kind, key=cfg.key, company=cfg.company, enabled=cfg.enabled))
        else:
            row.company = cfg.company or row.company
            row.enabled = cfg.enabled
    for ident, row in existing.items():
        if ident not in configured:
            row.enabled = False
    session.flush()
    return {(s.kind, s.key): s.id for s in session.scalars(select(Source))}


def ensure_source(session: Session, kind: str, key: str, company: str | None = None) -> int:
    """Return the id of source (kind, key), creating it if a crawl names a board that is not configured."""
    found = session.scalar(select(Source.id).where(Source.kind == kind, Source.key == key))
    if found is not None:
        return found
    insert_ignoring_conflicts(session, Source.__table__, [{"kind": kind, "key": key, "company": company,
                                                           "enabled": True}])
    return session.scalar(select(Source.id).where(Source.kind == kind, Source.key == key))


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
