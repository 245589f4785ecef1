"""Locks held per database, released by the server or the kernel when their process dies (even by ``kill -9``).

- :class:`SchedulerLock`: one scheduler per database.
- :class:`JobLock`: one run of a job at a time per database, whether the scheduler or ``jobtrend scheduler
  run-job`` starts it (two crawls at once would double the request rate to every host).

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection kept open while the lock is held.
SQLite: ``fcntl.flock`` on a file in a folder next to the database file (``.<file>.locks/<name>.lock``), which
holds the owner's pid and host for the message. An in-memory or URI-named SQLite database has no lock (a warning
says so).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from jobtrend.db import make_engine

logger = logging.getLogger(__name__)

LOCK_KEY = 0x6A6F62747265_6E64  # "jobtrend" in ASCII: the scheduler's PostgreSQL advisory lock key


class Locked(RuntimeError):
    """The lock is held by another process."""


class SchedulerLocked(Locked):
    """Another scheduler holds the lock of this database."""


class JobLocked(Locked):
    """A run of this job is going on elsewhere against this database."""


def advisory_key(name: str) -> int:
    """A PostgreSQL advisory lock key (a signed bigint) for the lock called ``name``."""
    return int.from_bytes(hashlib.sha256(f"jobtrend:{name}".encode()).digest()[:8], "big", signed=True)


class DatabaseLock:
    """A named lock of one database; :meth:`acquire` raises ``error`` (a :class:`Locked`) when it is held."""

    error: type[Locked] = Locked
    warn_without_lock = True  # log a warning when the database has no lock file (in-memory or URI SQLite)

    def __init__(self, database_url: str, name: str, key: int | None = None):
        self.url = make_url(database_url)
        self.backend = self.url.get_backend_name()
        self.name = name
        self.key = advisory_key(name) if key is None else key
        self._fd: int | None = None
        self._conn = None
        self._engine: Engine | None = None
        self._checking = threading.Lock()  # verify() may be called from two job threads at once

    def message(self, where: str) -> str:
        return f"the {self.name} lock of this database is held ({where})"

    @property
    def held(self) -> bool:
        return self._fd is not None or self._conn is not None

    @property
    def path(self) -> Path | None:
        """SQLite: the lock file, in one hidden folder next to the database file (``.<file>.locks/``), so the
        locks of every job do not clutter the data folder. Lock files are never deleted: unlinking a file another
        process has open would let two processes each lock a different file of the same name."""
        database = self.url.database or ""
        if self.backend != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).resolve().with_name(f".{Path(database).name}.locks") / f"{self.name}.lock"

    def acquire(self) -> None:
        if self.held:
            return
        if self.backend == "postgresql":
            self._acquire_postgres()
        elif self.path is not None:
            self._acquire_file(self.path)
        else:
            log = logger.warning if self.warn_without_lock else logger.debug
            log("no %s lock for %s: make sure only one runs against it", self.name,
                self.url.render_as_string(hide_password=True))

    def _acquire_postgres(self) -> None:
        engine = make_engine(self.url.render_as_string(hide_password=False))
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        if not got:
            conn.close()
            engine.dispose()
            raise self.error(self.message(f"PostgreSQL advisory lock {self.key} on database "
                                          f"{self.url.database!r} is held by another session"))
        self._conn, self._engine = conn, engine

    def verify(self) -> str:
        """Whether the lock is still ours: ``"held"``, ``"lost"`` (another session holds it now) or
        ``"unreachable"`` (the database cannot be reached to tell).

        A PostgreSQL advisory lock lives as long as its connection: a server restart, a network cut or an idle
        timeout ends it silently, and another scheduler may then take it. When the connection no longer holds
        the lock, it is taken again on a new connection if it is free. A file lock cannot be lost while the
        process lives."""
        if self.backend != "postgresql" or self._conn is None:
            return "held"
        with self._checking:
            try:
                if self._conn.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                                          "AND pid = pg_backend_pid() AND granted)")):
                    return "held"
            except Exception as exc:  # the connection is gone, and the lock with it
                logger.warning("the connection holding the PostgreSQL advisory lock %s is gone (%s: %s); "
                               "taking the lock again", self.key, type(exc).__name__, str(exc).strip()[:200])
            self._close_connection()
            try:
                self._acquire_postgres()
            except Locked:
                return "lost"
            except Exception:
                logger.exception("cannot reach the database to take the %s lock again", self.name)
                return "unreachable"
            logger.warning("the %s lock is held again", self.name)
            return "held"

    def _close_connection(self) -> None:
        conn, engine, self._conn, self._engine = self._conn, self._engine, None, None
        with contextlib.suppress(Exception):  # already broken
            conn.close()
        engine.dispose()

    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise self.error(self.message(f"{path} is locked by {holder}")) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (a no-op when not held). The SQLite lock file stays: only the flock matters."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except Exception:  # the connection is gone, and the lock with it
                logger.warning("could not unlock the PostgreSQL advisory lock; closing its connection")
            finally:
                self._close_connection()
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class SchedulerLock(DatabaseLock):
    """The lock that keeps a second scheduler off a database (``<file>.scheduler.lock``, key :data:`LOCK_KEY`)."""

    error = SchedulerLocked

    def __init__(self, database_url: str):
        super().__init__(database_url, "scheduler", LOCK_KEY)

    def message(self, where: str) -> str:
        return f"another jobtrend scheduler is running against this database ({where}); stop it first"


class JobLock(DatabaseLock):
    """The lock held while job ``job`` runs (``<file>.job-<job>.lock``)."""

    error = JobLocked
    warn_without_lock = False  # taken before every run: the scheduler lock's warning at start says it once

    def __init__(self, database_url: str, job: str):
        super().__init__(database_url, f"job-{job}")
        self.job = job

    def message(self, where: str) -> str:
        return (f"job {self.job} is already running against this database ({where}); `jobtrend scheduler "
                f"status` shows it")
