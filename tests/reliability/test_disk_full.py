"""A full disk stops the crawl: one clear line, a non-zero exit, failed crawl_runs, nothing closed; on SQLite and
PostgreSQL.

On a full disk a crawl used to print thousands of traceback lines (every batch, every source), leave its
crawl_runs rows ``running`` and exit 0. Real crawls against the ReplayServer on 127.0.0.1: a first crawl stores
four boards; then the disk "fills up" and a second crawl (``jobtrend crawl``, in a child process) meets boards
that list new postings and no longer list one they listed before:

- SQLite: the child's connections get ``PRAGMA max_page_count`` at the file's size (plus two pages), so that
  inserting postings fails with SQLITE_FULL, "database or disk is full";
- PostgreSQL: a trigger on ``postings`` raises what a full disk raises on an INSERT, SQLSTATE 53100
  (``disk_full``), "could not extend file ...: No space left on device".

The second crawl exits 1 with ``Error: disk full: ...`` and no traceback, every source's row is ``failed``
with ``disk_full`` (none left ``running``), no posting is closed and no source's health changes.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import REPO_ROOT, SourceConfig
from jobtrend.db import is_disk_full, make_engine
from jobtrend.models import Source
from tests.crawler.conftest import REPLAY, board_path, read_database, run_crawl_child, write_config

SOURCES = [SourceConfig("ashby", "SecondDinner"), SourceConfig("ashby", "render"),
           SourceConfig("greenhouse", "acmeai"), SourceConfig("greenhouse", "dropbox")]
PATHS = {"ashby": "/posting-api/job-board/{}", "greenhouse": "/v1/boards/{}/jobs"}
SETTINGS = ["-s", "AUTOTHROTTLE_ENABLED=False"]
NEW_JOBS = 25

# the child: its SQLite connections may not grow the file past MAX_PAGES pages (a "full disk"), then the CLI
CHILD = """
import os, sys
from sqlalchemy import Engine, event

@event.listens_for(Engine, "connect")
def full_disk(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA max_page_count = " + os.environ["MAX_PAGES"])

from jobtrend.cli import main
main(sys.argv[1:], prog_name="jobtrend")
"""

PG_DISK_FULL = """
CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN
  RAISE EXCEPTION 'could not extend file "base/16384/16397": No space left on device'
    USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER disk_full BEFORE INSERT ON postings FOR EACH ROW EXECUTE FUNCTION disk_full();
"""


def grown_board(source: SourceConfig) -> ReplayResponse:
    """The recorded board without its first job and with NEW_JOBS new ones of about 20 kB each."""
    payload = json.loads(board_path(source.kind, source.key).read_bytes())
    template = next(j for j in payload["jobs"] if isinstance(j, dict) and j.get("id"))
    payload["jobs"] = payload["jobs"][1:]
    for n in range(NEW_JOBS):
        job = copy.deepcopy(template)
        job["id"] = f"{template['id']}-new-{n}" if source.kind == "ashby" else 9_000_000 + n
        body = f"<p>New posting {n}: " + "we train and serve models with PyTorch. " * 500 + "</p>"
        job["descriptionHtml" if source.kind == "ashby" else "content"] = body
        payload["jobs"].append(job)
    return ReplayResponse(200, payload)


def fill_the_disk(db_url: str, db_kind: str) -> dict[str, str]:
    """Make the database "full"; return the environment the child needs for it."""
    if db_kind == "sqlite":
        with sqlite3.connect(make_url(db_url).database) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        return {"MAX_PAGES": str(pages + 2)}
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PG_DISK_FULL)
    engine.dispose()
    return {"MAX_PAGES": "0"}


@pytest.fixture
def crawled(db_url, db_kind, tmp_path):
    """(the second crawl's process, postings and runs after the first crawl, after the second)."""
    config_dir = write_config(tmp_path / "config", SOURCES)
    with ReplayServer(REPLAY) as server:
        run_crawl_child([sys.executable, "-m", "crawler.run", "--api-base", server.url, *SETTINGS], config_dir,
                        db_url)
        before, runs_before = read_database(db_url, 0)
        assert {run["status"] for run in runs_before.values()} == {"ok"}
        env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
        env |= fill_the_disk(db_url, db_kind)
        server.overrides = {PATHS[s.kind].format(s.key): grown_board(s) for s in SOURCES}
        done = subprocess.run([sys.executable, "-c", CHILD, "crawl", "--api-base", server.url, *SETTINGS],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    after, runs_after = read_database(db_url, max(run["id"] for run in runs_before.values()))
    return done, before, after, runs_after


def test_a_full_disk_stops_the_crawl_with_one_clear_line_and_a_non_zero_exit(crawled):
    """... and corrects the lines per source that said ok before the disk was met."""
    done = crawled[0]
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert done.stderr.splitlines()[-1].startswith("Error: disk full: ")
    assert "database or disk is full" in done.stderr or "No space left on device" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len([line for line in done.stderr.splitlines() if "disk full" in line]) <= 4
    assert_lines_corrected(done.stderr.splitlines())


def assert_lines_corrected(lines: list[str]) -> None:
    """A source's line is printed when its board is read, before its postings are stored: a board said ``ok``
    then gets a second line once the full disk made its run failed; every source's last line says why."""
    # the spider that closes first read all its boards before its store flushed its one batch and met the disk
    assert len([line for line in lines if " now failed " in line]) >= 2, lines
    for source in SOURCES:
        own = [line for line in lines if line.startswith(f"{source.label} ")]
        assert own and own[-1].endswith("the disk is full (disk_full)"), lines
        said_ok = re.fullmatch(rf"{source.label} ok (\d+) listed", own[0])
        if said_ok:
            assert own[1:] == [f"{source.label} now failed {said_ok.group(1)} seen, 0 new: the disk is full "
                               "(disk_full)"], own
        else:
            assert len(own) == 1, own


def test_a_full_disk_fails_every_run_and_closes_nothing(crawled, engine):
    _, before, after, runs = crawled
    assert {key: (run["status"], run["error"], run["closed"]) for key, run in runs.items()} == {
        s.key: ("failed", "disk_full", 0) for s in SOURCES}
    assert after.keys() == before.keys()  # nothing new could be stored, nothing stored is lost
    assert all(row["closed_at"] is None for row in after.values())  # not even the job the boards dropped
    with engine.connect() as conn:
        health = set(conn.execute(select(Source.health, Source.consecutive_failures)))
    assert health == {("ok", 0)}  # the disk failed, not the boards


@pytest.mark.parametrize(("error", "full"), [
    (sqlite3.OperationalError("database or disk is full"), True),
    (OSError(28, "No space left on device"), True),
    (sqlite3.OperationalError("database is locked"), False),
    (ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), False),
])
def test_what_reads_as_a_full_disk(error, full):
    assert is_disk_full(error) is full


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_postgres_disk_full_is_recognised_by_its_sqlstate(db_url, engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(PG_DISK_FULL.replace("could not extend file", "out of room"))
    with pytest.raises(Exception) as raised, engine.begin() as conn:
        conn.execute(text("insert into postings (source_id) values (1)"))
    assert is_disk_full(raised.value)


def test_a_full_disk_met_by_one_spider_stops_the_others(db_url, db_kind, tmp_path):
    """Ashby meets the full disk; Greenhouse, whose board answers late and needs no new row (it only dropped a
    job), would end ok and close that job: it is stopped with ``disk_full`` instead and closes nothing."""
    ashby, greenhouse = SOURCES[0], SOURCES[2]
    config_dir = write_config(tmp_path / "config", [ashby, greenhouse])
    with ReplayServer(REPLAY) as server:
        run_crawl_child([sys.executable, "-m", "crawler.run", "--api-base", server.url, *SETTINGS], config_dir,
                        db_url)
        before, runs_before = read_database(db_url, 0)
        env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
        env |= fill_the_disk(db_url, db_kind)
        dropped = json.loads(board_path("greenhouse", greenhouse.key).read_bytes())
        dropped["jobs"] = dropped["jobs"][1:]
        server.overrides = {PATHS["ashby"].format(ashby.key): grown_board(ashby),
                            PATHS["greenhouse"].format(greenhouse.key): ReplayResponse(200, dropped, delay=4)}
        done = subprocess.run([sys.executable, "-c", CHILD, "crawl", "--api-base", server.url, *SETTINGS],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    after, runs = read_database(db_url, max(run["id"] for run in runs_before.values()))
    assert done.returncode == 1, done.stderr[-3000:]
    assert {key: (run["status"], run["error"], run["closed"]) for key, run in runs.items()} == {
        ashby.key: ("failed", "disk_full", 0), greenhouse.key: ("failed", "disk_full", 0)}
    assert after.keys() == before.keys() and all(row["closed_at"] is None for row in after.values())
