"""Honour robots.txt ``Crawl-delay``: the host's download slot waits at least that long between requests.

Scrapy parses ``Crawl-delay`` (``RobotParser.crawl_delay``, 2.18) but does not act on it (scrapy/scrapy#892). On
``robots_parsed``, sent before any request waiting for that robots.txt goes on, the delay for our User-Agent raises
the host's download-slot delay (the slot exists: robots.txt was fetched through it) and the delay of a slot created
for it later (``Downloader.per_slot_settings``, Scrapy's ``DOWNLOAD_SLOTS``), and the slot's jitter is narrowed so
that even the shortest random delay is the Crawl-delay. AutoThrottle lowers slot delays towards ``DOWNLOAD_DELAY``
on ``response_downloaded``; this middleware, built after the extensions, receives that signal after AutoThrottle and
raises the delay again before the slot lets its next request out. Counted in stats: ``crawl_delay/hosts`` and
``crawl_delay/seconds/<host>``.

A Crawl-delay over ``CRAWL_DELAY_MAX`` seconds (120) is not honoured by waiting: one slow host would hold the
whole crawl (14 Greenhouse boards share one host: 14 requests an hour apart) until the scheduler's crawl timeout
kills it with every other source. The host is not crawled instead: each request to it is refused with
:class:`CrawlDelayTooLong` (its boards fail with ``crawl_delay_too_long``, nothing of them is closed or changed),
counted as ``crawl_delay/refused_hosts``, and logged once as a warning.
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

DEFAULT_MAX = 120.0  # seconds: CRAWL_DELAY_MAX when the setting is absent


class CrawlDelayTooLong(IgnoreRequest):
    """A request to a host whose robots.txt Crawl-delay is over ``CRAWL_DELAY_MAX``: not sent."""


class CrawlDelayMiddleware:
    """Keep each host's download-slot delay at or above the ``Crawl-delay`` its robots.txt gives our User-Agent."""

    def __init__(self, crawler, user_agent: str, max_delay: float = DEFAULT_MAX):
        self.crawler = crawler
        self.user_agent = user_agent
        self.max_delay = max_delay
        self.delays: dict[str, float] = {}  # download-slot key -> Crawl-delay in seconds
        self.refused: dict[str, float] = {}  # download-slot key -> its Crawl-delay, over max_delay

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        mw = cls(crawler, settings.get("ROBOTSTXT_USER_AGENT") or settings.get("USER_AGENT") or "",
                 settings.getfloat("CRAWL_DELAY_MAX", DEFAULT_MAX))
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
        if delay > self.max_delay:
            if key not in self.refused:
                self.crawler.stats.inc_value("crawl_delay/refused_hosts")
                logger.warning("robots.txt of %s asks for Crawl-delay %g s, over CRAWL_DELAY_MAX (%g s): the host is "
                               "not crawled", key, delay, self.max_delay)
            self.refused[key] = delay
            return
        self.delays[key] = max(delay, self.delays.get(key, 0.0))
        per_slot = downloader.per_slot_settings.get(key, {})
        downloader.per_slot_settings[key] = {**per_slot, "delay": max(self.delays[key], per_slot.get("delay", 0)),
                                             "jitter": 0.0}
        self.enforce(key)
        stats = self.crawler.stats
        stats.inc_value("crawl_delay/hosts")
        stats.set_value(f"crawl_delay/seconds/{key}", self.delays[key])
        logger.info("robots.txt of %s asks for Crawl-delay %s s: honoured", key, delay)

    def process_request(self, request: Request) -> None:
        """Refuse a request to a host whose Crawl-delay is over the maximum (robots.txt itself is never refused:
        it was fetched before the delay was known)."""
        if not self.refused:
            return
        key = self.crawler.engine.downloader.get_slot_key(request)
        if key in self.refused:
            raise CrawlDelayTooLong(f"Crawl-delay {self.refused[key]:g} s of {key} is over CRAWL_DELAY_MAX "
                                    f"({self.max_delay:g} s)")

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
