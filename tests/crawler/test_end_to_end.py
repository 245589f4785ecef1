"""End to end, on SQLite and PostgreSQL: real crawls in child processes against the ReplayServer on 127.0.0.1.

One scenario per database runs four crawls and snapshots the database after each; the tests assert on the
snapshots. The crawls: (1) ``python -m crawler.run --api-base`` against a ReplayServer in this process (whose
request log the tests read), (2) the same data again through ``--replay`` (run_crawl's own server),
(3) with overrides: a job gone, a 404, a truncated payload, an HTML page, a 500, changed content, a board
forbidden by robots.txt (crawl 1 answers robots.txt with a 401, as Ashby does: read as "no rules"),
(4) ``scrapy crawl ashby -a boards=...`` cut short by ``CLOSESPIDER_ITEMCOUNT``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from crawler.replay import NOT_FOUND, ReplayResponse, ReplayServer
from jobtrend.config import SourceConfig
from tests.conftest import drop_database, new_database_url
from tests.crawler.conftest import (
    REPLAY,
    TEST_USER_AGENT,
    board_jobs,
    board_path,
    read_database,
    run_crawl_child,
    write_config,
)

ASHBY = ("SecondDinner", "integrationapp", "Homebound", "render", "emptyco")
GREENHOUSE = ("acmeai", "helsing", "dropbox")
SOURCES = [SourceConfig("ashby", k, company=f"{k} Co") for k in ASHBY] + [
    SourceConfig("greenhouse", k) for k in GREENHOUSE]
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]

GONE_ID = board_jobs("ashby", "SecondDinner")[0]["id"]
RENDER_GONE_ID = "558f18ed-c98c-4928-aa2b-2f9e297eea42"
CHANGED_GREENHOUSE_ID = "4012345"
ASHBY_ROBOTS = ReplayResponse(401, {"message": "Unauthorized"})  # what api.ashbyhq.com/robots.txt answers
ASHBY_PATH = "/posting-api/job-board/{}"
GREENHOUSE_PATH = "/v1/boards/{}/jobs"


def without_job(kind: str, key: str, external_id: str, title_suffix: str = "") -> ReplayResponse:
    """The recorded board without one job; with ``title_suffix`` added to every other job's title."""
    payload = json.loads(board_path(kind, key).read_bytes())
    payload["jobs"] = [j for j in payload["jobs"] if not isinstance(j, dict) or str(j.get("id")) != external_id]
    for job in payload["jobs"]:
        if title_suffix and isinstance(job, dict) and isinstance(job.get("title"), str):
            job["title"] += title_suffix
    return ReplayResponse(200, payload)


def with_changed_content() -> ReplayResponse:
    payload = json.loads(board_path("greenhouse", "acmeai").read_bytes())
    job = next(j for j in payload["jobs"] if str(j["id"]) == CHANGED_GREENHOUSE_ID)
    job["content"] = "&lt;p&gt;Now we also use &lt;b&gt;JAX&lt;/b&gt;.&lt;/p&gt;"
    job["updated_at"] = "2026-06-01T10:00:00-04:00"
    return ReplayResponse(200, payload)


def changes() -> dict[str, ReplayResponse]:
    return {
        ASHBY_PATH.format("SecondDinner"): without_job("ashby", "SecondDinner", GONE_ID),
        ASHBY_PATH.format("integrationapp"): NOT_FOUND,
        ASHBY_PATH.format("Homebound"): ReplayResponse(200, board_path("ashby", "Homebound").read_bytes()[:1000]),
        GREENHOUSE_PATH.format("helsing"): ReplayResponse(200, "<html><body>Maintenance</body></html>",
                                                          {"Content-Type": "text/html"}),
        GREENHOUSE_PATH.format("dropbox"): ReplayResponse(500, {"status": 500, "error": "Internal"}),
        GREENHOUSE_PATH.format("acmeai"): with_changed_content(),
        "/robots.txt": ReplayResponse(200, "User-agent: *\nDisallow: /posting-api/job-board/emptyco\n",
                                      {"Content-Type": "text/plain"}),
    }


@dataclasses.dataclass
class Snapshot:
    """The database and the replay server's request log after one crawl."""

    postings: dict[tuple[str, str], dict]
    runs: dict[str, dict]
    requests: list
    summary: dict | None


class Scenario:
    """Runs crawls in child processes against one database and keeps a snapshot after each."""

    def __init__(self, db_url: str, config_dir: Path):
        self.db_url, self.config_dir = db_url, config_dir
        self.snapshots: dict[str, Snapshot] = {}
        self.last_run_id = 0

    def run(self, name: str, command: list[str], server: ReplayServer | None) -> None:
        done = run_crawl_child(command, self.config_dir, self.db_url)
        summary = json.loads(done.stdout) if "crawler.run" in command else None
        requests = list(server.requests) if server else []
        if server:
            server.requests.clear()
        self.snapshots[name] = Snapshot(*self.read(), requests, summary)

    def read(self) -> tuple[dict, dict]:
        postings, runs = read_database(self.db_url, self.last_run_id)
        self.last_run_id = max([self.last_run_id, *(r["id"] for r in runs.values())])
        return postings, runs


def crawl_run(*args: str) -> list[str]:
    return [sys.executable, "-m", "crawler.run", *args, *FAST]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(request, tmp_path_factory, sqlite_template, postgres_template):
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    story = Scenario(db_url, write_config(tmp / "config", SOURCES, batch_size=3))
    try:
        with ReplayServer(REPLAY, {"/robots.txt": ASHBY_ROBOTS}) as server:
            story.run("first", crawl_run("--api-base", server.url), server)
            story.run("again", crawl_run("--replay", str(REPLAY)), None)
            server.overrides.update(changes())
            story.run("changed", crawl_run("--api-base", server.url), server)
            # retitled, so that items reach the pipelines (an unchanged posting never does) and the cut comes
            server.overrides = {ASHBY_PATH.format("render"): without_job("ashby", "render", RENDER_GONE_ID,
                                                                         " (retitled)")}
            scrapy = [sys.executable, "-m", "scrapy", "crawl", "ashby", "-a", "boards=render,SecondDinner",
                      "-s", f"ASHBY_API_BASE={server.url}", "-s", "CLOSESPIDER_ITEMCOUNT=1", *FAST]
            story.run("cut_short", scrapy, server)
        yield story
    finally:
        drop_database(db_url)


def listed_ids(kind: str, key: str) -> set[str]:
    jobs = [j for j in board_jobs(kind, key) if isinstance(j, dict) and j.get("id") and j.get("isListed", True)]
    return {str(j["id"]) for j in jobs}


def postings_of(snapshot: Snapshot, key: str) -> dict[str, dict]:
    return {ext: row for (k, ext), row in snapshot.postings.items() if k == key}


# --- crawl 1: everything stored, every run ok, robots.txt and the honest User-Agent -----------------------------

def test_first_crawl_stores_every_listed_job(scenario):
    first = scenario.snapshots["first"]
    for source in SOURCES:
        assert set(postings_of(first, source.key)) == listed_ids(source.kind, source.key), source.key
    assert RENDER_GONE_ID in postings_of(first, "render")
    assert "0f6d2c1e-7a51-4c52-9e0c-2b8f1d3a9c01" not in postings_of(first, "render")  # unlisted


def test_first_crawl_records_an_ok_run_per_source_with_counts(scenario):
    runs = scenario.snapshots["first"].runs
    assert set(runs) == {s.key for s in SOURCES}
    for source in SOURCES:
        run, seen = runs[source.key], len(listed_ids(source.kind, source.key))
        assert (run["status"], run["seen"], run["new"], run["updated"], run["closed"]) == ("ok", seen, seen, 0, 0)
        assert run["finished_at"] >= run["started_at"]
    assert (runs["render"]["errors"], runs["render"]["stats"]["item_error/missing_id"]) == (2, 1)
    assert runs["render"]["stats"]["unlisted"] == 1
    assert runs["emptyco"]["seen"] == 0 and runs["emptyco"]["status"] == "ok"


def test_summary_matches_the_crawl_runs(scenario):
    first = scenario.snapshots["first"]
    summary = first.summary
    assert set(summary["sources"]) == {s.label for s in SOURCES}
    assert summary["sources"]["ashby:render"] == {"status": "ok", "seen": 4, "new": 4, "updated": 0, "dropped": 0,
                                                  "errors": 2, "closed": 0, "reason": None}
    assert summary["postings_stored"] == summary["postings_seen"] == len(first.postings)
    assert summary["elapsed_s"] > 0 and summary["postings_per_s"] > 0


def test_greenhouse_rows_use_first_published_and_unescaped_text(scenario):
    rows = postings_of(scenario.snapshots["first"], "acmeai")
    assert rows["4012345"]["posted_at"] == dt.datetime(2026, 4, 20, 13, 30, tzinfo=dt.UTC)
    assert rows["4012345"]["posted_week"] == dt.date(2026, 4, 20)
    assert "Acme AI builds training pipelines & evals for frontier models." in rows["4012345"]["description_text"]
    assert rows["4012346"]["title"] == "Senior Data Scientist"
    no_date = rows["4012347"]
    assert no_date["posted_at"] == no_date["first_seen_at"]


def test_robots_txt_is_fetched_and_the_honest_user_agent_is_sent(scenario):
    requests = scenario.snapshots["first"].requests
    assert any(r.path == "/robots.txt" for r in requests)  # answered 401 like Ashby's: no rules, crawl on
    assert {r.user_agent for r in requests} == {TEST_USER_AGENT}
    board_requests = {r.path: r.query for r in requests if r.path != "/robots.txt"}
    assert board_requests[ASHBY_PATH.format("render")] == "includeCompensation=true"
    assert board_requests[GREENHOUSE_PATH.format("acmeai")] == "content=true"
    assert len(board_requests) == len(SOURCES)


# --- crawl 2: the same data again -------------------------------------------------------------------------------

def test_same_data_again_adds_nothing_and_changes_only_last_seen(scenario):
    first, again = scenario.snapshots["first"], scenario.snapshots["again"]
    assert again.postings.keys() == first.postings.keys()
    for key, row in again.postings.items():
        before = first.postings[key]
        assert row["last_seen_at"] > before["last_seen_at"]
        assert {k: v for k, v in row.items() if k != "last_seen_at"} == {
            k: v for k, v in before.items() if k != "last_seen_at"}
    for run in again.runs.values():
        assert (run["status"], run["new"], run["updated"], run["closed"]) == ("ok", 0, 0, 0)
        assert run["stats"].get("unchanged", 0) == run["seen"]


# --- crawl 3: a vanished job, failing boards, changed content ----------------------------------------------------

def test_job_gone_from_a_complete_crawl_is_closed(scenario):
    changed = scenario.snapshots["changed"]
    rows = postings_of(changed, "SecondDinner")
    assert rows[GONE_ID]["closed_at"] is not None
    assert all(row["closed_at"] is None for ext, row in rows.items() if ext != GONE_ID)
    assert changed.runs["SecondDinner"]["closed"] == 1 and changed.runs["SecondDinner"]["status"] == "ok"


@pytest.mark.parametrize(("key", "reason"), [
    ("integrationapp", "http_404"), ("Homebound", "invalid_json"), ("helsing", "invalid_json"),
    ("dropbox", "http_500"),
])
def test_failing_board_is_recorded_failed_and_its_postings_untouched(scenario, key, reason):
    again, changed = scenario.snapshots["again"], scenario.snapshots["changed"]
    run = changed.runs[key]
    assert (run["status"], run["error"], run["closed"], run["seen"], run["errors"]) == ("failed", reason, 0, 0, 1)
    assert run["stats"] == {f"source_error/{reason}": 1}
    assert changed.summary["sources"][next(s.label for s in SOURCES if s.key == key)]["reason"] == reason
    assert postings_of(changed, key) == postings_of(again, key)  # not closed, not even touched
    assert all(row["closed_at"] is None for row in postings_of(changed, key).values())


def test_server_errors_are_retried_before_the_board_fails(scenario):
    assert sum(r.path == GREENHOUSE_PATH.format("dropbox") for r in scenario.snapshots["changed"].requests) == 3


def test_other_boards_are_crawled_despite_the_failures(scenario):
    runs = scenario.snapshots["changed"].runs
    assert {k for k, r in runs.items() if r["status"] == "ok"} == {"SecondDinner", "render", "acmeai"}


def test_board_forbidden_by_robots_txt_is_not_fetched_and_fails(scenario):
    changed = scenario.snapshots["changed"]
    assert (changed.runs["emptyco"]["status"], changed.runs["emptyco"]["error"]) == ("failed",
                                                                                      "robots_txt_forbidden")
    assert not any(r.path == ASHBY_PATH.format("emptyco") for r in changed.requests)


def test_changed_content_updates_only_that_posting(scenario):
    again, changed = scenario.snapshots["again"], scenario.snapshots["changed"]
    before, after = postings_of(again, "acmeai"), postings_of(changed, "acmeai")
    assert changed.runs["acmeai"]["updated"] == 1 and changed.runs["acmeai"]["stats"]["unchanged"] == 3
    assert after[CHANGED_GREENHOUSE_ID]["content_hash"] != before[CHANGED_GREENHOUSE_ID]["content_hash"]
    assert after[CHANGED_GREENHOUSE_ID]["description_text"] == "Now we also use JAX."
    assert after[CHANGED_GREENHOUSE_ID]["posted_at"] == before[CHANGED_GREENHOUSE_ID]["posted_at"]
    for ext in set(after) - {CHANGED_GREENHOUSE_ID}:
        assert after[ext]["content_hash"] == before[ext]["content_hash"]


# --- crawl 4: cut short -------------------------------------------------------------------------------------------

def test_crawl_cut_short_is_partial_and_closes_nothing(scenario):
    cut = scenario.snapshots["cut_short"]
    assert set(cut.runs) == {"render", "SecondDinner"}
    for run in cut.runs.values():
        assert (run["status"], run["error"], run["closed"]) == ("partial", "cut_short:closespider_itemcount", 0)
    assert postings_of(cut, "render")[RENDER_GONE_ID]["closed_at"] is None
    assert {r.user_agent for r in cut.requests} == {TEST_USER_AGENT}
