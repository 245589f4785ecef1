"""Marks a request whose body grew past the download size limit, so that its failure is named ``too_large``.

Scrapy cancels a streamed body (no Content-Length, or a wrong one) once it passes ``DOWNLOAD_MAXSIZE``, but the
DownloadCancelledError it raises then carries no message, so the errback cannot tell it from any other cancel.
This extension counts each request's body bytes as they arrive (the ``bytes_received`` signal, sent before the
download handler checks the limit) and sets ``request.meta[TOO_LARGE_META]`` when the count passes the limit.
"""

from __future__ import annotations

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler

BODY_BYTES_META = "jobtrend_body_bytes"
TOO_LARGE_META = "jobtrend_too_large"


class ResponseSizeExtension:
    def __init__(self, maxsize: int):
        self.maxsize = maxsize

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResponseSizeExtension:
        extension = cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        crawler.signals.connect(extension.bytes_received, signal=signals.bytes_received)
        return extension

    def bytes_received(self, data: bytes, request: Request, spider: Spider) -> None:
        received = request.meta.get(BODY_BYTES_META, 0) + len(data)
        request.meta[BODY_BYTES_META] = received
        limit = request.meta.get("download_maxsize", getattr(spider, "download_maxsize", self.maxsize))
        if limit and received > limit:
            request.meta[TOO_LARGE_META] = True
