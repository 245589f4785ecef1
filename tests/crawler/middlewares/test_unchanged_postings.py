"""The spider middleware that keeps back postings stored exactly as listed: what passes, what is noted, and what
happens without a readable database. (A whole crawl through it, with the rows marked seen when the source is
recorded, on both databases: tests/crawler/pipelines/test_unchanged.py and tests/crawler/test_end_to_end.py.)"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.items import JobPosting
from crawler.middlewares.unchanged_postings import RECOGNISED_STAT, UNCHANGED_ROWS, UnchangedPostingsMiddleware
from crawler.pipelines.unchanged import StoredRawHashes, raw_hash
from jobtrend.config import SourceConfig


def posting(external_id: str, **overrides) -> JobPosting:
    fields = {"source_kind": "ashby", "source_key": "acme", "external_id": external_id, "title": "ML Engineer",
              "url": f"https://jobs.ashbyhq.com/acme/{external_id}", "description_html": "<p>PyTorch</p>"}
    return JobPosting(**(fields | overrides))


def opened(db_url: str = "sqlite:///:memory:", stored: list[JobPosting] = ()):
    """A middleware on a test crawler whose spider crawls ashby:acme, opened, holding ``stored`` as if read."""
    crawler = get_crawler(settings_dict={"JOBTREND_DATABASE_URL": db_url})
    spider = SimpleNamespace(name="ashby", sources=[])
    middleware = UnchangedPostingsMiddleware.from_crawler(crawler)
    middleware.spider_opened(spider)
    middleware.stored = StoredRawHashes((raw_hash(item), 40 + n) for n, item in enumerate(stored))
    return middleware, spider, crawler


def test_a_stored_posting_is_kept_back_and_its_row_noted_and_the_rest_passes_with_its_raw_hash():
    known, new = posting("j1"), posting("j2")
    request = scrapy.Request("https://api.ashbyhq.com/posting-api/job-board/acme")
    middleware, spider, crawler = opened(stored=[posting("j1")])
    passed = list(middleware.process_spider_output(None, [request, known, new]))
    assert passed == [request, new]
    assert new["raw_hash"] == raw_hash(posting("j2")) and known["raw_hash"] == raw_hash(posting("j1"))
    assert getattr(spider, UNCHANGED_ROWS).of("acme") == [(40, raw_hash(posting("j1")))]
    middleware.spider_closed(spider)
    assert crawler.stats.get_value(RECOGNISED_STAT) == 1


def test_the_async_output_of_a_callback_is_filtered_the_same_way():
    middleware, spider, _ = opened(stored=[posting("j1")])

    async def output():
        for element in (posting("j1"), posting("j2"), posting("j1")):
            yield element

    async def collect():
        return [item async for item in middleware.process_spider_output_async(None, output())]

    assert [item["external_id"] for item in asyncio.run(collect())] == ["j2"]
    assert getattr(spider, UNCHANGED_ROWS).of("acme") == [(40, raw_hash(posting("j1")))]  # listed twice: one row


def test_the_hash_is_of_the_fields_as_the_spider_yielded_them_before_any_cleaning():
    hostile = posting("j\x001", title="ML\x00 Engineer")
    middleware, _, _ = opened(stored=[posting("j\x001", title="ML\x00 Engineer")])
    assert list(middleware.process_spider_output(None, [hostile])) == []
    middleware, _, _ = opened(stored=[posting("j1", title="ML Engineer")])
    assert list(middleware.process_spider_output(None, [posting("j\x001", title="ML\x00 Engineer")]))


def test_without_a_database_url_the_middleware_is_off():
    with pytest.raises(NotConfigured):
        UnchangedPostingsMiddleware.from_crawler(get_crawler(settings_dict={"JOBTREND_DATABASE_URL": ""}))


def test_a_database_that_cannot_be_read_recognises_nothing_and_says_so_once(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'jobtrend.db'}"
    crawler = get_crawler(settings_dict={"JOBTREND_DATABASE_URL": url})
    spider = SimpleNamespace(name="ashby", sources=[SourceConfig("ashby", "acme")])
    middleware = UnchangedPostingsMiddleware.from_crawler(crawler)
    with caplog.at_level(logging.WARNING):
        middleware.spider_opened(spider)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "could not read the stored raw hashes" in warnings[0]
    assert [item["external_id"] for item in middleware.process_spider_output(None, [posting("j1")])] == ["j1"]
    assert len(getattr(spider, UNCHANGED_ROWS)) == 0
