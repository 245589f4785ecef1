"""`jobtrend sql`: formats, --file, typed parameters, and the read-only sandbox on SQLite and PostgreSQL.

The security tests (issue 8 §3) try to write, attach or reach server files, both through the CLI and through
:func:`run_read_only` with the keyword check switched off, so they prove the connection refuses on its own.
Each checks that the statement failed, that the data did not change and that no file appeared. On PostgreSQL
they run as the least-privilege login of docs/querying.md (``query_url``), as production does: a superuser login
is refused (tests/security/test_sql_guards.py has the rest of the logins; test_sql_bounds.py the timeout).
"""

import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from jobtrend.db import make_engine
from jobtrend.output import render
from jobtrend.sql import ParameterError, WriteRefused, iso_date, parse_param, run_read_only
from tests.jobtrend.test_cli import _add_postings, _count
from tests.jobtrend.test_config import invoke_cli, write_config
from tests.security.sql_logins import large_object, query_login, server_folder

try:
    from psycopg import Error as PsycopgError
except ImportError:  # pragma: no cover
    PsycopgError = SQLAlchemyError

REFUSALS = (WriteRefused, SQLAlchemyError, PsycopgError, sqlite3.Error)


@pytest.fixture
def run(tmp_path):
    """Invoke the CLI with a temporary config folder and the given database URL."""
    config_dir = write_config(tmp_path / "config")
    return lambda args, database_url=None: invoke_cli(config_dir, args, database_url)


@pytest.fixture
def query_url(db_kind, db_url):
    """SQLite: the test database; PostgreSQL: the least-privilege login of docs/querying.md on it."""
    with query_login(db_kind, db_url) as url:
        yield url


@pytest.fixture
def server_dir():
    with server_folder() as path:
        yield path


def _tables(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(text(
            "select table_name from information_schema.tables where table_schema = 'public'"
            if url.startswith("postgresql") else "select name from sqlite_master"))}
    engine.dispose()
    return names


def _unchanged(url, tables, server_dir):
    assert _count(url) == 3
    assert _tables(url) == tables
    assert list(server_dir.iterdir()) == []


# formats, files and parameters -----------------------------------------------------------------------------


def test_markdown_escapes_pipes_and_keeps_one_line_per_row():
    out = render(["name", "n"], [("a|b\nc", 2), (None, 10)], "markdown").splitlines()
    assert out == ["| name | n |", "| --- | ---: |", "| a\\|b c | 2 |", "|  | 10 |"]


def test_sql_markdown_and_json_formats(run, db_url, query_url):
    _add_postings(db_url, 3)
    md = run(["sql", "select external_id, title from postings order by id", "--format", "markdown"], query_url)
    assert md.exit_code == 0, md.output
    lines = md.stdout.splitlines()
    assert lines[0] == "| external_id | title |" and lines[2] == "| job-0 | ML Engineer 0 |" and len(lines) == 5


def test_sql_reads_the_query_from_a_file(run, db_url, query_url, tmp_path):
    _add_postings(db_url, 3)
    query = tmp_path / "q.sql"
    query.write_text("-- postings by id\nselect external_id\nfrom postings\nwhere external_id <> :skip\n"
                     "order by external_id;\n")
    result = run(["sql", "--file", str(query), "-p", "skip=job-0", "--format", "json"], query_url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"external_id": "job-1"}, {"external_id": "job-2"}]


@pytest.mark.parametrize("args", [["sql"], ["sql", "select 1", "--file", "x.sql"]])
def test_sql_wants_exactly_one_query(run, db_url, args, tmp_path):
    (tmp_path / "x.sql").write_text("select 1")
    result = run([a if a != "x.sql" else str(tmp_path / "x.sql") for a in args], db_url)
    assert result.exit_code == 2 and "exactly one of QUERY or --file" in result.output


def test_iso_week_and_date_parameters():
    assert parse_param("week:date=2026-W47") == ("week", "2026-11-16")
    assert parse_param("day:date=2026-01-05") == ("day", "2026-01-05")
    assert parse_param("week=2026-W47") == ("week", "2026-W47")  # untyped values stay strings
    assert parse_param("n:int=5") == ("n", 5) and parse_param("x:float=0.5") == ("x", 0.5)
    assert iso_date("2020-W53") == "2020-12-28"
    for bad in ("week:date=2026-W60", "n:int=five", "x:bogus=1", "novalue", "bad-name=1"):
        with pytest.raises(ParameterError):
            parse_param(bad)


def test_date_parameter_compares_with_a_date_column_on_both_databases(run, db_url, query_url):
    _add_postings(db_url, 3)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("update postings set posted_week = '2026-11-16' where external_id = 'job-1'"))
    engine.dispose()
    query = "select external_id from postings where posted_week = :week and id >= :min_id limit :n"
    result = run(["sql", query, "-p", "week:date=2026-W47", "-p", "min_id:int=1", "-p", "n:int=5",
                  "--format", "csv"], query_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["external_id", "job-1"]


@pytest.mark.parametrize("args, message", [
    (["select :a"], "missing parameter(s): a"),
    (["select 1", "-p", "a=1"], "not used by the query: a"),
    (["select 1", "-p", "w:date=2026-W99"], "no ISO week"),
])
def test_parameter_mistakes_are_clear(run, db_url, args, message):
    result = run(["sql", *args], db_url)
    assert result.exit_code != 0 and message in result.output


def test_row_limit_cuts_and_says_so_on_stderr_only(run, db_url, query_url):
    _add_postings(db_url, 3)
    result = run(["sql", "select external_id from postings order by id", "--limit", "2", "--format", "csv"],
                 query_url)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["external_id", "job-0", "job-1"]
    assert "first 2 rows shown" in result.stderr
    full = run(["sql", "select external_id from postings", "--limit", "3"], query_url)
    assert "rows shown" not in full.stderr


def test_database_message_and_exit_status(run, query_url):
    result = run(["sql", "select nonsense from postings"], query_url)
    assert result.exit_code == 1 and "query failed:" in result.output and "nonsense" in result.output


# security: SQLite ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("template", [
    "attach database '{dir}/x.db' as x",
    "attach database 'file:{dir}/x.db?mode=rwc' as x",
    "vacuum into '{dir}/y.db'",
    "pragma query_only=0",
    "pragma query_only=0; delete from postings",
    "pragma writable_schema=1",
    "select load_extension('{dir}/evil.so')",
    "pragma journal_mode=delete",
])
def test_sqlite_cannot_write_or_attach_files(run, db_url, server_dir, template):
    _add_postings(db_url, 3)
    tables = _tables(db_url)
    statement = template.format(dir=server_dir)
    result = run(["sql", statement], db_url)
    assert result.exit_code == 1, result.output
    assert "Error:" in result.output
    with pytest.raises(REFUSALS):  # the connection refuses even without the keyword check
        run_read_only(db_url, statement, {}, 10, check=False)
    _unchanged(db_url, tables, server_dir)
    db_path = Path(make_url(db_url).database)
    assert sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)) in (
        [db_path.name], [db_path.name, f"{db_path.name}-shm", f"{db_path.name}-wal"])


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("query", ["pragma table_info(postings)", "select * from pragma_table_info('postings')",
                                   "select value from json_each('[1, 2]')", "pragma query_only",
                                   "explain query plan select * from postings"])
def test_sqlite_sandbox_still_reads_what_analysts_use(db_url, query):
    columns, rows, _cut = run_read_only(db_url, query, {}, 100)
    assert columns and rows


# security: PostgreSQL --------------------------------------------------------------------------------------


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
@pytest.mark.parametrize("template", [
    "copy postings to '{dir}/f.csv'",
    "select lo_export({oid}, '{dir}/lo.bin')",
    "select pg_read_file('/etc/passwd')",
    "select pg_ls_dir('/')",
    "select pg_stat_file('/etc/passwd')",
    "set session characteristics as transaction read write",
    "reset all",
    "set role none",
    "select set_config('role', 'none', true), pg_read_file('/etc/hostname')",
    "select set_config('transaction_read_only', 'off', true)",
])
def test_postgres_cannot_write_files_or_read_server_files(run, db_url, query_url, server_dir, template):
    _add_postings(db_url, 3)
    tables = _tables(db_url)
    statement = template.format(dir=server_dir, oid=large_object(db_url))
    result = run(["sql", statement], query_url)
    assert result.exit_code == 1, result.output
    assert "root:" not in result.output and "Error:" in result.output
    if not statement.startswith(("set ", "reset")):  # a lone SET/RESET is harmless in a rolled-back session
        with pytest.raises(REFUSALS):
            run_read_only(query_url, statement, {}, 10, check=False)
    follow_up = run(["sql", "select count(*) from postings", "--format", "csv"], query_url)
    assert follow_up.stdout.splitlines()[-1] == "3"
    _unchanged(db_url, tables, server_dir)


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_least_privilege_login_reads_everything_and_no_server_file(run, db_url, query_url, server_dir):
    _add_postings(db_url, 3)
    tables = _tables(db_url)
    ok = run(["sql", "--database-url", query_url, "select count(*) from postings", "--format", "csv"])
    assert ok.exit_code == 0 and ok.stdout.splitlines() == ["count", "3"]
    assert "warning" not in ok.stderr  # only a login with more rights than reading is warned about
    for statement in ("select pg_read_file('/etc/passwd')", "select pg_ls_dir('/')",
                      f"select lo_export({large_object(db_url)}, '{server_dir}/lo.bin')",
                      f"copy postings to '{server_dir}/f.csv'", "select rolpassword from pg_authid"):
        with pytest.raises(REFUSALS):
            run_read_only(query_url, statement, {}, 10, check=False)
    # set_config('role') is open to anyone, but a login can only become roles it already belongs to
    _columns, rows, _cut = run_read_only(query_url, "select set_config('role', 'none', false)", {}, 10,
                                         check=False)
    assert rows == [("none",)]
    _unchanged(db_url, tables, server_dir)


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_superuser_login_is_refused_unless_allowed(run, db_url):
    refused = run(["sql", "select 1 as one"], db_url)
    assert refused.exit_code == 1 and "least-privilege login" in refused.output and "superuser" in refused.output
    allowed = run(["sql", "--allow-superuser", "select 1 as one"], db_url)
    assert allowed.exit_code == 0 and "unsafe" in allowed.stderr


@pytest.mark.parametrize(("value", "shown"), [
    (123456.789, "123456.789"), (200000.0, "200000"), (0.123456, "0.1235"), (18.8, "18.8"), (-0.00001, "-1e-05"),
    (1e15, "1000000000000000"), (0.0, "0"), (-0.00004, "-4e-05"),
])
def test_table_numbers_keep_every_digit_before_the_point(value, shown):
    """Numbers in the table format are never in scientific notation (1.235e+05) nor rounded to four digits."""
    assert render(["x"], [(value,)]).splitlines()[-1].strip() == shown
