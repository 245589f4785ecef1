"""A crawl that cannot record its sources' start fails them loudly, on SQLite and PostgreSQL.

With SQLite locked for longer than its busy timeout when a crawl started, the crawl-run extension could not
insert the "running" crawl_runs rows of one spider; it logged it and crawled on, and that spider's boards
vanished from crawl_runs and from the summary: the crawl exited 0 with "19 sources (0 not ok)". Now the spider is
closed before it sends a request, every one of its sources is in the summary as ``failed`` with the reason
``not_recorded:<error>``, and ``jobtrend crawl`` (``python -m crawler.run`` too) exits non-zero.

Real crawls in a child process against the ReplayServer on 127.0.0.1, while another connection holds the
database's write lock (SQLite: ``BEGIN EXCLUSIVE``; PostgreSQL: ``LOCK TABLE ... IN EXCLUSIVE MODE``), with the
lock timeouts of ``jobtrend.db`` cut to 0.3 s in the child. Once the lock is gone, the same crawl is ``ok``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url

from crawler.replay import ReplayServer
from jobtrend.config import REPO_ROOT, SourceConfig
from tests.crawler.conftest import REPLAY, read_database, write_config

SOURCES = [SourceConfig("ashby", "SecondDinner"), SourceConfig("ashby", "render"),
           SourceConfig("greenhouse", "acmeai"), SourceConfig("greenhouse", "helsing")]
BOARD_PATHS = ("/posting-api/job-board/", "/v1/boards/")
SETTINGS = ["-s", "AUTOTHROTTLE_ENABLED=False"]

# the child: jobtrend.db's lock timeouts (30 s) cut to 0.3 s, then the command line given
CHILD = """
import sys
import jobtrend.db
jobtrend.db.SQLITE_BUSY_TIMEOUT_MS = jobtrend.db.POSTGRES_LOCK_TIMEOUT_MS = 300
if sys.argv[1] == "crawler.run":
    from crawler.run import main
    sys.exit(main(sys.argv[2:]))
from jobtrend.cli import main
main(sys.argv[2:], prog_name="jobtrend")
"""


def run_child(args: list[str], config_dir, db_url: str) -> subprocess.CompletedProcess:
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-c", CHILD, *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


class WriteLock:
    """Another connection holding the database's write lock until the block ends."""

    def __init__(self, db_url: str, db_kind: str):
        self.db_url, self.db_kind = db_url, db_kind

    def __enter__(self):
        url = make_url(self.db_url)
        if self.db_kind == "sqlite":
            self.conn = sqlite3.connect(url.database, isolation_level=None)
            self.conn.execute("BEGIN EXCLUSIVE")
        else:
            self.conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
            self.conn.execute("LOCK TABLE sources, crawl_runs IN EXCLUSIVE MODE")  # readers pass, writers wait
        return self

    def __exit__(self, *exc_info):
        self.conn.rollback() if self.db_kind == "postgresql" else self.conn.execute("ROLLBACK")
        self.conn.close()


@pytest.fixture
def config_dir(tmp_path):
    return write_config(tmp_path / "config", SOURCES)


def test_sources_whose_start_cannot_be_recorded_are_failed_in_the_summary(db_url, db_kind, config_dir):
    with ReplayServer(REPLAY) as server, WriteLock(db_url, db_kind):
        done = run_child(["crawler.run", "--api-base", server.url, *SETTINGS], config_dir, db_url)
        requests = [r.path for r in server.requests]
    assert done.returncode != 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert set(summary["sources"]) == {s.label for s in SOURCES}  # none vanished
    for label, source in summary["sources"].items():
        assert (source["status"], source["reason"]) == ("failed", "not_recorded:OperationalError"), label
        assert source["errors"] == 1 and source["seen"] == 0
    assert summary["not_recorded"] == len(SOURCES)
    assert "could not record the start of the crawl" in done.stderr
    assert not [path for path in requests if path.startswith(BOARD_PATHS)]  # nothing crawled unrecorded
    postings, runs = read_database(db_url, 0)
    assert (postings, runs) == ({}, {})


def test_jobtrend_crawl_exits_non_zero_then_crawls_once_the_lock_is_gone(db_url, db_kind, config_dir):
    with ReplayServer(REPLAY) as server:
        with WriteLock(db_url, db_kind):
            locked = run_child(["cli", "crawl", "--api-base", server.url, *SETTINGS], config_dir, db_url)
        again = run_child(["cli", "crawl", "--api-base", server.url, *SETTINGS], config_dir, db_url)
    assert locked.returncode == 1, locked.stdout + locked.stderr[-3000:]
    assert f"{len(SOURCES)} sources ({len(SOURCES)} not ok)" in locked.stdout
    assert locked.stdout.count("not_recorded:OperationalError") == len(SOURCES)
    assert "could not be recorded" in locked.stderr.splitlines()[-1]
    assert again.returncode == 0, again.stderr[-3000:]
    _, runs = read_database(db_url, 0)
    assert {key: run["status"] for key, run in runs.items()} == {s.key: "ok" for s in SOURCES}
