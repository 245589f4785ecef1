"""`jobtrend sql` on PostgreSQL holds against the login, not against the query's words (issue: a superuser login
read /etc/passwd and pg_hba.conf, wrote a server file and killed another session through `jobtrend sql`).

- A superuser login, or one with CREATEROLE or a member of pg_read_server_files, pg_write_server_files,
  pg_execute_server_program or pg_signal_backend, is refused before the query is sent, unless
  ``--allow-superuser`` (documented as unsafe) is given.
- The least-privilege login of docs/querying.md, created here from that very block, reads the postings and the
  views (and a table created later, through the default privileges), and cannot read pg_authid, read or write a
  server file (pg_read_file, lo_export, COPY TO and FROM a file), become another role or end another session.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jobtrend.sql import LoginRefused, run_read_only
from tests.jobtrend.test_cli import _add_postings, _count
from tests.security.sql_logins import large_object, pg_login, server_folder

pytestmark = pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)

SERVER_ROLES = ["pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend"]


@pytest.fixture
def reader_url(db_url):
    _add_postings(db_url, 3)
    with pg_login(db_url) as url:
        yield url


@pytest.fixture
def server_dir():
    """A folder the server could write to, so a missing file proves the write was refused."""
    with server_folder() as path:
        yield path


@pytest.fixture
def other_session(db_url):
    """Another session on the server (the admin's own), idle; yields its pid and a function telling if it lives."""
    engine = create_engine(db_url, pool_size=1)
    conn = engine.connect()
    pid = conn.execute(text("select pg_backend_pid()")).scalar()
    conn.commit()
    watcher = create_engine(db_url)

    def alive() -> bool:
        with watcher.connect() as w:
            return bool(w.execute(text("select count(*) from pg_stat_activity where pid = :p"), {"p": pid}).scalar())

    yield pid, alive
    conn.close()
    engine.dispose()
    watcher.dispose()


def test_the_documented_login_reads_postings_and_views_without_a_warning(run, reader_url):
    result = run(["sql", "select count(*) as n from postings", "--format", "csv"], reader_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["n", "3"] and result.stderr == ""
    views = run(["sql", "select count(*) as n from posting_facts", "--format", "csv"], reader_url)
    assert views.exit_code == 0 and views.stdout.splitlines() == ["n", "3"]


def test_the_default_privileges_cover_a_table_created_later(db_url, reader_url):
    admin = create_engine(db_url)
    with admin.begin() as conn:  # as a later migration would, by the login that owns the tables
        conn.execute(text("create table later_table (x integer)"))
        conn.execute(text("insert into later_table values (7)"))
    admin.dispose()
    assert run_read_only(reader_url, "select x from later_table", {}, 10)[1] == [(7,)]


@pytest.mark.parametrize("template", [
    "select rolname, rolpassword from pg_authid",
    "select * from pg_catalog.pg_shadow",
    "select pg_read_file('/etc/passwd')",
    "select pg_read_binary_file('/etc/passwd')",
    "select pg_ls_dir('/')",
    "select lo_export({oid}, '{dir}/lo.bin')",
    "copy postings to '{dir}/f.csv'",
    "copy postings from '/etc/passwd'",
    "copy (select 1) to program 'touch {dir}/p'",
    "select set_config('role', '{admin}', true), pg_read_file('/etc/hostname')",
    "select pg_terminate_backend({pid})",
    "select pg_cancel_backend({pid})",
])
def test_the_documented_login_cannot_leave_its_rows(run, db_url, reader_url, server_dir, other_session, template):
    pid, alive = other_session
    admin = create_engine(db_url)
    with admin.connect() as conn:
        admin_name = conn.execute(text("select current_user")).scalar()
    admin.dispose()
    statement = template.format(oid=large_object(db_url), dir=server_dir, pid=pid, admin=admin_name)
    with pytest.raises(Exception) as refused:  # the connection refuses, without the keyword check
        run_read_only(reader_url, statement, {}, 10, check=False)
    assert "permission denied" in str(refused.value).lower() or "must be" in str(refused.value).lower() \
        or "read-only" in str(refused.value).lower(), refused.value
    result = run(["sql", statement], reader_url)
    assert result.exit_code == 1 and "Error:" in result.output
    assert "root:" not in result.output and "secret" not in result.output
    assert list(server_dir.iterdir()) == []
    assert alive()
    assert _count(db_url) == 3


def test_a_superuser_login_is_refused_before_the_query_runs(run, db_url, server_dir, other_session):
    _add_postings(db_url, 3)
    pid, alive = other_session
    oid = large_object(db_url)
    for statement in (f"select lo_export({oid}, '{server_dir}/lo.bin')", f"select pg_terminate_backend({pid})",
                      "select pg_read_file('/etc/passwd')",
                      "select set_config('role', 'none', true), pg_read_file('/etc/passwd')"):
        result = run(["sql", statement], db_url)
        assert result.exit_code == 1, result.output
        assert "refused" in result.output and "superuser" in result.output
        assert "--allow-superuser" in result.output and "JOBTREND_SQL_DATABASE_URL" in result.output
        assert "root:" not in result.output
    assert list(server_dir.iterdir()) == [] and alive()
    with pytest.raises(LoginRefused):
        run_read_only(db_url, "select 1", {}, 10)


def test_allow_superuser_runs_with_a_warning(run, db_url):
    _add_postings(db_url, 3)
    result = run(["sql", "--allow-superuser", "select count(*) as n from postings", "--format", "csv"], db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["n", "3"]
    assert "unsafe" in result.stderr and "least-privilege login" in result.stderr


@pytest.mark.parametrize("granted", [*SERVER_ROLES, "pg_read_all_data"])
def test_a_login_with_server_rights_is_refused_and_pg_read_all_data_is_warned_about(run, db_url, granted):
    _add_postings(db_url, 3)
    with pg_login(db_url, granted) as url:
        result = run(["sql", "select count(*) as n from postings", "--format", "csv"], url)
    if granted in SERVER_ROLES:
        assert result.exit_code == 1 and "refused" in result.output and granted in result.output
    else:  # reads everything, pg_authid included: allowed, with a warning
        assert result.exit_code == 0 and result.stdout.splitlines() == ["n", "3"]
        assert "pg_authid" in result.stderr


def test_a_login_that_creates_roles_is_refused(run, db_url):
    with pg_login(db_url) as url:
        admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"alter role {make_url(url).username} createrole"))
        admin.dispose()
        result = run(["sql", "select 1"], url)
    assert result.exit_code == 1 and "CREATEROLE" in result.output
