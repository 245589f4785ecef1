"""Plain words beside the reason codes of crawl_runs, naming the host where it helps."""

import pytest

from crawler.extensions.source_lines import source_line
from jobtrend.reasons import in_words, is_network_error, with_words


@pytest.mark.parametrize(("reason", "words"), [
    ("download_error:CannotResolveHostError", "DNS lookup failed for api.ashbyhq.com"),
    ("download_error:DownloadConnectionRefusedError", "connection refused by api.ashbyhq.com"),
    ("download_error:DownloadTimeoutError", "no answer in time (crawl.download_timeout) from api.ashbyhq.com"),
    ("http_404", "the board does not exist (HTTP 404): check its key"),
    ("http_503 <html>busy</html>", "HTTP 503 service unavailable from api.ashbyhq.com"),
    ("http_418", "HTTP 418 error from api.ashbyhq.com"),
    ("robots_txt_forbidden", "robots.txt forbids the request on api.ashbyhq.com"),
    ("cut_short:closespider_timeout", "the crawl stopped before the board was finished (closespider_timeout)"),
])
def test_known_codes_get_words(reason, words):
    assert in_words(reason, "api.ashbyhq.com") == words


def test_without_a_host_the_words_stop_before_it():
    assert in_words("download_error:CannotResolveHostError") == "DNS lookup failed"
    assert with_words("http_429") == "HTTP 429 rate limited after retries (http_429)"
    assert is_network_error("download_error:DNSLookupError") and not is_network_error("download_error:SSLError")


def test_an_unknown_code_is_shown_as_it_is():
    assert in_words("download_error:SomethingNew") is None
    assert with_words("download_error:SomethingNew") == "download_error:SomethingNew"
    assert with_words(None) == ""


def test_source_lines_say_counts_when_ok_and_the_reason_otherwise():
    assert source_line("greenhouse:anthropic", "ok", None, 123, 4) == "greenhouse:anthropic ok 123 seen, 4 new"
    assert source_line("ashby:foo", "failed", "download_error:CannotResolveHostError", 0, 0, "api.ashbyhq.com") == (
        "ashby:foo failed: DNS lookup failed for api.ashbyhq.com (download_error:CannotResolveHostError)")
    assert source_line("lever:x", "partial", "page_limit_reached", 500, 2) == (
        "lever:x partial 500 seen, 2 new: more pages than crawl.max_board_pages (page_limit_reached)")
