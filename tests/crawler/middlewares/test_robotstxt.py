"""robots.txt is obeyed for every request, also for many requests sent together while it downloads."""

from __future__ import annotations

import json
import sys

import pytest

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import SourceConfig
from tests.crawler.conftest import REPLAY, run_crawl_child, write_config

# Four real boards, each listed twice under other names that robots.txt forbids, so that allowed and
# forbidden requests interleave; all go out at once (8 per host, no delay).
BOARDS = ("SecondDinner", "integrationapp", "Homebound", "render")
FORBIDDEN = tuple(f"blocked-{b}" for b in BOARDS)
PATH = "/posting-api/job-board/{}"
ROBOTS = "User-agent: *\n" + "".join(f"Disallow: {PATH.format(b)}\n" for b in FORBIDDEN)
CONCURRENT = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


def crawl(db_url, tmp_path, middleware_settings: list[str]):
    order = [b for pair in zip(BOARDS, FORBIDDEN, strict=True) for b in pair]
    sources = [SourceConfig("ashby", key) for key in order]
    config_dir = write_config(tmp_path / "config", sources)
    overrides = {"/robots.txt": ReplayResponse(200, ROBOTS, {"Content-Type": "text/plain"})}
    overrides |= {PATH.format(f"blocked-{b}"): ReplayResponse(200, (REPLAY / f"posting-api/job-board/{b}.json")
                                                              .read_bytes()) for b in BOARDS}
    with ReplayServer(REPLAY, overrides) as server:
        command = [sys.executable, "-m", "crawler.run", "--api-base", server.url, *CONCURRENT, *middleware_settings]
        done = run_crawl_child(command, config_dir, db_url)
        paths = [r.path for r in server.requests]
    return paths, json.loads(done.stdout)


def test_every_concurrent_request_is_checked_against_robots_txt(db_url, tmp_path):
    paths, summary = crawl(db_url, tmp_path, [])
    assert paths.count("/robots.txt") == 1
    assert not [p for p in paths if p in {PATH.format(b) for b in FORBIDDEN}]
    assert {PATH.format(b) for b in BOARDS} <= set(paths)
    for board in FORBIDDEN:
        assert summary["sources"][f"ashby:{board}"]["status"] == "failed"
        assert summary["sources"][f"ashby:{board}"]["reason"] == "robots_txt_forbidden"
    for board in BOARDS:
        assert summary["sources"][f"ashby:{board}"]["status"] == "ok"


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_scrapys_own_middleware_lets_concurrent_requests_through(db_url, tmp_path):
    """Why ours exists: with Scrapy 2.19's middleware some forbidden board is fetched. When this fails,
    Scrapy has fixed it and crawler/middlewares/robotstxt.py can go."""
    stock = ["-s", 'DOWNLOADER_MIDDLEWARES={"crawler.middlewares.robotstxt.RobotsTxtMiddleware": null, '
                   '"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": 100}']
    paths, _ = crawl(db_url, tmp_path, stock)
    assert [p for p in paths if p in {PATH.format(b) for b in FORBIDDEN}]
