"""`jobtrend crawl` as a user runs it: a replay touches only what the recording holds, argument mistakes stop before
anything runs (exit 2, one line, nothing stored), and Ctrl-C stops a crawl with exit 130, recorded as interrupted.

The crawls run in a child process (the Twisted reactor cannot restart), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.cli import main
from jobtrend.config import REPO_ROOT, SourceConfig
from jobtrend.db import make_engine
from jobtrend.models import Alert, CrawlRun, Outbox, Posting, Source
from tests.conftest import FIXTURES
from tests.crawler.conftest import write_config

JOBTREND = str(Path(sys.executable).parent / "jobtrend")
REPLAY = FIXTURES / "replay"
RECORDED = [SourceConfig("ashby", "SecondDinner"), SourceConfig("greenhouse", "dropbox")]
NOT_RECORDED = [SourceConfig("ashby", "notrecorded"), SourceConfig("greenhouse", "missingco"),
                SourceConfig("lever", "nolever")]


def jobtrend(config_dir: Path, db_url: str, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run the installed `jobtrend` command with the test's configuration and database."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    return subprocess.run([JOBTREND, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def error_line(stderr: str) -> str:
    """The one error line of a failed command (click's usage text above it aside), after checking there is no
    traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def stored(db_url: str) -> dict:
    """What a crawl may have left: crawl_runs by source key, postings per source key, sources' health and the
    alerts and outbox rows."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            runs = {r.key: (r.status, r.error) for r in conn.execute(
                select(Source.key, CrawlRun.status, CrawlRun.error).join(Source))}
            postings = dict(conn.execute(select(Source.key, func.count(Posting.id)).join(Posting)
                                         .group_by(Source.key)).all())
            health = {r.key: (r.health, r.last_error, r.consecutive_failures) for r in conn.execute(select(Source))}
            alerts = conn.scalar(select(func.count()).select_from(Alert))
            outbox = conn.scalar(select(func.count()).select_from(Outbox))
    finally:
        engine.dispose()
    return {"runs": runs, "postings": postings, "health": health, "alerts": alerts, "outbox": outbox}


@pytest.fixture
def config_dir(tmp_path) -> Path:
    return write_config(tmp_path / "config", RECORDED + NOT_RECORDED)


# --- 1. a replay touches only what the recording holds --------------------------------------------------------------

def test_replay_crawls_only_the_sources_the_recording_holds(config_dir, db_url):
    done = jobtrend(config_dir, db_url, "crawl", "--replay", str(REPLAY))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"3 configured sources are not in the recording {REPLAY}: left untouched" in done.stdout
    after = stored(db_url)
    assert after["runs"] == {"SecondDinner": ("ok", None), "dropbox": ("ok", None)}
    assert set(after["postings"]) == {"SecondDinner", "dropbox"}
    for source in NOT_RECORDED:  # never crawled: no row, or a row no crawl has touched
        assert after["health"].get(source.key, ("new", None, 0))[:2] in {("new", None), (None, None)}
    assert not {h for h, *_ in after["health"].values()} & {"gone", "failing"}
    assert after["alerts"] == after["outbox"] == 0


def test_replay_of_a_recording_holding_none_of_the_sources_is_refused(config_dir, db_url, tmp_path):
    empty = tmp_path / "recording"
    empty.mkdir()
    done = jobtrend(config_dir, db_url, "crawl", "--replay", str(empty))
    assert done.returncode == 2
    assert error_line(done.stderr) == (f"Error: the recording in {empty} holds none of the 5 sources asked for "
                                       "(ashby:SecondDinner, ashby:notrecorded, greenhouse:dropbox, ...); "
                                       "nothing crawled")
    assert stored(db_url)["runs"] == {} and stored(db_url)["postings"] == {}


def test_crawl_help_says_what_replay_is_for():
    result = CliRunner().invoke(main, ["crawl", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "For demos, tests and offline development" in text
    assert "not for a real database" in text
    assert "configured sources it does not hold are left untouched" in text


# --- 2. every argument checked before anything runs -----------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["--source", "hackernews", "--since", "2026-13"],
     "Error: Invalid value for '--since': expected a month YYYY-MM (01 to 12), got '2026-13'"),
    (["--since", "2011-4"], "Error: Invalid value for '--since': expected a month YYYY-MM (01 to 12), got '2011-4'"),
    (["--board", "nope"],
     "Error: --board nope: not in sources.toml; name one --source to crawl a board that is not configured"),
    (["--source", "lever", "--board", "dropbox"],
     "Error: --board dropbox is configured for greenhouse, not lever: give --source greenhouse"),
    (["--source", "ashby", "--since", "2011-04"],
     "Error: --since applies to Hacker News only: add --source hackernews"),
    (["--source", "workday"], "Error: Invalid value for '--source': 'workday' is not one of"),
    (["--api-base", "ftp://example.org"],
     "Error: Invalid value for '--api-base': expected an http:// or https:// URL, got 'ftp://example.org'"),
    (["--replay", str(REPLAY), "--api-base", "http://127.0.0.1:9"],
     "Error: give --replay or --api-base, not both: --replay starts its own server"),
    (["-s", "DOWNLOAD_DELAY"], "Error: Invalid value for '-s' / '--set': expected NAME=VALUE, got 'DOWNLOAD_DELAY'"),
])
def test_argument_mistakes_exit_2_with_one_line_and_store_nothing(config_dir, db_url, args, message):
    before = stored(db_url)
    done = jobtrend(config_dir, db_url, "crawl", *args)
    assert done.returncode == 2, done.stderr
    assert error_line(done.stderr).startswith(message)
    assert done.stdout == ""
    assert stored(db_url) == before


def test_sql_parameter_mistakes_are_usage_mistakes(config_dir, db_url):
    unused = jobtrend(config_dir, db_url, "sql", "select 1", "-p", "b=1", "--allow-superuser")
    missing = jobtrend(config_dir, db_url, "sql", "select :a", "--allow-superuser")
    assert (unused.returncode, missing.returncode) == (2, 2)
    assert error_line(unused.stderr) == "Error: Invalid value for --param: parameter(s) not used by the query: b"
    assert error_line(missing.stderr) == ("Error: Invalid value for --param: missing parameter(s): a "
                                          "(pass -p NAME=VALUE)")


def test_sql_syntax_error_is_called_a_syntax_error(config_dir, db_url):
    typo = jobtrend(config_dir, db_url, "sql", "selec count(*) from postings", "--allow-superuser")
    write = jobtrend(config_dir, db_url, "sql", "delete from postings", "--allow-superuser")
    assert (typo.returncode, write.returncode) == (1, 1)
    assert error_line(typo.stderr).startswith("Error: syntax error: 'SELEC' is not an SQL statement;")
    assert error_line(write.stderr).startswith("Error: refused: `jobtrend sql` is read-only")


# --- Ctrl-C ---------------------------------------------------------------------------------------------------------

SLOW_BOARD = "/posting-api/job-board/render"


def test_ctrl_c_stops_a_crawl_with_130_recorded_as_interrupted(tmp_path, db_url):
    config_dir = write_config(tmp_path / "config", [SourceConfig("ashby", "SecondDinner"),
                                                    SourceConfig("ashby", "render")])
    slow = {SLOW_BOARD: ReplayResponse(200, {"jobs": []}, delay=2)}  # answered within the download timeout
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    with ReplayServer(REPLAY, slow) as server:
        crawl = subprocess.Popen([JOBTREND, "crawl", "--api-base", server.url], cwd=REPO_ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            while server.hits(SLOW_BOARD) == 0 and crawl.poll() is None:  # the crawl is under way
                time.sleep(0.05)
            crawl.send_signal(signal.SIGINT)
            stdout, stderr = crawl.communicate(timeout=120)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == 130, stderr[-3000:]
    assert error_line(stderr) == ("Error: interrupted (SIGINT): the sources cut short are recorded as interrupted "
                                  "in crawl_runs and closed nothing")
    after = stored(db_url)
    assert after["runs"]["render"] == ("interrupted", "interrupted")
    assert after["runs"]["SecondDinner"][0] in {"interrupted", "ok"}
    assert "interrupted" in stdout
    assert all(h not in ("failing", "gone") and error is None and not failures
               for h, error, failures in after["health"].values())


def test_ctrl_c_in_any_command_exits_130_with_one_line():
    @click.command("sleepy")
    def sleepy():
        raise KeyboardInterrupt

    main.add_command(sleepy)
    try:
        result = CliRunner().invoke(main, ["sleepy"])
    finally:
        main.commands.pop("sleepy")
    assert result.exit_code == 130
    assert result.stderr == "Error: interrupted (SIGINT)\n"
