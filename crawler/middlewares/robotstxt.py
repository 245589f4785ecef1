"""RobotsTxtMiddleware that gives every request waiting for a robots.txt download the parsed rules.

Scrapy 2.19's middleware lets every request to a host await the one Deferred of the robots.txt download in
flight, through ``maybe_deferred_to_future``. The first waiter's adapter consumes the result, so later waiters
receive ``None`` ("no robots.txt") and are let through unchecked when requests go out together. Before the
async refactor (scrapy/scrapy#6802) each waiter got its own Deferred chained to the shared one; this restores
that, and leaves everything else (parsing, the 4xx-means-no-rules reading of RFC 9309, stats) to Scrapy.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.http import Request
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, safe for many requests sent while robots.txt is still downloading."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            return await maybe_deferred_to_future(_own_waiter(pending))
        return await super().robot_parser(request)


def _own_waiter(shared: Deferred) -> Deferred:
    """A new Deferred fired with the shared one's result, which passes on unchanged to the next waiter."""
    waiter: Deferred = Deferred()

    def relay(result):
        waiter.callback(result)
        return result

    shared.addCallback(relay)
    return waiter
