"""Scrapy's RetryMiddleware, made to wait as long as a ``Retry-After`` header asks before the retry goes out.

Scrapy retries a 429 or 503 at once and ignores ``Retry-After`` (scrapy/scrapy#3849). Here, a response whose status
is in ``RETRY_HTTP_CODES`` and that carries ``Retry-After`` (delta-seconds or an HTTP-date) pauses its origin
(scheme, host and port) for that long: the retry request, and any other request to that origin that reaches the
downloader meanwhile, awaits a non-blocking sleep in :meth:`RetryAfterMiddleware.process_request` until the pause
ends. Other hosts go on being crawled, and the download slot is not held, so its delay and concurrency stay as
they were. A wait above ``RETRY_AFTER_MAX`` seconds is not waited for: the response is passed on and the board
fails with ``http_<status>``. Waits are counted (``retry_after/count``, ``retry_after/seconds``,
``retry_after/max_exceeded``); everything else (retry counts, ``RETRY_TIMES``, giving up) is Scrapy's.

A download that timed out (``DOWNLOAD_TIMEOUT``, ``crawl.download_timeout``: the whole download, from connecting
to the last byte of the body) is retried at most ``TIMEOUT_RETRY_TIMES`` times (0: never), not ``RETRY_TIMES``: a
server that dribbles its answer (a byte every 10 s) does so again, and with one request at a time per host each
attempt holds the host's only download slot for the whole timeout while its other boards wait. So one slow board
costs its host one timeout, not three; it fails with ``download_error:DownloadTimeoutError`` (nothing closed) and
is counted as ``retry/timeout_not_retried``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.error import TCPTimedOutError
from twisted.internet.error import TimeoutError as ConnectTimeoutError

logger = logging.getLogger(__name__)

DELTA_SECONDS = re.compile(r"[0-9]+")
TIMED_OUT = (DownloadTimeoutError, ConnectTimeoutError, TCPTimedOutError)
TIMEOUTS_META = "jobtrend_timeouts"  # how many times this request timed out


class RetryAfterMiddleware(RetryMiddleware):
    """Retry like Scrapy, but not before the ``Retry-After`` the server sent (up to ``max_wait`` seconds)."""

    def __init__(self, settings: BaseSettings, max_wait: float = 120.0, stats=None,
                 clock: Callable[[], float] = time.time,
                 sleeper: Callable[[float], Awaitable[None]] = sleep):
        super().__init__(settings)
        self.timeout_retries = settings.getint("TIMEOUT_RETRY_TIMES", 0)
        self.max_wait = max_wait
        self.stats = stats
        self.clock = clock  # wall clock, for HTTP-dates
        self.sleep = sleeper
        self.resume_at: dict[str, float] = {}  # origin -> time.monotonic() when it may be asked again

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler.settings, max_wait=crawler.settings.getfloat("RETRY_AFTER_MAX", 120.0),
                 stats=crawler.stats)
        mw.crawler = crawler
        return mw

    async def process_request(self, request: Request) -> None:
        """Hold a request to an origin that asked us to wait until its pause is over."""
        wait = self.resume_at.get(origin(request), 0.0) - time.monotonic()
        if wait > 0:
            await self.sleep(wait)

    def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        """Retry like Scrapy, except a timed-out download past ``TIMEOUT_RETRY_TIMES``."""
        if isinstance(exception, TIMED_OUT) and not request.meta.get("dont_retry", False):
            timeouts = request.meta.get(TIMEOUTS_META, 0) + 1
            if timeouts > self.timeout_retries:
                self.stats.inc_value("retry/timeout_not_retried")
                logger.warning("not retrying %s: it timed out (%s)", request, type(exception).__name__)
                return None
            retry = super().process_exception(request, exception)
            if isinstance(retry, Request):
                retry.meta[TIMEOUTS_META] = timeouts
            return retry
        return super().process_exception(request, exception)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"), self.clock())
        if wait is None:
            return super().process_response(request, response)
        if wait > self.max_wait:
            self.stats.inc_value("retry_after/max_exceeded")
            logger.warning("not retrying %s: Retry-After %.0f s is over RETRY_AFTER_MAX (%.0f s)",
                           request, wait, self.max_wait)
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        key = origin(request)
        self.resume_at[key] = max(self.resume_at.get(key, 0.0), time.monotonic() + wait)
        self.stats.inc_value("retry_after/count")
        self.stats.inc_value("retry_after/seconds", wait)
        logger.info("%s answered %d with Retry-After %.0f s: retrying %s after that", key, response.status, wait,
                    request)
        return retry


def origin(request: Request) -> str:
    """The scheme, host and port a request goes to: what a Retry-After pauses."""
    url = urlparse_cached(request)
    return f"{url.scheme}://{url.netloc}"


def retry_after_seconds(value: bytes | str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds, or an HTTP-date compared with ``now``, epoch
    seconds); None when there is none or it cannot be read. A date in the past means 0."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if DELTA_SECONDS.fullmatch(text):
        return float(text)
    try:
        date = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if date.tzinfo is None:  # "-0000": UTC, origin unknown
        date = date.replace(tzinfo=dt.UTC)
    return max(0.0, date.timestamp() - now)
