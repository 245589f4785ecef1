"""Files and databases a command cannot use, as a user meets them: one line each, and nothing left behind.

A SQLite database in a folder that cannot be written (a snapshot on a read-only mount) is read by the commands
that only read (`sql`, `status`, `sources`, `report --stored`, `browse`) and refused in one line by those that
write; outputs (`report --out`, `classifier train --model`) that cannot be written are refused before any work;
database URLs are normalised or blamed on where they came from; a missing folder or file is never created except
by `jobtrend init`.

Folder permissions do not stop root, so when the tests run as root the commands run without the capabilities that
bypass them (``setpriv``), as an ordinary user would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from jobtrend.config import REPO_ROOT, load_config
from jobtrend.db import make_engine, session_factory
from jobtrend.models import Posting, Report, Source
from jobtrend.weeks import utcnow
from tests.jobtrend.test_config import write_config

JOBTREND = str(Path(sys.executable).parent / "jobtrend")
# as root, drop what lets a process ignore folder permissions, so a read-only folder is read-only
AS_USER = (["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"] if os.geteuid() == 0 else [])
WEEK = dt.date(2026, 4, 27)


def jobtrend(config_dir: Path, db_url: str | None, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run the installed `jobtrend` command as a user (without root's overrides), with ``db_url`` when given."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir)}
    env.pop("JOBTREND_DATABASE_URL", None)
    if db_url is not None:
        env["JOBTREND_DATABASE_URL"] = db_url
    return subprocess.run([*AS_USER, JOBTREND, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def one_error(done: subprocess.CompletedProcess) -> str:
    """The single line a failed command printed on stderr (no traceback)."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip()


@pytest.fixture
def config_dir(tmp_path, role_model_path) -> Path:
    """A configuration whose role model is the session's (trained once)."""
    directory = write_config(tmp_path / "config")
    with (directory / "jobtrend.toml").open("a") as fh:
        fh.write(f"\n[classifier]\nmodel = {json.dumps(str(role_model_path))}\n")
    return directory


@pytest.fixture
def snapshot(tmp_path, sqlite_template) -> Path:
    """A WAL-mode SQLite database with one source, one posting and a stored report, checkpointed, in a folder
    made read-only; yields the file's path."""
    folder = tmp_path / "snapshot"
    folder.mkdir()
    path = folder / "jobtrend.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    with session_factory(engine).begin() as session:
        source = Source(kind="ashby", key="acme", company="Acme")
        session.add(source)
        session.flush()
        session.add(Posting(source_id=source.id, external_id="1", title="ML Engineer", url="u", content_hash="h",
                            description_text="PyTorch", posted_at=utcnow(), posted_week=WEEK))
        session.add(Report(period_start=WEEK, html="<p>stored</p>", text="the stored report of 2026-W18"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    folder.chmod(0o555)
    yield path
    folder.chmod(0o755)


def folder_listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# --- a read-only database folder ---------------------------------------------------------------------------------

def test_read_only_commands_read_a_database_in_a_read_only_folder(config_dir, snapshot):
    url = f"sqlite:///{snapshot}"
    query = jobtrend(config_dir, url, "sql", "select title from postings", "--format", "csv")
    sources = jobtrend(config_dir, url, "sources", "--format", "json")
    stored = jobtrend(config_dir, url, "report", "--stored", "--week", "2026-W18")
    status = jobtrend(config_dir, url, "status", "--format", "json")
    for done in (query, sources, stored, status):
        assert done.returncode == 0, done.stderr
    assert query.stdout.splitlines() == ["title", "ML Engineer"]
    assert [row["source"] for row in json.loads(sources.stdout)] == ["ashby:acme"]
    assert stored.stdout.strip() == "the stored report of 2026-W18"
    assert "unable to open" not in status.stdout + status.stderr
    assert folder_listing(snapshot) == ["jobtrend.db"]  # no -wal, -shm or lock file could be, or was, made


@pytest.mark.parametrize("command", [["analyze"], ["crawl", "--source", "ashby"], ["init"]])
def test_write_commands_on_a_read_only_folder_say_so_in_one_line(config_dir, snapshot, command):
    done = jobtrend(config_dir, f"sqlite:///{snapshot}", *command)
    assert one_error(done) == (f"Error: cannot write the database {snapshot}: its folder is read-only; commands "
                               "that only read (sql, status, sources, browse, report --stored, trends, outbox, "
                               "classifier drift) still work")
    assert folder_listing(snapshot) == ["jobtrend.db"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_browse_serves_a_database_in_a_read_only_folder(config_dir, snapshot, tmp_path):
    port = free_port()
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": f"sqlite:///{snapshot}"}
    log = tmp_path / "browse.log"
    with log.open("w") as out:
        child = subprocess.Popen([*AS_USER, JOBTREND, "browse", "--no-open", "--port", str(port)], cwd=REPO_ROOT,
                                 env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/jobtrend.json?sql=select+title+from+postings&_shape=array"
    try:
        rows = None
        while rows is None:
            assert child.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    rows = json.loads(response.read())
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
    finally:
        child.terminate()
        child.wait(timeout=30)
    assert rows == [{"title": "ML Engineer"}]
    assert folder_listing(snapshot) == ["jobtrend.db"]


# --- outputs that cannot be written ------------------------------------------------------------------------------

@pytest.fixture
def blocked(tmp_path) -> dict[str, Path]:
    """A file standing where a folder should be, and a read-only folder."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    yield {"file": a_file, "locked": locked}
    locked.chmod(0o755)


@pytest.mark.parametrize("db_kind", ["sqlite"])  # the outputs are files; the database only holds the report
def test_report_out_that_cannot_be_written_is_refused_before_anything_is_stored(config_dir, db_url, blocked):
    under_file = jobtrend(config_dir, db_url, "report", "--week", "2026-W18", "--out",
                          str(blocked["file"] / "r.html"))
    locked = jobtrend(config_dir, db_url, "report", "--week", "2026-W18", "--out", str(blocked["locked"] / "r.html"))
    assert one_error(under_file) == (f"Error: cannot write {blocked['file'] / 'r.html'}: {blocked['file']} is a "
                                     "file, not a folder")
    assert one_error(locked) == (f"Error: cannot write {blocked['locked'] / 'r.html'}: permission denied (the "
                                 f"folder {blocked['locked']} is not writable)")
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Report)) == 0
    engine.dispose()


def test_classifier_model_that_cannot_be_written_is_refused_before_training(config_dir, blocked):
    for target, reason in [(blocked["file"] / "m.npz", f"{blocked['file']} is a file, not a folder"),
                           (blocked["locked"] / "m.npz",
                            f"permission denied (the folder {blocked['locked']} is not writable)")]:
        done = jobtrend(config_dir, None, "classifier", "train", "--bundled", "--model", str(target))
        assert one_error(done) == f"Error: cannot write {target}: {reason}"
        assert done.stdout == ""  # not a line of training
    assert list(blocked["locked"].iterdir()) == []


# --- database URLs -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_heroku_style_postgres_url_is_accepted(config_dir, db_url, monkeypatch):
    heroku = "postgres://" + db_url.split("://", 1)[1]
    monkeypatch.setenv("JOBTREND_DATABASE_URL", heroku)
    assert load_config(config_dir).database_url == db_url
    done = jobtrend(config_dir, heroku, "sql", "select count(*) as n from postings", "--format", "csv",
                    "--allow-superuser")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "0"]


def test_a_bad_url_is_blamed_on_where_it_came_from(config_dir):
    from_env = jobtrend(config_dir, "mysql://me@db/jobs", "sources")
    (config_dir / "jobtrend.toml").write_text('[database]\nurl = "nonsense"\n')  # the model no longer matters
    from_file = jobtrend(config_dir, None, "sources")
    expected = ("expected a SQLAlchemy URL of SQLite or PostgreSQL such as sqlite:///jobtrend.db or "
                "postgresql+psycopg://user@host/dbname")
    assert one_error(from_env) == ("Error: configuration error: environment: JOBTREND_DATABASE_URL: "
                                   f"{expected}, got 'mysql://me@db/jobs'")
    assert one_error(from_file) == (f"Error: configuration error: {config_dir / 'jobtrend.toml'}: database.url: "
                                    f"{expected}, got 'nonsense'")


# --- nothing created where nothing was --------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["sources"], ["analyze"], ["sql", "select 1"], ["crawl", "--source", "ashby"],
                                     ["report", "--stored"]])
def test_a_missing_folder_is_one_line_and_is_not_created(config_dir, tmp_path, command):
    missing = tmp_path / "no" / "such" / "folder"
    done = jobtrend(config_dir, f"sqlite:///{missing / 'x.db'}", *command)
    assert one_error(done) == (f"Error: no folder {missing} for the SQLite database x.db: check the database URL, "
                               "or run `jobtrend init` to create it")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", [["sources"], ["analyze"], ["sql", "select 1"], ["crawl", "--source", "ashby"],
                                     ["trends"], ["report", "--stored"]])
def test_an_uninitialised_path_says_run_init_and_leaves_no_empty_file(config_dir, tmp_path, command):
    path = tmp_path / "fresh.db"
    done = jobtrend(config_dir, f"sqlite:///{path}", *command)
    assert one_error(done) == f"Error: no SQLite database at {path}; run `jobtrend init` first"
    assert list(tmp_path.glob("fresh.db*")) == []


def test_init_creates_the_folder_of_a_new_sqlite_database(config_dir, tmp_path):
    path = tmp_path / "new" / "folder" / "jobtrend.db"
    done = jobtrend(config_dir, f"sqlite:///{path}", "init")
    assert done.returncode == 0, done.stderr
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from sources")).scalar() >= 1
    engine.dispose()
