"""Retry-After: the retry of a 429/503 waits as long as the server asks (up to RETRY_AFTER_MAX), other hosts do not.

Unit tests drive the middleware with a fake sleep; one crawl in a child process shows the wait is real and does not
block the crawl of another host (a second ReplayServer, whose robots.txt answers only during the wait).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from email.utils import format_datetime

import pytest
from scrapy import Spider
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares.retry_after import RetryAfterMiddleware, retry_after_seconds
from crawler.replay import ReplayResponse
from tests.crawler.conftest import REPLAY, run_crawl_child, write_config
from tests.crawler.test_lever_end_to_end import ScriptedReplayServer

NOW = 1_780_000_000.0  # a fixed wall clock for HTTP-dates
URL = "https://api.lever.co/v0/postings/acme?mode=json&skip=0&limit=100"


@dataclass
class Harness:
    """The middleware on a test crawler, with a fake sleep that records how long it was asked to wait."""

    mw: RetryAfterMiddleware
    stats: object
    waits: list[float] = field(default_factory=list)

    def held(self, url: str = URL) -> float:
        """How long a request to ``url`` would now be held before it goes out (0 when not at all)."""
        before = len(self.waits)
        asyncio.run(self.mw.process_request(Request(url)))
        return self.waits[before] if len(self.waits) > before else 0.0


def harness(**settings) -> Harness:
    crawler = get_crawler(Spider, {"RETRY_AFTER_MAX": 120, "RETRY_HTTP_CODES": [429, 500, 503], "RETRY_TIMES": 2,
                                   **settings})
    crawler.spider = Spider.from_crawler(crawler, name="test")
    test = Harness(RetryAfterMiddleware.from_crawler(crawler), crawler.stats)

    async def fake_sleep(seconds: float) -> None:
        test.waits.append(seconds)

    test.mw.clock, test.mw.sleep = (lambda: NOW), fake_sleep
    return test


def answer(status: int, retry_after: str | None = None, url: str = URL) -> tuple[Request, Response]:
    request = Request(url)
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return request, Response(url, status=status, headers=headers, request=request)


@pytest.fixture
def h() -> Harness:
    return harness()


@pytest.mark.parametrize(("value", "seconds"), [
    ("7", 7.0), (b"0", 0.0), (" 120 ", 120.0),
    (format_datetime(dt.datetime.fromtimestamp(NOW + 30, dt.UTC), usegmt=True), 30.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: retry now
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None),
])
def test_retry_after_is_delta_seconds_or_an_http_date(value, seconds):
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize("status", [429, 503])
def test_retry_waits_for_retry_after_and_is_counted(h, status):
    retry = h.mw.process_response(*answer(status, "5"))
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert h.held(retry.url) == pytest.approx(5, abs=0.5)
    assert h.stats.get_value("retry_after/count") == 1 and h.stats.get_value("retry_after/seconds") == 5
    assert h.stats.get_value("retry/count") == 1


def test_http_date_retry_after_is_waited_for(h):
    date = format_datetime(dt.datetime.fromtimestamp(NOW + 42, dt.UTC), usegmt=True)
    h.mw.process_response(*answer(429, date))
    assert h.held() == pytest.approx(42, abs=0.5)


def test_the_pause_holds_only_the_origin_that_asked(h):
    h.mw.process_response(*answer(429, "5"))
    assert h.held("https://api.lever.co/v0/postings/other?mode=json&skip=0&limit=100") > 4
    assert h.held("https://api.eu.lever.co/v0/postings/acme?mode=json&skip=0&limit=100") == 0
    assert h.held("http://api.lever.co/robots.txt") == 0  # another scheme is another origin


def test_retry_after_over_the_cap_gives_up_at_once(h):
    request, response = answer(429, "121")
    assert h.mw.process_response(request, response) is response
    assert h.stats.get_value("retry_after/max_exceeded") == 1
    assert h.stats.get_value("retry/count") is None
    assert h.held() == 0


def test_retries_still_run_out(h):
    request, response = answer(429, "1")
    request.meta["retry_times"] = 2
    assert h.mw.process_response(request, response) is response
    assert h.stats.get_value("retry/max_reached") == 1
    assert h.held() == 0


def test_without_retry_after_scrapy_retries_at_once(h):
    retry = h.mw.process_response(*answer(503))
    assert isinstance(retry, Request) and h.held() == 0
    assert h.stats.get_value("retry_after/count") is None


@pytest.mark.parametrize("status", [200, 404])
def test_other_statuses_pass_even_with_retry_after(h, status):
    request, response = answer(status, "5")
    assert h.mw.process_response(request, response) is response and h.held() == 0


def test_dont_retry_is_respected(h):
    request, response = answer(429, "5")
    request.meta["dont_retry"] = True
    assert h.mw.process_response(request, response) is response


def test_the_cap_is_a_setting():
    request, response = answer(429, "4")
    assert harness(RETRY_AFTER_MAX=3).mw.process_response(request, response) is response


# --- a real crawl: the retry waits, another host is crawled meanwhile -------------------------------------------

@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_the_wait_is_real_does_not_block_other_hosts_and_is_capped(db_url, tmp_path):
    config_dir = write_config(tmp_path / "config", [])
    (config_dir / "sources.toml").write_text(
        '[[sources]]\nkind = "lever"\nkey = "jumpcloud"\n\n[[sources]]\nkind = "lever"\nkey = "matchgroup"\n\n'
        '[[sources]]\nkind = "lever"\nkey = "euroml"\nregion = "eu"\n')
    rate_limited = ReplayResponse(429, {"ok": False, "error": "Too many requests"}, {"Retry-After": "1"})
    too_long = ReplayResponse(429, {"ok": False, "error": "Too many requests"}, {"Retry-After": "600"})
    with ScriptedReplayServer(REPLAY, {"/v0/postings/matchgroup": too_long},
                              once={"/v0/postings/jumpcloud": rate_limited}) as us, \
            ScriptedReplayServer(REPLAY, delays={"/robots.txt": 0.3}) as eu:
        command = [sys.executable, "-m", "crawler.run", "--api-base", us.url, "-s", f"LEVER_EU_API_BASE={eu.url}",
                   "-s", "LEVER_PAGE_SIZE=3", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                   "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4",  # both servers are 127.0.0.1: one download slot
                   "-s", "REPLAY_HOSTS_URL="]  # else the EU server's requests go to the US one
        done = run_crawl_child(command, config_dir, db_url)
    summary = json.loads(done.stdout)
    assert {k: (s["status"], s["reason"]) for k, s in summary["sources"].items()} == {
        "lever:jumpcloud": ("ok", None), "lever:euroml": ("ok", None), "lever:matchgroup": ("failed", "http_429")}
    assert us.hits("/v0/postings/matchgroup") == 1  # 600 s is over RETRY_AFTER_MAX: no retry, no wait
    limited, retried = [t for r, t in us.timed() if r.path == "/v0/postings/jumpcloud"]
    assert retried - limited >= 1.0
    eu_pages = [t for r, t in eu.timed() if r.path == "/v0/postings/euroml"]
    assert len(eu_pages) == 3
    assert all(limited < t < retried for t in eu_pages)  # the other host was crawled during the wait
    assert "'retry_after/count': 1" in done.stderr and "'retry_after/max_exceeded': 1" in done.stderr
