"""SIGKILL during a crawl, then crawl again, on SQLite and PostgreSQL: nothing lost, nothing duplicated, nothing
closed by the dead crawl, and its ``crawl_runs`` rows marked failed (``interrupted``) by the next crawl.

The crawls are real ``python -m crawler.run --api-base`` child processes against a ReplayServer in this process.
The killed crawl's last board answers only after a minute, so the crawl is certainly still running when the test
has seen the other boards finish (their lines in the crawl's log) and the one new posting stored (batch size 1),
and kills it: the timing is decided by the server, not by a sleep. Its unchanged postings are not marked seen
(that happens when a source's crawl is recorded, which a killed crawl never reaches) and nothing is closed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import REPO_ROOT, SourceConfig
from jobtrend.db import make_engine
from jobtrend.models import CrawlRun, Posting
from tests.crawler.conftest import REPLAY, board_jobs, board_path, read_database, run_crawl_child, write_config

BOARDS = ("SecondDinner", "render", "Homebound", "character")
FAST_BOARDS = BOARDS[:3]  # "character" hangs in the killed crawl
SOURCES = [SourceConfig("ashby", key) for key in BOARDS]
PATH = "/posting-api/job-board/{}"
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]
TIMEOUT = 60


def listed_ids(key: str) -> list[str]:
    return [str(j["id"]) for j in board_jobs("ashby", key)
            if isinstance(j, dict) and j.get("id") and j.get("isListed", True) and j.get("title")]


def without(key: str, external_id: str) -> ReplayResponse:
    payload = json.loads(board_path("ashby", key).read_bytes())
    payload["jobs"] = [j for j in payload["jobs"] if not (isinstance(j, dict) and str(j.get("id")) == external_id)]
    return ReplayResponse(200, payload)


def crawl_command(server: ReplayServer) -> list[str]:
    return [sys.executable, "-m", "crawler.run", "--api-base", server.url, *FAST]


def count_where(db_url: str, *conditions) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Posting).where(*conditions))
    finally:
        engine.dispose()


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kill_during_crawl_then_crawl_again_loses_and_closes_nothing(db_url, tmp_path):
    config_dir = write_config(tmp_path / "config", SOURCES, batch_size=1)
    new_id = listed_ids("render")[0]  # appears in crawl 2 only: stored before the kill, kept after it
    kept_id = listed_ids("SecondDinner")[0]  # missing from crawl 2's payload: a dead crawl must not close it
    with ReplayServer(REPLAY) as server:
        # crawl 1: complete, render without new_id
        server.overrides = {PATH.format("render"): without("render", new_id)}
        run_crawl_child(crawl_command(server), config_dir, db_url)
        before, first_runs = read_database(db_url, 0)
        assert {r["status"] for r in first_runs.values()} == {"ok"}
        last_run = max(r["id"] for r in first_runs.values())
        seen_before = max(r["last_seen_at"] for r in before.values())

        # crawl 2: render now lists new_id, SecondDinner no longer lists kept_id, character hangs for a minute
        server.overrides = {PATH.format("SecondDinner"): without("SecondDinner", kept_id),
                            PATH.format("character"): ReplayResponse(
                                200, board_path("ashby", "character").read_bytes(), delay=TIMEOUT)}
        server.requests.clear()
        log_path = tmp_path / "killed-crawl.log"
        env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
        log = log_path.open("w")
        child = subprocess.Popen(crawl_command(server), cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_for(lambda: count_where(db_url, Posting.external_id == new_id) == 1
                     and all(f"ashby:{key} ok" in log_path.read_text() for key in FAST_BOARDS),
                     "the fast boards to finish and the new posting to be stored")
            assert server.hits(PATH.format("character")) == 1 and child.poll() is None
            child.send_signal(signal.SIGKILL)
            assert child.wait(TIMEOUT) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            log.close()
        killed, killed_runs = read_database(db_url, last_run)
        assert {key: r["status"] for key, r in killed_runs.items()} == dict.fromkeys(BOARDS, "running")
        assert all(row["closed_at"] is None for row in killed.values())  # kept_id too: nothing closed
        assert ("render", new_id) in killed
        assert all(row["last_seen_at"] <= seen_before for key, row in killed.items() if key != ("render", new_id))
        last_run = max(r["id"] for r in killed_runs.values())

        # crawl 3: the full boards again, no fault
        server.overrides = {}
        run_crawl_child(crawl_command(server), config_dir, db_url)
    after, runs = read_database(db_url, 0)

    expected = {(key, ext) for key in BOARDS for ext in listed_ids(key)}
    assert set(after) == expected  # nothing lost
    assert count_where(db_url) == len(expected)  # nothing duplicated
    assert all(row["closed_at"] is None for row in after.values())
    assert after[("render", new_id)]["first_seen_at"] == killed[("render", new_id)]["first_seen_at"]
    for key in expected - {("render", new_id)}:
        assert after[key]["first_seen_at"] == before[key]["first_seen_at"]
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(CrawlRun.id, CrawlRun.status, CrawlRun.error, CrawlRun.finished_at)
                                .where(CrawlRun.id > last_run - len(BOARDS)).order_by(CrawlRun.id)).all()
    finally:
        engine.dispose()
    interrupted, final = rows[:len(BOARDS)], rows[len(BOARDS):]
    assert [(r.status, r.error) for r in interrupted] == [("failed", "interrupted")] * len(BOARDS)
    assert all(r.finished_at is not None for r in interrupted)
    assert [(r.status, r.error) for r in final] == [("ok", None)] * len(BOARDS)
    assert {key: r["closed"] for key, r in runs.items()} == dict.fromkeys(BOARDS, 0)
