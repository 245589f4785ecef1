"""No secret appears in logs, `--help`, command output or the database.

The SMTP password (``JOBTREND_SMTP_PASSWORD``, a unique value per run) goes through the real commands on SQLite and
PostgreSQL: `report --send`, `alerts`, `deliver` and `scheduler run-job deliver` against an aiosmtpd server on
127.0.0.1 that refuses the login, then one that accepts it; every log record (DEBUG), every command's output and
every table is searched for the password and its base64 forms (AUTH LOGIN and AUTH PLAIN).

A database password (``postgresql://user:secret@...``) is PostgreSQL's (a SQLite URL has none): the test server
trusts its socket, so a URL carrying a password connects, and every command's output and logs, the failures of a
database that is missing or not initialised, a crawl in a child process and `jobtrend demo` are searched for it.
`jobtrend status` and `jobtrend scheduler status` are covered; `jobtrend sql` belongs to another test suite.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.engine import make_url

from jobtrend.cli import main
from jobtrend.config import REPO_ROOT
from jobtrend.db import make_engine
from jobtrend.models import Source
from tests.analysis.factories import add_source
from tests.conftest import _pg_admin_exec, require_postgres
from tests.jobtrend.test_config import FRAMEWORKS, SOURCES
from tests.security.helpers import Authenticator, Smtp, dump_tables

SMTP_SECRET = f"smtp-{uuid.uuid4().hex[:16]}-Pw"
DB_SECRET = f"db-{uuid.uuid4().hex[:16]}-Pw"
USER = "bot"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the test server's
RULES = 'kind = "source_health"\nname = "broken"\nstates = ["failing"]\n'


def secret_forms(secret: str, user: str = USER) -> set[str]:
    """The secret, and how SMTP AUTH would carry it: base64 of the password (LOGIN) and of
    ``\\0user\\0password`` (PLAIN), with and without padding."""
    forms = {secret}
    for raw in (secret, f"\0{user}\0{secret}", f"{user}\0{user}\0{secret}"):
        encoded = base64.b64encode(raw.encode()).decode()
        forms |= {encoded, encoded.rstrip("=")}
    return forms


def assert_absent(secret: str, texts: dict[str, str]) -> None:
    forms = secret_forms(secret)
    leaks = {name: form for name, text in texts.items() for form in forms if form in text}
    assert not leaks, f"secret found in: {sorted(leaks)}"


def all_help_texts(env: dict[str, str]) -> dict[str, str]:
    """``--help`` of the group and of every command and subcommand."""
    runner = CliRunner()
    texts = {}

    def walk(command: click.Command, path: list[str]) -> None:
        result = runner.invoke(main, [*path, "--help"], env=env)
        assert result.exit_code == 0, result.output
        texts["help: " + " ".join(path or ["jobtrend"])] = result.output
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(main, [])
    return texts


def log_texts(caplog) -> dict[str, str]:
    """Every record as logged, with its traceback; aiosmtpd's own log (the test server's side) left out."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]
    return {"logs": "\n".join(formatter.format(r) for r in ours)}


def email_config(directory: Path, smtp: Smtp, model: Path) -> Path:
    """A configuration whose [email] logs in as USER on ``smtp``, retrying at once, with one source_health rule."""
    directory.mkdir(parents=True)
    (directory / "jobtrend.toml").write_text(
        f'[classifier]\nmodel = "{model}"\n\n'
        f'[email]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nusername = "{USER}"\n'
        'sender = "jobtrend <bot@example.org>"\nrecipients = ["me@example.org"]\ntimeout = 5\n\n'
        "[notify]\nmax_attempts = 5\nbackoff_seconds = 0.001\nbackoff_max_seconds = 0.001\n")
    (directory / "sources.toml").write_text(SOURCES)
    (directory / "frameworks.toml").write_text(FRAMEWORKS)
    (directory / "alerts.toml").write_text("[[rules]]\n" + RULES)
    return directory


def test_smtp_password_is_in_no_log_output_help_or_table(db_url, tmp_path, monkeypatch, caplog, role_model_path):
    engine = make_engine(db_url)
    source = add_source(engine, "ashby", "broken")
    with engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == source).values(
            health="failing", health_since=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), consecutive_failures=3))
    monkeypatch.setenv("JOBTREND_SMTP_PASSWORD", SMTP_SECRET)
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs: dict[str, str] = {}

    def run(config_dir: Path, *args: str, code: int = 0) -> str:
        env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
        result = runner.invoke(main, ["-vv", *args], env=env)
        outputs[" ".join(args) + f" #{len(outputs)}"] = result.output + repr(result.exception)
        assert result.exit_code == code, result.output
        return result.output

    refusing = Authenticator(USER, "another-password")
    accepting = Authenticator(USER, SMTP_SECRET)
    with Smtp(refusing) as bad, Smtp(accepting) as good:
        wrong = email_config(tmp_path / "refused", bad, role_model_path)
        right = email_config(tmp_path / "accepted", good, role_model_path)
        run(wrong, "report", "--week", "2025-W47", "--send")
        run(wrong, "alerts")
        run(wrong, "deliver", code=1)  # nothing could be sent: the login is refused
        run(wrong, "scheduler", "run-job", "deliver")
        failing = run(wrong, "outbox", "--format", "json")
        assert failing.count("535") == 2, failing  # each message's last error: the refused login
        run(wrong, "status")
        run(wrong, "status", "--format", "json")
        run(right, "scheduler", "run-job", "deliver")
        run(right, "deliver")
        for args in (["outbox"], ["sources"], ["scheduler", "status"], ["status"], ["status", "--format", "json"]):
            run(right, *args)
        env = {"JOBTREND_CONFIG_DIR": str(right), "JOBTREND_DATABASE_URL": db_url}
        helps = all_help_texts(env)
    # the scenario happened: two failed logins per message on the refusing server, both messages sent by the other
    assert refusing.attempts >= 4 and bad.inbox.messages == []
    assert len(good.inbox.messages) == 2 and accepting.attempts >= 1
    tables = dump_tables(engine)
    engine.dispose()
    assert len(tables["outbox"]) == 2 and len(tables["job_runs"]) == 2
    received = {f"mail {i}": m.as_string() for i, m in enumerate(good.inbox.messages)}
    assert_absent(SMTP_SECRET, outputs | helps | log_texts(caplog) | received |
                  {f"table {name}": "\n".join(rows) for name, rows in tables.items()})


# --- the database password (PostgreSQL) -----------------------------------------------------------------------


@pytest.fixture
def pg_url_with_password(tmp_path, postgres_template):
    """(URL of a fresh migrated PostgreSQL database with DB_SECRET as password, the admin URL)."""
    from tests.conftest import new_database_url

    admin = require_postgres()
    url = new_database_url("postgresql", tmp_path, Path(), postgres_template)
    name = make_url(url).database
    yield make_url(url).set(password=DB_SECRET).render_as_string(hide_password=False), admin
    _pg_admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_database_password_is_redacted_in_every_command_and_log(pg_url_with_password, tmp_path, caplog,
                                                                role_model_path):
    url, admin = pg_url_with_password
    assert DB_SECRET in url and make_url(url).password == DB_SECRET
    config_dir = email_config(tmp_path / "config", Smtp(), role_model_path)
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs: dict[str, str] = {}

    def run(database_url: str, *args: str, code: int = 0) -> str:
        env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": database_url}
        result = runner.invoke(main, ["-vv", *args], env=env)
        text = result.output + ("" if result.exception is None or isinstance(result.exception, SystemExit)
                                else repr(result.exception))
        outputs[" ".join(args) + f" #{len(outputs)}"] = text
        assert result.exit_code == code, text
        return text

    assert "database ready: postgresql+psycopg://jobtrend:***@" in run(url, "init")
    for args in (["sources"], ["trends"], ["outbox"], ["deliver", "--dry-run"], ["alerts", "--dry-run"],
                 ["report", "--week", "2025-W47"], ["scheduler", "status"], ["scheduler", "run-job", "trends"],
                 ["scheduler", "run-job", "report"], ["status"], ["status", "--format", "json"]):
        run(url, *args)
    assert "jobtrend:***@" in run(url, "status")
    # failures: a database that does not exist, one without tables, a bad port, an unknown driver
    parsed = make_url(url)
    missing = parsed.set(database=f"jt_missing_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    assert "database error" in run(missing, "sources", code=1)
    empty_name = f"jt_empty_{uuid.uuid4().hex[:8]}"
    _pg_admin_exec(admin, f'CREATE DATABASE "{empty_name}"')
    try:
        empty = parsed.set(database=empty_name).render_as_string(hide_password=False)
        assert "has no jobtrend tables" in run(empty, "sources", code=1)
        run(empty, "scheduler", "run-job", "trends", code=1)
    finally:
        _pg_admin_exec(admin, f'DROP DATABASE IF EXISTS "{empty_name}" WITH (FORCE)')
    run(url.replace("postgresql+psycopg://", "postgresql+nosuchdriver://"), "sources", code=1)
    helps = all_help_texts({"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": url})
    engine = make_engine(url)
    try:
        tables = dump_tables(engine)
    finally:
        engine.dispose()
    assert_absent(DB_SECRET, outputs | helps | log_texts(caplog) |
                  {f"table {name}": "\n".join(rows) for name, rows in tables.items()})


@pytest.mark.parametrize("url", [f"postgresql+psycopg://jobtrend:{DB_SECRET}@127.0.0.1:notaport/x",
                                 f"postgresql:/jobtrend:{DB_SECRET}@localhost/x"])
def test_a_malformed_database_url_is_a_clear_error_without_its_password(tmp_path, url):
    """Before the fix, a port that is not a number ended in SQLAlchemy's traceback, and a URL missing a slash
    was echoed in the configuration error with its password."""
    config_dir = email_config(tmp_path / "config", Smtp(), tmp_path / "roles.npz")
    result = CliRunner().invoke(main, ["sources"], env={"JOBTREND_CONFIG_DIR": str(config_dir),
                                                        "JOBTREND_DATABASE_URL": url})
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # no traceback
    assert "configuration error" in result.output
    assert "JOBTREND_DATABASE_URL: expected a SQLAlchemy URL" in result.output  # the variable it came from
    assert "jobtrend:***@" in result.output
    assert_absent(DB_SECRET, {"output": result.output})


@pytest.mark.slow
def test_database_password_is_redacted_by_a_crawl_and_the_demo(pg_url_with_password, tmp_path):
    """Child processes, as a user runs them: `jobtrend -vv crawl --replay` and `jobtrend demo --database-url`."""
    url, _ = pg_url_with_password
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jobtrend.toml").write_text(
        '[crawl]\nuser_agent = "jobtrend-test/0.1 (+https://example.org/jobtrend)"\ndownload_delay = 0\n')
    (config_dir / "sources.toml").write_text('[[sources]]\nkind = "ashby"\nkey = "SecondDinner"\n')
    (config_dir / "frameworks.toml").write_text(FRAMEWORKS)
    jobtrend = str(Path(sys.executable).parent / "jobtrend")
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": url}
    replay = REPO_ROOT / "tests" / "fixtures" / "replay"
    crawl = subprocess.run([jobtrend, "-vv", "crawl", "--replay", str(replay), "--source", "ashby"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert "SecondDinner" in crawl.stdout
    demo = subprocess.run([jobtrend, "demo", "--database-url", url], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "5/5 report" in demo.stdout and "postgresql+psycopg://jobtrend:***@" in demo.stdout
    assert_absent(DB_SECRET, {"crawl stdout": crawl.stdout, "crawl stderr": crawl.stderr,
                              "demo stdout": demo.stdout, "demo stderr": demo.stderr})

