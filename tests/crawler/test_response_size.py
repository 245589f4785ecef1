"""ResponseSizeExtension flags a request whose streamed body passes the size limit, and the spiders then name
its message-less DownloadCancelledError ``too_large``."""

from scrapy import Request, Spider
from scrapy.exceptions import DownloadCancelledError
from twisted.python.failure import Failure

from crawler.extensions.response_size import BODY_BYTES_META, TOO_LARGE_META, ResponseSizeExtension
from crawler.spiders.source import failure_reason


def _receive(extension, request, *chunks, spider=None):
    for chunk in chunks:
        extension.bytes_received(chunk, request, spider or Spider("s"))


def test_bytes_are_counted_and_the_request_flagged_once_past_the_limit():
    extension, request = ResponseSizeExtension(maxsize=10), Request("http://127.0.0.1/board")
    _receive(extension, request, b"12345", b"12345")
    assert (request.meta[BODY_BYTES_META], TOO_LARGE_META in request.meta) == (10, False)  # at the limit is fine
    _receive(extension, request, b"1")
    assert request.meta[TOO_LARGE_META] is True


def test_a_request_s_own_limit_and_the_spider_s_override_the_setting():
    extension = ResponseSizeExtension(maxsize=10)
    own = Request("http://127.0.0.1/a", meta={"download_maxsize": 100})
    _receive(extension, own, b"x" * 50)
    assert TOO_LARGE_META not in own.meta
    spider = Spider("s")
    spider.download_maxsize = 3
    small = Request("http://127.0.0.1/b")
    _receive(extension, small, b"xxxx", spider=spider)
    assert small.meta[TOO_LARGE_META] is True


def test_no_limit_flags_nothing():
    extension, request = ResponseSizeExtension(maxsize=0), Request("http://127.0.0.1/board")
    _receive(extension, request, b"x" * 10_000)
    assert TOO_LARGE_META not in request.meta


def test_a_cancelled_download_is_too_large_only_when_flagged():
    failure = Failure(DownloadCancelledError())
    failure.request = Request("http://127.0.0.1/board")
    assert failure_reason(failure) == "download_error:DownloadCancelledError"
    failure.request.meta[TOO_LARGE_META] = True
    assert failure_reason(failure) == "too_large"
