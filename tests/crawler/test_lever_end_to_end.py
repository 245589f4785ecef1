"""Lever end to end, on SQLite and PostgreSQL: two crawls in child processes against two ReplayServers (the US and
the EU host), with three postings a page.

Crawl 1 reads a three-page site, two real one-page sites (one answers 429 with ``Retry-After: 1`` first), an empty
site, an EU site whose last page is ``[]``, and a site asked for in the wrong case (404). Crawl 2: the last page
loses a posting (closed), a site is gone (404: nothing closed), the EU site's second page fails (nothing closed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path

import pytest

from crawler.replay import LoggedRequest, ReplayResponse, ReplayServer
from tests.conftest import drop_database, new_database_url
from tests.crawler.conftest import REPLAY, TEST_USER_AGENT, read_database, run_crawl_child, write_config

SOURCES_TOML = """
[[sources]]
kind = "lever"
key = "AcmeAI"
company = "Acme AI"

[[sources]]
kind = "lever"
key = "acmeai"

[[sources]]
kind = "lever"
key = "jumpcloud"
company = "JumpCloud"

[[sources]]
kind = "lever"
key = "matchgroup"
company = "Match Group"

[[sources]]
kind = "lever"
key = "emptysite"

[[sources]]
kind = "lever"
key = "euroml"
company = "EuroML"
region = "eu"
"""
KEYS = ("AcmeAI", "acmeai", "jumpcloud", "matchgroup", "emptysite", "euroml")
PATH = "/v0/postings/{}"
LEVER_404 = ReplayResponse(404, {"ok": False, "error": "Document not found"})
RATE_LIMITED = ReplayResponse(429, {"ok": False, "error": "Too many requests"}, {"Retry-After": "1"})
# REPLAY_HOSTS_URL off: it would send requests for the EU server (another port) to the US one, under /sites/
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4", "-s", "LEVER_PAGE_SIZE=3",
        "-s", "REPLAY_HOSTS_URL="]

LAST_ON_PAGE_THREE = "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f60"
HYBRID = "5ac21346-8e0c-4494-8e7a-3eb92ff77902"
UNSPECIFIED = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
BARE = "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"


class ScriptedReplayServer(ReplayServer):
    """A ReplayServer that notes when each request arrived, answers the paths in ``once`` with a scripted response
    the first time only, and answers the paths in ``delays`` that many seconds late."""

    def __init__(self, root: Path, overrides: dict[str, ReplayResponse] | None = None, *,
                 once: dict[str, ReplayResponse] | None = None, delays: dict[str, float] | None = None):
        super().__init__(root, overrides)
        self.once = dict(once or {})
        self.delays = dict(delays or {})
        self.times: list[float] = []

    def record(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.times.append(time.monotonic())

    def respond(self, path: str, query: str = "") -> ReplayResponse:
        time.sleep(self.delays.get(path, 0))
        with self._lock:
            scripted = self.once.pop(path, None)
        return scripted or super().respond(path, query)

    def timed(self) -> list[tuple[LoggedRequest, float]]:
        """Every request with the time.monotonic() it arrived at."""
        return list(zip(self.requests, self.times, strict=True))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.times.clear()


@dataclasses.dataclass
class Snapshot:
    """The database, both servers' request logs and the summary after one crawl."""

    postings: dict[tuple[str, str], dict]
    runs: dict[str, dict]
    us: list[tuple[LoggedRequest, float]]
    eu: list[tuple[LoggedRequest, float]]
    summary: dict


def crawl(db_url: str, config_dir: Path, us: ScriptedReplayServer, eu: ScriptedReplayServer,
          after_run_id: int) -> Snapshot:
    command = [sys.executable, "-m", "crawler.run", "--api-base", us.url, "-s", f"LEVER_EU_API_BASE={eu.url}", *FAST]
    done = run_crawl_child(command, config_dir, db_url)
    snapshot = Snapshot(*read_database(db_url, after_run_id), us.timed(), eu.timed(), json.loads(done.stdout))
    us.clear()
    eu.clear()
    return snapshot


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawls(request, tmp_path_factory, sqlite_template, postgres_template):
    tmp = tmp_path_factory.mktemp(f"lever-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    config_dir = write_config(tmp / "config", [])
    (config_dir / "sources.toml").write_text(SOURCES_TOML)
    us_only = {PATH.format("euroml"): LEVER_404, PATH.format("acmeai"): LEVER_404}
    eu_only = {PATH.format(key): LEVER_404 for key in KEYS if key != "euroml"}  # a site lives on one host only
    try:
        with ScriptedReplayServer(REPLAY, us_only, once={PATH.format("matchgroup"): RATE_LIMITED}) as us, \
                ScriptedReplayServer(REPLAY, eu_only) as eu:
            first = crawl(db_url, config_dir, us, eu, 0)
            us.overrides |= {PATH.format("AcmeAI") + "?limit=3&mode=json&skip=6": ReplayResponse(200, []),
                             PATH.format("jumpcloud"): LEVER_404}
            eu.overrides |= {PATH.format("euroml") + "?limit=3&mode=json&skip=3": ReplayResponse(500, {"ok": False})}
            changed = crawl(db_url, config_dir, us, eu, max(r["id"] for r in first.runs.values()))
        yield {"first": first, "changed": changed}
    finally:
        drop_database(db_url)


def recorded_ids(key: str) -> set[str]:
    pages = sorted((REPLAY / "v0" / "postings").glob(f"{key}@*.json")) or [REPLAY / "v0" / "postings" / f"{key}.json"]
    return {j["id"] for page in pages for j in json.loads(page.read_text()) if "id" in j}


def postings_of(snapshot: Snapshot, key: str) -> dict[str, dict]:
    return {ext: row for (k, ext), row in snapshot.postings.items() if k == key}


def queries(log: list[tuple[LoggedRequest, float]], key: str) -> list[str]:
    return [r.query for r, _ in log if r.path == PATH.format(key)]


# --- crawl 1 -----------------------------------------------------------------------------------------------------

def test_every_page_of_a_paginated_site_is_read_in_order_and_stored(crawls):
    first = crawls["first"]
    assert queries(first.us, "AcmeAI") == [f"mode=json&skip={skip}&limit=3" for skip in (0, 3, 6)]
    assert set(postings_of(first, "AcmeAI")) == recorded_ids("AcmeAI") and len(recorded_ids("AcmeAI")) == 7
    run = first.runs["AcmeAI"]
    assert (run["status"], run["seen"], run["new"], run["errors"], run["closed"]) == ("ok", 7, 7, 1, 0)
    assert run["stats"]["item_error/missing_id"] == 1


def test_first_crawl_outcome_of_every_site(crawls):
    summary = crawls["first"].summary["sources"]
    assert {k: (s["status"], s["seen"], s["reason"]) for k, s in summary.items()} == {
        "lever:AcmeAI": ("ok", 7, None), "lever:acmeai": ("failed", 0, "http_404"),
        "lever:jumpcloud": ("ok", 2, None), "lever:matchgroup": ("ok", 2, None), "lever:emptysite": ("ok", 0, None),
        "lever:euroml": ("ok", 6, None)}
    for key in ("jumpcloud", "matchgroup", "euroml"):
        assert set(postings_of(crawls["first"], key)) == recorded_ids(key)


def test_eu_site_is_read_from_the_eu_host_only(crawls):
    first = crawls["first"]
    assert queries(first.eu, "euroml") == [f"mode=json&skip={skip}&limit=3" for skip in (0, 3, 6)]
    assert queries(first.us, "euroml") == []


def test_a_site_without_a_region_that_is_404_on_the_us_host_is_asked_for_once_on_the_eu_host(crawls):
    first, changed = crawls["first"], crawls["changed"]
    assert queries(first.us, "acmeai") == queries(first.eu, "acmeai") == ["mode=json&skip=0&limit=3"]
    assert {r.path for r, _ in first.eu} == {"/robots.txt", PATH.format("euroml"), PATH.format("acmeai")}
    assert queries(changed.eu, "jumpcloud") == ["mode=json&skip=0&limit=3"]  # gone from the US host: tried there
    assert first.runs["acmeai"]["stats"]["eu_fallback"] == 1


def test_site_names_are_case_sensitive(crawls):
    first = crawls["first"]
    assert queries(first.us, "acmeai") == ["mode=json&skip=0&limit=3"]
    assert first.runs["acmeai"]["error"] == "http_404" and postings_of(first, "acmeai") == {}


def test_rate_limited_site_is_retried_after_retry_after_and_its_postings_arrive(crawls):
    first = crawls["first"]
    times = [t for r, t in first.us if r.path == PATH.format("matchgroup")]
    assert len(times) == 2 and times[1] - times[0] >= 1.0
    assert first.runs["matchgroup"]["status"] == "ok" and len(postings_of(first, "matchgroup")) == 2


def test_rows_carry_the_lever_fields(crawls):
    rows = postings_of(crawls["first"], "AcmeAI")
    hybrid = rows[HYBRID]
    assert hybrid["posted_at"] == dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    assert hybrid["posted_week"] == dt.date(2026, 1, 26)
    assert (hybrid["remote"], hybrid["department"], hybrid["employment_type"]) == (False, "Engineering", "Full-time")
    assert hybrid["location"] == "London; Remote - UK" and hybrid["company"] == "Acme AI"
    assert hybrid["url"] == f"https://jobs.lever.co/AcmeAI/{HYBRID}"
    text = hybrid["description_text"]
    assert "What you'll build" in text and "PyTorch & distributed training" in text
    assert text.index("About Acme AI") < text.index("Requirements") < text.index("We sponsor visas.")
    assert rows[UNSPECIFIED]["remote"] is True and rows[UNSPECIFIED]["department"] == "Data Platform"
    assert rows[BARE]["posted_at"] == rows[BARE]["first_seen_at"]  # no createdAt
    assert rows[BARE]["title"] == "Solutions Architect, Generative AI"


def test_robots_txt_of_both_hosts_is_read_with_the_honest_user_agent(crawls):
    first = crawls["first"]
    for log in (first.us, first.eu):
        assert [r.path for r, _ in log].count("/robots.txt") == 1
        assert {r.user_agent for r, _ in log} == {TEST_USER_AGENT}


# --- crawl 2 -----------------------------------------------------------------------------------------------------

def test_posting_gone_from_the_last_page_is_closed_and_the_others_stay_open(crawls):
    changed = crawls["changed"]
    rows = postings_of(changed, "AcmeAI")
    assert rows[LAST_ON_PAGE_THREE]["closed_at"] is not None
    assert all(row["closed_at"] is None for ext, row in rows.items() if ext != LAST_ON_PAGE_THREE)
    run = changed.runs["AcmeAI"]
    assert (run["status"], run["seen"], run["closed"]) == ("ok", 6, 1)


def without_last_seen(rows: dict[str, dict]) -> dict[str, dict]:
    return {ext: {k: v for k, v in row.items() if k != "last_seen_at"} for ext, row in rows.items()}


@pytest.mark.parametrize(("key", "reason", "read_again"), [("jumpcloud", "http_404", 0), ("euroml", "http_500", 3)])
def test_failing_site_closes_nothing(crawls, key, reason, read_again):
    first, changed = crawls["first"], crawls["changed"]
    run = changed.runs[key]
    assert (run["status"], run["error"], run["closed"]) == ("failed", reason, 0)
    before, after = postings_of(first, key), postings_of(changed, key)
    assert without_last_seen(after) == without_last_seen(before)  # closed_at still None, nothing else changed
    assert all(row["closed_at"] is None for row in after.values())
    # only the postings of pages read before the failure were seen again
    assert sum(after[ext]["last_seen_at"] > before[ext]["last_seen_at"] for ext in after) == read_again


def test_a_failing_second_page_is_retried_then_fails_the_site(crawls):
    changed = crawls["changed"]
    assert queries(changed.eu, "euroml") == ["mode=json&skip=0&limit=3"] + ["mode=json&skip=3&limit=3"] * 3


def test_second_crawl_of_unchanged_sites_is_ok_and_changes_nothing(crawls):
    changed = crawls["changed"]
    for key in ("matchgroup", "emptysite"):
        assert changed.runs[key]["status"] == "ok" and changed.runs[key]["new"] == 0
    assert queries(changed.us, "matchgroup") == ["mode=json&skip=0&limit=3"]  # no 429 this time
