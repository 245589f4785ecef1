"""BoardSpider's shared handling: failed boards, empty boards, and where the boards to crawl come from."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError, TimeoutError
from twisted.python.failure import Failure

from crawler.spiders.ashby import AshbySpider
from crawler.spiders.greenhouse import GreenhouseSpider
from crawler.spiders.source import SeenIds, resolve_sources
from jobtrend.config import SourceConfig
from tests.crawler.conftest import board_path, make_spider, parse_board, response_for

SOURCE = SourceConfig("ashby", "render")


@pytest.fixture
def spider():
    return make_spider(AshbySpider, [SOURCE])


def errback_with(spider, exc: Exception) -> None:
    failure = Failure(exc)
    failure.request = Request(spider.board_url("https://x.test", SOURCE.key), cb_kwargs={"source": SOURCE})
    spider.board_failed(failure)


@pytest.mark.parametrize(("body", "reason"), [
    (board_path("ashby", "render").read_bytes()[:500], "invalid_json"),
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "invalid_json"),
    (b"", "invalid_json"),
    (b"\xff\xfe not utf-8", "invalid_json"),
    (b'[{"id": "1"}]', "unexpected_shape"),
    (b'{"status": 404, "error": "Job not found"}', "unexpected_shape"),
    (b'{"jobs": {"id": "1"}}', "unexpected_shape"),
])
def test_unreadable_board_fails_with_a_reason_and_is_counted(spider, body, reason):
    assert parse_board(spider, SOURCE, body) == []
    result = spider.source_results["render"]
    assert (result.status, result.reason, result.seen_ids) == ("failed", reason, set())
    assert spider.crawler.stats.get_value(f"jobtrend/source_error/{reason}") == 1
    assert spider.crawler.stats.get_value(f"jobtrend/source/ashby:render/source_error/{reason}") == 1


def test_http_error_is_recorded_with_its_status(spider):
    response = response_for(spider, SOURCE, b'{"status":404,"error":"Job not found"}', status=404)
    errback_with(spider, HttpError(response))
    assert spider.source_results["render"].reason == "http_404"
    assert spider.crawler.stats.get_value("jobtrend/source_error/http_404") == 1


@pytest.mark.parametrize("exc", [ConnectionRefusedError(), TimeoutError()])
def test_download_error_is_recorded_with_its_exception_class(spider, exc):
    errback_with(spider, exc)
    reason = f"download_error:{type(exc).__name__}"
    assert spider.source_results["render"].status == "failed"
    assert spider.source_results["render"].reason == reason


def test_request_forbidden_by_robots_txt_is_named(spider):
    errback_with(spider, IgnoreRequest("Forbidden by robots.txt"))
    assert spider.source_results["render"].reason == "robots_txt_forbidden"
    errback_with(spider, IgnoreRequest("something else"))
    assert spider.source_results["render"].reason == "download_error:IgnoreRequest"


@pytest.mark.parametrize(("exc", "reason"), [
    (DownloadCancelledError("Expected to receive 9000 bytes which is larger than download max size (100) in "
                            "request <GET http://x>."), "too_large"),
    (IgnoreRequest("Ignored response <200 http://x> because its body (10 B compressed, 200 B decompressed so far) "
                   "exceeded DOWNLOAD_MAXSIZE (100 B) during decompression."), "too_large"),
    (DownloadCancelledError("cancelled by the engine"), "download_error:DownloadCancelledError"),
])
def test_a_body_over_the_size_limit_is_named_too_large(spider, exc, reason):
    errback_with(spider, exc)
    assert spider.source_results["render"].reason == reason


def test_failure_is_logged_with_the_board_name(spider, caplog):
    parse_board(spider, SOURCE, b"not json")
    assert "'render'" in caplog.text and "invalid_json" in caplog.text


def test_empty_board_is_ok_with_no_items():
    spider = make_spider(GreenhouseSpider, [SourceConfig("greenhouse", "empty")])
    assert parse_board(spider, spider.sources[0], b'{"jobs": [], "meta": {"total": 0}}') == []
    assert spider.source_results["empty"].status == "ok"
    assert spider.source_results["empty"].seen_ids == set()


def test_job_that_cannot_be_read_is_skipped_and_counted(spider):
    body = b'{"jobs": [{"id": "a", "title": "ok", "jobUrl": "u"}, {"id": "b", "title": 5}]}'
    items = parse_board(spider, SOURCE, body)
    assert [i["external_id"] for i in items] == ["a"]
    assert spider.crawler.stats.get_value("jobtrend/item_error/unreadable:AttributeError") == 1
    assert spider.source_results["render"].seen_ids == {"a", "b"}  # it is on the board: never close it


def test_sources_given_explicitly_are_filtered_to_the_spider_kind():
    sources = [SourceConfig("ashby", "a"), SourceConfig("greenhouse", "b")]
    assert resolve_sources("ashby", None, sources) == [sources[0]]


def test_sources_come_from_config_or_from_boards_argument():
    configured = [SourceConfig("ashby", "cohere", company="Cohere"), SourceConfig("ashby", "harvey"),
                  SourceConfig("greenhouse", "stripe")]
    assert [s.key for s in resolve_sources("ashby", None, None, configured)] == ["cohere", "harvey"]
    chosen = resolve_sources("ashby", " cohere, newco,,cohere", None, configured)
    assert [(s.key, s.company) for s in chosen] == [("cohere", "Cohere"), ("newco", None)]


# --- the ids a finished board listed ------------------------------------------------------------------------------

def test_seen_ids_answer_as_the_set_of_ids_they_were_made_from():
    ids = {f"job-{n}" for n in range(1000)} | {"", "Ünïcode", "x" * 200}
    seen = SeenIds(ids)
    assert len(seen) == len(ids) and all(i in seen for i in ids)
    assert "job-1000" not in seen and None not in seen and ["unhashable"] not in seen
    assert seen == ids and ids == seen and seen != ids - {"job-1"} and seen == SeenIds(list(ids) * 2)
    assert {"job-1", "job-2"} <= seen and not ({"job-1", "elsewhere"} <= seen) and seen <= ids | {"more"}
    assert SeenIds() == set() and len(SeenIds()) == 0


def test_seen_ids_take_eight_bytes_an_id():
    seen = SeenIds(f"{n:08x}-aaaa-bbbb-cccc-{n:012x}" for n in range(100_000))  # Ashby-like uuids
    assert seen._hashes.itemsize == 8 and len(seen._hashes) == 100_000  # 0.8 MB where a set of str takes ~10 MB


def test_a_finished_board_keeps_its_ids_compact(spider):
    parse_board(spider, SOURCE, b'{"jobs": [{"id": "a", "title": "A", "jobUrl": "u"}, {"id": "b", "title": "B"}]}')
    result = spider.source_results["render"]
    assert isinstance(result.seen_ids, SeenIds) and result.seen_ids == {"a", "b"}
