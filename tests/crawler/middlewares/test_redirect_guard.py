"""RedirectGuardMiddleware: which redirects stay on their host, on plain and on replayed requests (no network).

The crawls through it run in tests/security/test_hostile_servers.py.
"""

from __future__ import annotations

import pytest
from scrapy.http import Request
from scrapy.utils.test import get_crawler

from crawler.middlewares.redirect_guard import RedirectGuardMiddleware, RedirectOffHost, same_host
from crawler.middlewares.replay_hosts import ReplayHostsMiddleware
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.jsonld import JsonLdSpider
from jobtrend.config import SourceConfig
from tests.crawler.conftest import make_spider


@pytest.mark.parametrize(("source", "target", "same"), [
    ("http://api.example.org/a", "https://api.example.org/a", True),  # upgrade to https
    ("https://api.example.org/jobs", "https://api.example.org/jobs/", True),  # trailing slash
    ("https://example.org/careers", "https://www.example.org/careers", True),  # www. ignored
    ("https://API.Example.org./x", "https://api.example.org/y", True),  # case, trailing dot
    ("http://127.0.0.1:8765/a", "http://127.0.0.1:8765/b", True),
    ("http://127.0.0.1:8765/a", "https://127.0.0.1/b", True),  # the target scheme's default port
    ("http://127.0.0.1:8765/a", "http://127.0.0.1:8766/a", False),  # another port: another service
    ("https://example.org/", "https://example.org:6379/", False),
    ("http://127.0.0.1:8765/a", "http://localhost:8765/a", False),  # another name
    ("https://api.ashbyhq.com/x", "https://evil.example/x", False),
    ("https://api.ashbyhq.com/x", "https://api.ashbyhq.com.evil.example/x", False),
    ("https://boards-api.greenhouse.io/v1", "http://169.254.169.254/latest/meta-data/", False),
    ("https://example.org/a", "ftp://example.org/a", False),
    ("https://example.org/a", "https://example.org:bad/", False),
])
def test_same_host(source, target, same):
    assert same_host(source, target) is same


def guard(spider) -> RedirectGuardMiddleware:
    crawler = get_crawler(type(spider))
    crawler.spider = spider
    return RedirectGuardMiddleware.from_crawler(crawler)


def redirected(url: str, came_from: str, **meta) -> Request:
    return Request(url, meta={"redirect_urls": [came_from], **meta})


def test_a_board_redirected_off_its_host_is_refused_and_counted():
    spider = make_spider(AshbySpider, [SourceConfig("ashby", "acme")])
    middleware = guard(spider)
    assert middleware.process_request(Request("https://api.ashbyhq.com/posting-api/job-board/acme")) is None
    assert middleware.process_request(redirected("https://api.ashbyhq.com/b/", "https://api.ashbyhq.com/b")) is None
    with pytest.raises(RedirectOffHost):
        middleware.process_request(redirected("http://169.254.169.254/", "https://api.ashbyhq.com/b"))
    assert middleware.crawler.stats.get_value("redirect_guard/refused") == 1


def test_each_hop_is_checked():
    middleware = guard(make_spider(AshbySpider, []))
    hops = Request("https://evil.example/x", meta={"redirect_urls": ["https://api.ashbyhq.com/a",
                                                                      "https://api.ashbyhq.com/b"]})
    with pytest.raises(RedirectOffHost):
        middleware.process_request(hops)


def test_robots_txt_may_be_redirected():
    middleware = guard(make_spider(AshbySpider, []))
    robots = redirected("https://www.other.example/robots.txt", "https://example.org/robots.txt",
                        dont_obey_robotstxt=True)
    assert middleware.process_request(robots) is None
    page = redirected("https://www.other.example/robots.txt", "https://example.org/robots.txt")
    with pytest.raises(RedirectOffHost):  # a spider's own request for that path is not exempt
        middleware.process_request(page)


def test_a_career_site_may_be_redirected_to_its_key_host_or_what_follow_matches():
    key = "https://careers.example.org/jobs"
    spider = make_spider(JsonLdSpider, [SourceConfig("jsonld", key, options={"follow": r"boards\.partner\.example"})])
    spider.open_site(spider.sources[0])
    middleware = guard(spider)
    kwargs = {"key": key}

    def hop(url, came_from):
        return Request(url, meta={"redirect_urls": [came_from]}, cb_kwargs=kwargs)

    assert middleware.process_request(hop("https://boards.partner.example/acme/1", key)) is None  # follow
    assert middleware.process_request(hop("https://careers.example.org/jobs/1",
                                          "https://boards.partner.example/acme/1")) is None  # back to the key
    with pytest.raises(RedirectOffHost):
        middleware.process_request(hop("https://tracker.example/x", key))


def test_a_replayed_redirect_is_checked_on_its_original_urls():
    """In a replayed crawl the redirected request comes from the replay server's copy: the hop is the original
    URL to the target, and the target's own copy for the server is not checked again."""
    middleware = guard(make_spider(JsonLdSpider, []))
    replay = ReplayHostsMiddleware("http://127.0.0.1:8765/sites")
    copy = replay.process_request(Request("https://careers.example.org/jobs"))
    assert middleware.process_request(copy) is None
    same = copy.replace(url="https://careers.example.org/jobs/")  # RedirectMiddleware's request
    same.meta["redirect_urls"] = [copy.url]
    assert middleware.process_request(same) is None
    assert middleware.process_request(replay.process_request(same)) is None
    off = copy.replace(url="https://evil.example/jobs")
    off.meta["redirect_urls"] = [copy.url]
    with pytest.raises(RedirectOffHost):
        middleware.process_request(off)
    server = copy.replace(url="http://127.0.0.1:8765/v1/boards/acme/jobs")  # the replay server, by a redirect
    server.meta["redirect_urls"] = [copy.url]
    with pytest.raises(RedirectOffHost):
        middleware.process_request(server)
