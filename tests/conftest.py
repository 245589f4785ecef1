"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

PostgreSQL tests need ``JOBTREND_TEST_POSTGRES_URL`` (``make test`` starts a throwaway server and sets it).
Without it they are skipped with a visible reason; under CI (``CI=true``) a missing PostgreSQL is an error,
so a green CI run always means both databases were tested.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from jobtrend.db import make_engine, migrate

TESTS_DIR = Path(__file__).parent
FIXTURES = TESTS_DIR / "fixtures"
PG_ENV = "JOBTREND_TEST_POSTGRES_URL"
_counter = itertools.count()


def postgres_admin_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def require_postgres() -> str:
    """Return the admin URL of the test PostgreSQL, or skip (fail under CI) when there is none."""
    url = postgres_admin_url()
    if url:
        return url
    reason = f"PostgreSQL not available: set {PG_ENV} (make test starts one when initdb is installed)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason + "; under CI a skipped PostgreSQL test is a failure")
    pytest.skip(reason)


def _pg_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def _pg_admin_exec(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file that tests copy instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:  # fold the WAL into the main file so a plain copy is complete
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated PostgreSQL database used as the TEMPLATE of each test's database."""
    admin = postgres_admin_url()
    if not admin:
        yield None
        return
    name = f"jt_template_{uuid.uuid4().hex[:8]}"
    _pg_admin_exec(admin, f'CREATE DATABASE "{name}"')
    migrate(_pg_url(admin, name))
    yield name
    _pg_admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database_url(kind: str, tmp_path: Path, sqlite_template: Path, postgres_template: str | None) -> str:
    """A fresh migrated database of ``kind`` ("sqlite" or "postgresql") for one test."""
    if kind == "sqlite":
        path = tmp_path / f"jobtrend-{next(_counter)}.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    admin = require_postgres()
    name = f"jt_test_{uuid.uuid4().hex[:12]}"
    _pg_admin_exec(admin, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    return _pg_url(admin, name)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = postgres_admin_url()
        if admin:
            _pg_admin_exec(admin, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request) -> str:
    """Parametrises a test over both supported databases."""
    return request.param


@pytest.fixture
def db_url(db_kind, tmp_path, sqlite_template, postgres_template):
    """URL of a fresh, migrated database (SQLite file or PostgreSQL database) for this test."""
    url = new_database_url(db_kind, tmp_path, sqlite_template, postgres_template)
    yield url
    drop_database(url)


@pytest.fixture
def engine(db_url) -> Engine:
    """A read-write engine on the test's database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def empty_db_url(db_kind, tmp_path):
    """URL of a new database with no tables at all, for migration tests."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = require_postgres()
    name = f"jt_empty_{uuid.uuid4().hex[:12]}"
    _pg_admin_exec(admin, f'CREATE DATABASE "{name}"')
    url = _pg_url(admin, name)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def role_model_path(tmp_path_factory) -> Path:
    """The default role model, trained once per session from the bundled corpus (about 6 s)."""
    from analysis.classify import ensure_default_model

    path = tmp_path_factory.mktemp("model") / "roles.npz"
    ensure_default_model(path)
    return path


@pytest.fixture(scope="session")
def role_model(role_model_path):
    from analysis.classifier import RoleModel

    return RoleModel.load(role_model_path)


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory, postgres_template):
    """Build the demo database once per session and kind with ``jobtrend demo --database-url`` (the real pipeline
    on the bundled corpus, in a child process, about 40 s); returns ``get(kind) -> url``. Tests only read it."""
    import subprocess
    import sys

    built: dict[str, str] = {}

    def get(kind: str) -> str:
        if kind not in built:
            if kind == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
            else:
                url = new_database_url(kind, tmp_path_factory.getbasetemp(), Path(), postgres_template)
            command = [str(Path(sys.executable).parent / "jobtrend"), "demo", "--database-url", url]
            done = subprocess.run(command, cwd=TESTS_DIR.parent, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"jobtrend demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            built[kind] = url
        return built[kind]

    yield get
    for url in built.values():
        drop_database(url)


@pytest.fixture
def demo_db_url(db_kind, demo_databases) -> str:
    """URL of the session's demo database of this test's kind (SQLite or PostgreSQL). Read it, never write it."""
    return demo_databases(db_kind)


@pytest.fixture
def not_ci(monkeypatch):
    """As on a developer's terminal: no ``CI`` variable, logging at its default level (WARNING)."""
    monkeypatch.delenv("CI", raising=False)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    yield
    root.setLevel(level)
