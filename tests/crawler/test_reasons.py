"""Plain words beside the reason codes of crawl_runs, naming the host where it helps."""

import pytest

from crawler.extensions.source_lines import source_line
from crawler.reasons import in_words, with_words


@pytest.mark.parametrize(("reason", "words"), [
    ("download_error:CannotResolveHostError", "DNS lookup failed for api.ashbyhq.com"),
    ("download_error:DownloadConnectionRefusedError", "api.ashbyhq.com refused the connection"),
    ("download_error:DownloadTimeoutError", "api.ashbyhq.com did not answer in time (crawl.download_timeout)"),
    ("http_404", "the board does not exist (HTTP 404): check its key in sources.toml"),
    ("http_503", "api.ashbyhq.com answered with a server error (HTTP 503)"),
    ("http_418", "api.ashbyhq.com answered HTTP 418"),
    ("robots_txt_forbidden", "robots.txt of api.ashbyhq.com forbids it"),
    ("cut_short:closespider_timeout", "the crawl stopped early (closespider_timeout)"),
])
def test_known_codes_get_words(reason, words):
    assert in_words(reason, "api.ashbyhq.com") == words


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
