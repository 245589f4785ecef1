"""Hacker News end to end, on SQLite and PostgreSQL: real crawls in child processes (``python -m crawler.run
--source hackernews --api-base``) against a ReplayServer serving the recorded Algolia thread list and threads.

One scenario per database, four crawls, a snapshot of the database and the request log after each:

1. backfill ``--since 2011-04`` while the February 2026 thread answers 404: every other thread is stored, the
   source is partial;
2. incremental (no ``--since``): reads the thread it never read completely (February) and the newest (May);
3. incremental again: reads only the newest thread, and closes nothing;
4. ``--since 2026-01`` while March is truncated and April answers 500: partial, and what is stored of those two
   threads does not change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import sys
import urllib.request
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.replay import NOT_FOUND, ReplayResponse, ReplayServer
from crawler.spiders.hackernews import HackerNewsSpider, hiring_threads
from jobtrend.config import REPO_ROOT, SourceConfig, load_sources
from jobtrend.db import make_engine
from jobtrend.models import CrawlRun, Posting
from tests.conftest import drop_database, new_database_url
from tests.crawler.conftest import REPLAY, TEST_USER_AGENT, run_crawl_child, write_config

SOURCE = SourceConfig("hackernews", "whoishiring", company="Hacker News")
LISTING_PATH = "/api/v1/search_by_date"
THREADS = {"2011-04": 2396027, "2026-01": 46466074, "2026-02": 46857488, "2026-03": 47219668, "2026-04": 47601859,
           "2026-05": 47975571}
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "RETRY_TIMES=1"]


def item_path(month: str) -> str:
    return f"/api/v1/items/{THREADS[month]}"


def live_ids(month: str) -> set[str]:
    """The live top-level comments of a recorded thread, counted from the recording."""
    thread = json.loads(gzip.decompress((REPLAY / f"api/v1/items/{THREADS[month]}.json.gz").read_bytes()))
    return {str(c["id"]) for c in thread["children"] if c["author"] is not None and c["text"] is not None}


@dataclasses.dataclass
class Snapshot:
    postings: dict[str, dict]
    run: dict
    requests: list
    summary: dict


class Scenario:
    def __init__(self, db_url: str, config_dir: Path, server: ReplayServer):
        self.db_url, self.config_dir, self.server = db_url, config_dir, server
        self.snapshots: dict[str, Snapshot] = {}

    def crawl(self, name: str, *args: str, overrides: dict[str, ReplayResponse] | None = None) -> None:
        self.server.overrides = dict(overrides or {})
        command = [sys.executable, "-m", "crawler.run", "--source", "hackernews", "--api-base", self.server.url,
                   *args, *FAST]
        done = run_crawl_child(command, self.config_dir, self.db_url, timeout=300)
        requests, self.server.requests[:] = list(self.server.requests), []
        self.snapshots[name] = Snapshot(*self.read(), requests, json.loads(done.stdout))

    def read(self) -> tuple[dict, dict]:
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                postings = {r.external_id: dict(r._mapping) for r in conn.execute(select(Posting.__table__))}
                run = conn.execute(select(CrawlRun.__table__).order_by(CrawlRun.id.desc()).limit(1)).one()
        finally:
            engine.dispose()
        return postings, dict(run._mapping)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(request, tmp_path_factory, sqlite_template, postgres_template):
    tmp = tmp_path_factory.mktemp(f"hn-e2e-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    try:
        with ReplayServer(REPLAY) as server:
            story = Scenario(db_url, write_config(tmp / "config", [SOURCE], batch_size=200), server)
            story.crawl("backfill", "--since", "2011-04", overrides={item_path("2026-02"): NOT_FOUND})
            story.crawl("incremental")
            story.crawl("again")
            truncated = gzip.decompress((REPLAY / f"api/v1/items/{THREADS['2026-03']}.json.gz").read_bytes())[:4000]
            story.crawl("failing", "--since", "2026-01", overrides={
                item_path("2026-03"): ReplayResponse(200, truncated),
                item_path("2026-04"): ReplayResponse(500, {"status": 500, "error": "Internal"})})
        yield story
    finally:
        drop_database(db_url)


def thread_requests(snapshot: Snapshot) -> list[str]:
    return sorted(r.path for r in snapshot.requests if r.path.startswith("/api/v1/items/"))


def months(*names: str) -> list[str]:
    return sorted(item_path(m) for m in names)


# --- crawl 1: backfill ----------------------------------------------------------------------------------------------

def test_backfill_asks_for_the_thread_list_once_then_every_thread(scenario):
    backfill = scenario.snapshots["backfill"]
    listing = [r for r in backfill.requests if r.path == LISTING_PATH]
    assert [r.query for r in listing] == ["tags=story,author_whoishiring&hitsPerPage=1000"]
    assert thread_requests(backfill) == months(*THREADS)
    assert {r.user_agent for r in backfill.requests} == {TEST_USER_AGENT}
    assert any(r.path == "/robots.txt" for r in backfill.requests)


def test_backfill_stores_one_posting_per_live_top_level_comment_of_every_thread_that_answered(scenario):
    expected = set().union(*(live_ids(m) for m in THREADS if m != "2026-02"))
    assert set(scenario.snapshots["backfill"].postings) == expected
    assert len(expected) == 219 + 264 + 332 + 345 + 290


def test_backfill_with_a_missing_thread_is_partial(scenario):
    run = scenario.snapshots["backfill"].run
    assert (run["status"], run["error"], run["errors"], run["closed"]) == ("partial", "threads_failed:1/6", 1, 0)
    assert run["stats"]["source_error/http_404"] == 1
    assert run["stats"]["thread/2011-04/2396027"] == 219 and "thread/2026-02/46857488" not in run["stats"]


def test_postings_keep_the_comment_time_and_its_week(scenario):
    row = scenario.snapshots["backfill"].postings["2396219"]
    assert row["posted_at"] == dt.datetime(2011, 4, 1, 13, 58, 14, tzinfo=dt.UTC)
    assert row["posted_week"] == dt.date(2011, 3, 28)
    assert row["posted_month"] == dt.date(2011, 4, 1)  # the thread's month


def test_postings_belong_to_their_threads_month(scenario):
    """``posted_month`` is the thread's month, whenever the comment was posted (the April 2011 thread opened on
    Friday 1 April: its postings' week starts in March, their month is April)."""
    postings = scenario.snapshots["backfill"].postings
    read = [month for month in THREADS if month != "2026-02"]  # the backfill's missing thread
    for month in read:
        first = dt.date.fromisoformat(f"{month}-01")
        assert {postings[i]["posted_month"] for i in live_ids(month)} == {first}, month


# --- crawl 2 and 3: incremental ----------------------------------------------------------------------------------

def test_incremental_reads_the_thread_never_read_and_the_newest(scenario):
    incremental = scenario.snapshots["incremental"]
    assert thread_requests(incremental) == months("2026-02", "2026-05")
    assert set(incremental.postings) == set().union(*(live_ids(m) for m in THREADS))
    run = incremental.run
    assert (run["status"], run["seen"], run["new"], run["closed"]) == ("ok", 421 + 290, 421, 0)


def test_incremental_again_reads_only_the_newest_thread(scenario):
    again = scenario.snapshots["again"]
    assert [r.path for r in again.requests if r.path != "/robots.txt"] == [LISTING_PATH, item_path("2026-05")]
    assert (again.run["status"], again.run["seen"], again.run["new"], again.run["closed"]) == ("ok", 290, 0, 0)
    assert again.summary["sources"]["hackernews:whoishiring"]["status"] == "ok"


def test_postings_of_threads_not_read_again_are_never_closed(scenario):
    incremental, again = scenario.snapshots["incremental"], scenario.snapshots["again"]
    assert all(row["closed_at"] is None for row in again.postings.values())
    may = live_ids("2026-05")
    for external_id, row in again.postings.items():
        before = incremental.postings[external_id]
        if external_id in may:
            assert row["last_seen_at"] > before["last_seen_at"]
        else:
            assert row == before


# --- crawl 4: failing threads ---------------------------------------------------------------------------------------

def test_failing_threads_make_the_crawl_partial(scenario):
    failing = scenario.snapshots["failing"]
    run = failing.run
    assert (run["status"], run["error"], run["errors"], run["closed"]) == ("partial", "threads_failed:2/5", 2, 0)
    assert run["stats"]["source_error/invalid_json"] == 1 and run["stats"]["source_error/http_500"] == 1
    assert run["seen"] == 264 + 421 + 290
    assert sum(r.path == item_path("2026-04") for r in failing.requests) == 2  # retried once, then given up


def test_what_is_stored_of_failing_threads_does_not_change(scenario):
    again, failing = scenario.snapshots["again"], scenario.snapshots["failing"]
    for month in ("2026-03", "2026-04", "2011-04"):
        assert {i: failing.postings[i] for i in live_ids(month)} == {i: again.postings[i] for i in live_ids(month)}
    read = live_ids("2026-01") | live_ids("2026-02") | live_ids("2026-05")
    assert all(failing.postings[i]["last_seen_at"] > again.postings[i]["last_seen_at"] for i in read)


# --- the bundled demo corpus ----------------------------------------------------------------------------------------

def test_the_demo_corpus_serves_the_thread_list_and_every_thread_it_names():
    demo = REPO_ROOT / "data" / "demo"
    source = next(s for s in load_sources(demo / "sources.toml") if s.kind == "hackernews")
    assert (source.key, source.company, source.options) == ("whoishiring", "Hacker News", {"since": "2011-04"})
    spider = HackerNewsSpider.from_crawler(get_crawler(HackerNewsSpider), sources=[source])
    with ReplayServer(demo) as server:
        with urllib.request.urlopen(spider.board_url(server.url, source.key), timeout=5) as response:
            threads = hiring_threads(json.loads(response.read())["hits"])
        assert {t.month: t.story_id for t in threads} == THREADS
        for thread in threads:
            with urllib.request.urlopen(spider.thread_url(server.url, thread.story_id), timeout=5) as response:
                assert json.loads(response.read())["id"] == thread.story_id
