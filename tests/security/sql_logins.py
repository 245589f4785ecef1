"""PostgreSQL logins for the `jobtrend sql` tests: the least-privilege login exactly as docs/querying.md grants
it (the ```sql block that creates ``jobtrend_reader``, run as it stands but for the names), a helper to create
and drop one on a test database, :func:`query_login` (the database as `jobtrend sql` should reach it), and what
the attacks need: a folder the server could write to and a large object to export."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

QUERYING_MD = Path(__file__).resolve().parents[2] / "docs" / "querying.md"


def documented_grants() -> str:
    """The SQL block of docs/querying.md that creates the least-privilege login."""
    blocks = re.findall(r"```sql\n(.*?)```", QUERYING_MD.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if "CREATE ROLE jobtrend_reader" in b]
    assert len(found) == 1, "docs/querying.md should have one block creating jobtrend_reader"
    return found[0]


def reader_statements(role: str, database: str, owner: str) -> list[str]:
    """The documented statements for a login named ``role`` on ``database`` whose tables ``owner`` creates."""
    sql = documented_grants()
    sql = re.sub(r"\bjobtrend_reader\b", role, sql)
    sql = re.sub(r"\bDATABASE jobtrend\b", f'DATABASE "{database}"', sql)
    sql = re.sub(r"\bFOR ROLE jobtrend\b", f'FOR ROLE "{owner}"', sql)
    return [s.strip() for s in sql.split(";") if s.strip()]


def login_url(admin_url: str, role: str) -> str:
    """``admin_url`` (the test server trusts local logins) as the login ``role``."""
    return make_url(admin_url).set(username=role, password=None).render_as_string(hide_password=False)


@contextmanager
def pg_login(db_url: str, *extra_grants: str) -> Iterator[str]:
    """A new login with the documented grants on ``db_url``'s database (and ``extra_grants``, each a role it is
    made a member of); yields its URL and drops it afterwards."""
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    role = f"jt_reader_{uuid.uuid4().hex[:8]}"
    parsed = make_url(db_url)
    try:
        with admin.connect() as conn:
            owner = conn.execute(text("select current_user")).scalar()
            for statement in reader_statements(role, parsed.database, owner):
                conn.execute(text(statement))
            for granted in extra_grants:
                conn.execute(text(f"GRANT {granted} TO {role}"))
        yield login_url(db_url, role)
    finally:
        with admin.connect() as conn:
            conn.execute(text("select pg_terminate_backend(pid) from pg_stat_activity where usename = :r"),
                         {"r": role})
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()



@contextmanager
def query_login(db_kind: str, db_url: str) -> Iterator[str]:
    """The test database as `jobtrend sql` should reach it: the file on SQLite, on PostgreSQL the least-privilege
    login docs/querying.md creates (a superuser login is refused)."""
    if db_kind == "sqlite":
        yield db_url
        return
    with pg_login(db_url) as url:
        yield url


@contextmanager
def server_folder() -> Iterator[Path]:
    """A folder the database server could write to (mode 777 under /tmp), so a missing file proves a refusal."""
    path = Path(tempfile.mkdtemp(prefix="jt-sql-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def large_object(url: str) -> int:
    """A new PostgreSQL large object holding ``secret``; its oid (for ``lo_export`` attempts)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        oid = conn.execute(text("select lo_from_bytea(0, 'secret')")).scalar()
    engine.dispose()
    return oid
