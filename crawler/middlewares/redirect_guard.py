"""Refuse a redirect that leaves the host it came from: a board's API must not hand the crawl to another site.

Scrapy's RedirectMiddleware (a 3xx ``Location``) and MetaRefreshMiddleware (``<meta http-equiv="refresh">``) follow
any redirect to any host. A board API answering ``302`` to another host had that host's jobs stored under the board
(and the board's own postings closed, since the crawl looked complete); a redirect to ``169.254.169.254`` sent the
crawler to a cloud metadata service. Both middlewares hand the new request back to the engine with the URLs it came
through in ``meta["redirect_urls"]``, so every redirected request passes through :meth:`process_request` here
before anything is sent for it (this middleware runs before the robots.txt one, which would otherwise fetch the new
host's robots.txt first). A redirect is followed when its target is on the same host as the URL it came from:

- the same host name, case and a trailing dot ignored, and ``www.`` ignored (``example.com`` ->
  ``www.example.com``), so ``http://`` -> ``https://`` and a trailing slash still work;
- on the same port, or the default port of the target's scheme (an upgrade to ``https://`` on 443);

or when the spider allows it (:meth:`crawler.spiders.source.SourceSpider.allows_redirect`: a career site, to its
key's host or to a URL its ``follow`` pattern matches). Each hop is checked, so a chain stays on one host.
Anything else is refused with :class:`RedirectOffHost` before a connection is made: the request's errback records
``redirect_off_host`` (its source fails, or for a career site's job page becomes partial: nothing is closed),
counted as ``redirect_guard/refused``. A robots.txt request may be redirected anywhere (RFC 9309 asks crawlers to
follow such redirects; it stores nothing), still subject to ``crawler/middlewares/address_guard.py``.

In a replayed crawl (``crawler/middlewares/replay_hosts.py``) a request and its copy for the replay server are one
request: the hop is checked on the original URLs, and the replay server's copy is not checked again.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from crawler.middlewares.replay_hosts import ORIGINAL_URL, REPLAYED_URL
from crawler.urls import bare_host

logger = logging.getLogger(__name__)

REDIRECT_OFF_HOST = "redirect_off_host"
DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectOffHost(IgnoreRequest):
    """A redirect to another host than the one the request was sent to: not followed."""


class RedirectGuardMiddleware:
    """Let a redirected request through only when it stays on its host (or the spider allows its target)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        urls = request.meta.get("redirect_urls")
        if not urls or request.meta.get(REPLAYED_URL) == request.url:  # no redirect, or the replay server's copy
            return
        came_from = request.meta[ORIGINAL_URL] if request.meta.get(REPLAYED_URL) == urls[-1] else urls[-1]
        if is_robots_txt(request, came_from) or same_host(came_from, request.url):
            return
        spider = self.crawler.spider
        if spider is not None and getattr(spider, "allows_redirect", lambda *_: False)(request, request.url):
            return
        self.crawler.stats.inc_value("redirect_guard/refused")
        logger.warning("not following the redirect from %s to %s: another host", came_from, request.url)
        raise RedirectOffHost(f"redirect from {came_from} to another host: {request.url}")


def same_host(source: str, target: str) -> bool:
    """Whether a redirect from ``source`` to the http(s) URL ``target`` stays on the host (see the module doc)."""
    try:
        src, dst = urlsplit(source), urlsplit(target)
        src_port = src.port or DEFAULT_PORTS.get(src.scheme.lower())
        dst_port = dst.port or DEFAULT_PORTS.get(dst.scheme.lower())
    except ValueError:  # a port that is no number
        return False
    if dst.scheme.lower() not in DEFAULT_PORTS or not bare_host(target) or bare_host(source) != bare_host(target):
        return False
    return dst_port == src_port or dst_port == DEFAULT_PORTS[dst.scheme.lower()]


def is_robots_txt(request: Request, came_from: str) -> bool:
    """Whether ``request`` is the robots.txt middleware's, redirected (a spider's requests are not exempt)."""
    return bool(request.meta.get("dont_obey_robotstxt")) and urlsplit(came_from).path == "/robots.txt"
