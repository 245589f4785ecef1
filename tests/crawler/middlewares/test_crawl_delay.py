"""robots.txt Crawl-delay: the host's download slot keeps at least that delay, whatever AutoThrottle does.

Unit tests send ``robots_parsed`` and ``response_downloaded`` to the middleware on a test crawler whose downloader
holds real Scrapy slots; one crawl in a child process shows the spacing of requests to a replay server whose
robots.txt sets ``Crawl-delay``, with AutoThrottle on and no DOWNLOAD_DELAY.
"""

from __future__ import annotations

import re
import sys
from types import SimpleNamespace

import pytest
from scrapy import Spider, signals
from scrapy.core.downloader import Slot
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.middlewares.crawl_delay import CrawlDelayMiddleware, CrawlDelayTooLong, floor_delay
from crawler.replay import ReplayResponse
from crawler.spiders.source import failure_reason
from jobtrend.config import SourceConfig
from tests.crawler.conftest import REPLAY, TEST_USER_AGENT, read_database, run_crawl_child, write_config
from tests.crawler.test_lever_end_to_end import ScriptedReplayServer

LEVER_ROBOTS = "User-agent: *\nAllow: /\nCrawl-delay: 1\n"  # what api.lever.co serves
BOARD = "https://api.lever.co/v0/postings/acme?mode=json&skip=0&limit=100"


class FakeDownloader:
    """The parts of Scrapy's Downloader the middleware uses: real slots by key, per-slot settings."""

    def __init__(self):
        self.slots = {"api.lever.co": Slot(1, 0.0, 0.5), "boards-api.greenhouse.io": Slot(1, 0.0, 0.5)}
        self.per_slot_settings: dict[str, dict] = {}

    def get_slot_key(self, request: Request) -> str:
        return request.meta.get("download_slot") or urlparse_cached(request).hostname


def setup(robots: str = LEVER_ROBOTS, **settings):
    crawler = get_crawler(Spider, {"ROBOTSTXT_OBEY": True, "USER_AGENT": TEST_USER_AGENT, **settings})
    crawler.engine = SimpleNamespace(downloader=FakeDownloader())
    crawler.middleware = CrawlDelayMiddleware.from_crawler(crawler)  # kept: signals hold handlers weakly
    crawler.signals.send_catch_log(signals.robots_parsed, request=Request(BOARD),
                                   robotparser=ProtegoRobotParser(robots.encode(), None))
    return crawler, crawler.engine.downloader


def downloaded(crawler, url: str = BOARD, slot: str = "api.lever.co") -> None:
    request = Request(url, meta={"download_slot": slot})
    crawler.signals.send_catch_log(signals.response_downloaded, response=Response(url, request=request),
                                   request=request, spider=None)


def test_crawl_delay_raises_the_hosts_slot_delay_and_removes_jitter_below_it():
    crawler, downloader = setup()
    slot = downloader.slots["api.lever.co"]
    assert (slot.delay, slot.jitter) == (1.0, 0.0)
    assert downloader.per_slot_settings["api.lever.co"] == {"delay": 1.0, "jitter": 0.0}  # a re-created slot
    assert crawler.stats.get_value("crawl_delay/hosts") == 1
    assert crawler.stats.get_value("crawl_delay/seconds/api.lever.co") == 1.0


def test_other_hosts_slots_are_untouched():
    _, downloader = setup()
    other = downloader.slots["boards-api.greenhouse.io"]
    assert (other.delay, other.jitter) == (0.0, 0.5)
    assert "boards-api.greenhouse.io" not in downloader.per_slot_settings


def test_the_group_for_our_user_agent_wins():
    robots = "User-agent: jobtrend-test\nCrawl-delay: 0.5\n\nUser-agent: *\nCrawl-delay: 3\n"
    _, downloader = setup(robots)
    assert downloader.slots["api.lever.co"].delay == 0.5


@pytest.mark.parametrize("robots", ["User-agent: *\nAllow: /\n", "User-agent: other-bot\nCrawl-delay: 9\n",
                                    "User-agent: *\nCrawl-delay: soon\n", ""])
def test_no_crawl_delay_for_us_changes_nothing(robots):
    crawler, downloader = setup(robots)
    assert (downloader.slots["api.lever.co"].delay, downloader.slots["api.lever.co"].jitter) == (0.0, 0.5)
    assert downloader.per_slot_settings == {} and crawler.stats.get_value("crawl_delay/hosts") is None


def test_autothrottle_lowering_the_delay_is_undone_when_the_response_arrives():
    crawler, downloader = setup()
    slot = downloader.slots["api.lever.co"]
    slot.delay = 0.2  # what AutoThrottle does on response_downloaded for a fast host
    downloaded(crawler)
    assert slot.delay == 1.0
    other = downloader.slots["boards-api.greenhouse.io"]
    other.delay = 0.2
    downloaded(crawler, "https://boards-api.greenhouse.io/v1/boards/x/jobs", "boards-api.greenhouse.io")
    assert other.delay == 0.2


def test_a_longer_delay_is_kept():
    crawler, downloader = setup()
    slot = downloader.slots["api.lever.co"]
    slot.delay, slot.jitter = 3.0, 0.5  # AutoThrottle backed off further: 1.5 to 4.5 s
    downloaded(crawler)
    assert (slot.delay, slot.jitter) == (3.0, 0.5)


@pytest.mark.parametrize(("delay", "jitter", "minimum", "expected"), [
    (0.0, 0.5, 1.0, (1.0, 0.0)), (1.0, 0.5, 1.0, (1.0, 0.0)), (4.0, 0.5, 1.0, (4.0, 0.5)),
    (1.5, 0.5, 1.0, (1.5, pytest.approx(1 / 3))), (2.0, 0.0, 1.0, (2.0, 0.0)),
])
def test_the_shortest_jittered_delay_is_at_least_the_minimum(delay, jitter, minimum, expected):
    slot = Slot(1, delay, jitter)
    floor_delay(slot, minimum)
    assert (slot.delay, slot.jitter) == expected
    assert slot.delay * (1 - slot.jitter) >= minimum - 1e-9


def test_a_crawl_delay_over_the_maximum_refuses_the_host_instead_of_waiting():
    crawler, downloader = setup("User-agent: *\nCrawl-delay: 600\n", CRAWL_DELAY_MAX=120)
    assert (downloader.slots["api.lever.co"].delay, downloader.slots["api.lever.co"].jitter) == (0.0, 0.5)
    assert downloader.per_slot_settings == {} and crawler.stats.get_value("crawl_delay/refused_hosts") == 1
    with pytest.raises(CrawlDelayTooLong, match=r"Crawl-delay 600 s of api\.lever\.co is over CRAWL_DELAY_MAX"):
        crawler.middleware.process_request(Request(BOARD))
    assert crawler.middleware.process_request(Request("https://boards-api.greenhouse.io/v1/boards/x/jobs")) is None
    try:
        crawler.middleware.process_request(Request(BOARD))
    except CrawlDelayTooLong:
        reason = failure_reason(Failure())
    assert reason == "crawl_delay_too_long"


def test_a_crawl_delay_at_the_maximum_is_honoured():
    crawler, downloader = setup("User-agent: *\nCrawl-delay: 120\n", CRAWL_DELAY_MAX=120)
    assert downloader.slots["api.lever.co"].delay == 120.0
    assert crawler.middleware.process_request(Request(BOARD)) is None


def test_off_when_robots_txt_is_not_obeyed():
    with pytest.raises(NotConfigured):
        CrawlDelayMiddleware.from_crawler(get_crawler(Spider, {"ROBOTSTXT_OBEY": False}))


# --- a real crawl ---------------------------------------------------------------------------------------------

def crawl_lever_boards(db_url, tmp_path, crawl_delay: str, *settings: str):
    """Crawl two Lever boards from a replay server whose robots.txt asks for ``crawl_delay``; the finished child
    process and the server's (request, time) log."""
    config_dir = write_config(tmp_path / "config", [SourceConfig("lever", "AcmeAI"), SourceConfig("lever",
                                                                                                  "jumpcloud")])
    robots = ReplayResponse(200, f"User-agent: *\nAllow: /\nCrawl-delay: {crawl_delay}\n",
                            {"Content-Type": "text/plain"})
    with ScriptedReplayServer(REPLAY, {"/robots.txt": robots}) as server:
        command = [sys.executable, "-m", "crawler.run", "--api-base", server.url]
        for setting in settings:
            command += ["-s", setting]
        done = run_crawl_child(command, config_dir, db_url)
        return done, server.timed()


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_requests_to_a_host_with_a_crawl_delay_are_spaced_by_it(db_url, tmp_path):
    done, log = crawl_lever_boards(db_url, tmp_path, "0.5", "LEVER_PAGE_SIZE=3", "AUTOTHROTTLE_ENABLED=True",
                                   "DOWNLOAD_DELAY=0", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
    assert [r.path for r, _ in log][0] == "/robots.txt"
    acme = [r.query for r, _ in log if r.path == "/v0/postings/AcmeAI"]
    assert acme == [f"mode=json&skip={skip}&limit=3" for skip in (0, 3, 6)]
    gaps = [later - earlier for (_, earlier), (_, later) in zip(log, log[1:], strict=False)]
    assert len(gaps) == 4 and min(gaps) >= 0.45  # never closer than 0.5 s, though nothing else holds them back
    assert re.search(r"'crawl_delay/seconds/127\.0\.0\.1': 0\.5", done.stderr)


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_a_host_asking_for_an_hour_between_requests_fails_its_boards_at_once(db_url, tmp_path):
    done, log = crawl_lever_boards(db_url, tmp_path, "3600")
    assert [r.path for r, _ in log] == ["/robots.txt"]  # no board request was sent, and none waited an hour
    _, runs = read_database(db_url, 0)
    assert {key: (run["status"], run["error"]) for key, run in runs.items()} == {
        "AcmeAI": ("failed", "crawl_delay_too_long"), "jumpcloud": ("failed", "crawl_delay_too_long")}
    assert "over CRAWL_DELAY_MAX (120 s): the host is not crawled" in done.stderr
