"""`jobtrend sql` is bounded (issue: an endless recursive CTE or ``pg_sleep(3600)`` ran forever, on PostgreSQL
it kept running on the server after the client was killed, and ``--limit 1000`` still buffered the whole result).

- ``--timeout SECONDS`` (default 30) stops the query in the database (PostgreSQL ``statement_timeout``, SQLite a
  progress handler) with one line; a query cannot lift it for itself.
- Ctrl-C and SIGTERM during a query cancel it on the server; a client killed outright has its query stopped by
  ``client_connection_check_interval``.
- ``--limit N`` is applied by the database (a server-side cursor fetching N + 1 rows; SQLite steps row by row),
  so 100 million rows with ``--limit 5`` come back at once.

Times are asserted only as "well under the timeout", never as exact wall time.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jobtrend.sql import DEFAULT_TIMEOUT
from tests.jobtrend.test_cli import _add_postings

ENDLESS = "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r"
HUNDRED_MILLION = {
    "sqlite": "with recursive r(n) as (select 1 union all select n + 1 from r where n < 100000000) select n from r",
    "postgresql": "select generate_series(1, 100000000) as n",
}
JOBTREND = Path(sys.executable).parent / "jobtrend"


def _server_queries(db_url: str, login_url: str) -> list[str]:
    """The queries the login is running on the server now."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(text(
            "select query from pg_stat_activity where usename = :u and state = 'active'"),
            {"u": make_url(login_url).username})]
    engine.dispose()
    return found


def _wait_until(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture(autouse=True)
def postings(db_url):
    _add_postings(db_url, 3)


def test_the_default_timeout_is_30_seconds(run, db_url):
    assert DEFAULT_TIMEOUT == 30
    assert "--timeout SECONDS" in run(["sql", "--help"], db_url).output


def _stops_at_one_second(run, url: str, query: str) -> None:
    started = time.monotonic()
    result = run(["sql", query, "--timeout", "1"], url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: query stopped after 1 s (--timeout)"]
    assert time.monotonic() - started < 25  # stopped, not run for an hour


def test_an_endless_recursive_query_stops_at_the_timeout(run, query_url):
    _stops_at_one_second(run, query_url, ENDLESS)


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
@pytest.mark.parametrize("query", ["select pg_sleep(3600)",
                                   "select set_config('statement_timeout', '0', true), pg_sleep(3600)"])
def test_pg_sleep_stops_at_the_timeout_which_the_query_cannot_lift(run, query_url, query):
    _stops_at_one_second(run, query_url, query)


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_timed_out_query_is_gone_from_the_server(run, db_url, query_url):
    result = run(["sql", "select pg_sleep(3600)", "--timeout", "1"], query_url)
    assert result.exit_code == 1
    assert _server_queries(db_url, query_url) == []


def test_the_limit_is_applied_by_the_database(run, db_kind, query_url):
    result = run(["sql", HUNDRED_MILLION[db_kind], "--limit", "5", "--timeout", "20", "--format", "csv"], query_url)
    assert result.exit_code == 0, result.output  # finished under the timeout: 100M rows were never fetched
    assert result.stdout.splitlines() == ["n", "1", "2", "3", "4", "5"]
    assert "first 5 rows shown" in result.stderr


def _start(config_dir: Path, url: str, query: str) -> tuple[subprocess.Popen, queue.Queue]:
    """`jobtrend -v sql QUERY` in a child process; its standard error lines arrive on the queue."""
    env = {**os.environ, "JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": url}
    proc = subprocess.Popen([str(JOBTREND), "-v", "sql", query, "--timeout", "300"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    return proc, lines


def _wait_for_query(proc: subprocess.Popen, lines: queue.Queue) -> list[str]:
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            assert proc.poll() is None, f"jobtrend sql ended early: {seen}"
            continue
        if "query running" in seen[-1]:
            return seen
    pytest.fail(f"the query did not start: {seen}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_the_query(db_kind, db_url, query_url, config_dir, signum):
    proc, lines = _start(config_dir, query_url, ENDLESS)
    try:
        _wait_for_query(proc, lines)
        if db_kind == "postgresql":
            assert _wait_until(lambda: _server_queries(db_url, query_url) != [])
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 128 + signum
    finally:
        proc.kill()
        proc.wait()
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert f"Error: query cancelled ({signal.Signals(signum).name})\n" in rest
    assert not any("Traceback" in line for line in rest)
    if db_kind == "postgresql":
        assert _wait_until(lambda: _server_queries(db_url, query_url) == [], seconds=10)


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_killed_client_leaves_no_query_running_on_the_server(db_url, query_url, config_dir):
    proc, lines = _start(config_dir, query_url, "select pg_sleep(3600)")
    try:
        _wait_for_query(proc, lines)
        assert _wait_until(lambda: _server_queries(db_url, query_url) != [])
    finally:
        proc.kill()  # SIGKILL: no handler runs, no cancel request is sent
        proc.wait()
    assert _wait_until(lambda: _server_queries(db_url, query_url) == [], seconds=15)
