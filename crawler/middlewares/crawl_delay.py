"""Honour robots.txt ``Crawl-delay``: the host's download slot waits at least that long between requests.

Scrapy parses ``Crawl-delay`` (``RobotParser.crawl_delay``, 2.18) but does not act on it (scrapy/scrapy#892). On
``robots_parsed``, sent before any request waiting for that robots.txt goes on, the delay for our User-Agent raises
the host's download-slot delay (the slot exists: robots.txt was fetched through it) and the delay of a slot created
for it later (``Downloader.per_slot_settings``, Scrapy's ``DOWNLOAD_SLOTS``), and the slot's jitter is narrowed so
that even the shortest random delay is the Crawl-delay. AutoThrottle lowers slot delays towards ``DOWNLOAD_DELAY``
on ``response_downloaded``; this middleware, built after the extensions, receives that signal after AutoThrottle and
raises the delay again before the slot lets its next request out. Counted in stats: ``crawl_delay/hosts`` and
``crawl_delay/seconds/<host>``.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)


class CrawlDelayMiddleware:
    """Keep each host's download-slot delay at or above the ``Crawl-delay`` its robots.txt gives our User-Agent."""

    def __init__(self, crawler, user_agent: str):
        self.crawler = crawler
        self.user_agent = user_agent
        self.delays: dict[str, float] = {}  # download-slot key -> Crawl-delay in seconds

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        mw = cls(crawler, settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or "")
        crawler.signals.connect(mw.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(mw.response_downloaded, signal=signals.response_downloaded)
        return mw

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        """Read the Crawl-delay for our User-Agent and apply it to the host's slot."""
        delay = robotparser.crawl_delay(self.user_agent)
        if not delay or delay <= 0:
            return
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        self.delays[key] = max(delay, self.delays.get(key, 0.0))
        per_slot = downloader.per_slot_settings.get(key, {})
        downloader.per_slot_settings[key] = {**per_slot, "delay": max(self.delays[key], per_slot.get("delay", 0)),
                                             "jitter": 0.0}
        self.enforce(key)
        stats = self.crawler.stats
        stats.inc_value("crawl_delay/hosts")
        stats.set_value(f"crawl_delay/seconds/{key}", self.delays[key])
        logger.info("robots.txt of %s asks for Crawl-delay %s s: honoured", key, delay)

    def response_downloaded(self, response: Response, request: Request) -> None:
        """Undo any lowering of the slot delay below the Crawl-delay (AutoThrottle adjusts it on this signal)."""
        key = request.meta.get("download_slot")
        if key in self.delays:
            self.enforce(key)

    def enforce(self, key: str) -> None:
        """Raise slot ``key``'s delay to its Crawl-delay, narrowing the jitter so no random delay is shorter."""
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is not None:
            floor_delay(slot, self.delays[key])


def floor_delay(slot, minimum: float) -> None:
    """Make ``slot.delay`` at least ``minimum``, and ``slot.jitter`` small enough that ``delay * (1 - jitter)``
    (the shortest delay the slot draws) is at least ``minimum`` too."""
    slot.delay = max(slot.delay, minimum)
    if slot.delay * (1 - slot.jitter) < minimum:
        slot.jitter = 1 - minimum / slot.delay
