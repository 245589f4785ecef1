"""Regressions found by the fuzzing (tests/reliability/test_fuzz_*.py), kept in the fast suite:

- a job field of the wrong type (a list for a description) made the cleaning pipeline raise, so Scrapy dropped
  the posting uncounted (and the crawl still counted the job as seen); an object for a URL was stored as its
  Python repr. Now such a field is read as missing, and validation keeps the posting or drops it with a counted
  reason (a title that is no string was already skipped and counted as ``item_error/unreadable:...``);
- an external id longer than the column (a long job-page URL used as id) was cut by validation, so the stored id
  was never in the crawl's seen set and every complete crawl closed the posting; now the spider shortens it the
  same way for both.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from scrapy.exceptions import DropItem

from crawler.pipelines.clean_html import CleanHtmlPipeline
from crawler.pipelines.validate_posting import ValidatePostingPipeline
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.greenhouse import GreenhouseSpider
from crawler.spiders.jsonld import JsonLdSpider
from crawler.spiders.lever import LeverSpider
from crawler.spiders.source import EXTERNAL_ID_MAX, fit_id
from jobtrend.config import SourceConfig
from tests.crawler.conftest import make_spider, parse_board

JOB = {"id": "j1", "title": "ML Engineer", "jobUrl": "https://jobs.example.org/1", "descriptionHtml": "<p>x</p>"}


def stored(spider, items):
    """Items through cleaning and validation; DropItem counted by validation."""
    clean, validate = CleanHtmlPipeline(), ValidatePostingPipeline(spider.crawler.stats)
    kept = []
    for item in items:
        with contextlib.suppress(DropItem):
            kept.append(validate.process_item(clean.process_item(item)))
    return kept


@pytest.mark.parametrize("changes", [{"descriptionHtml": ["<p>", "x"]}, {"descriptionHtml": {"html": 1}},
                                     {"workplaceType": {"a": 1}}, {"department": ["Eng"]}])
def test_a_field_of_the_wrong_type_no_longer_loses_the_posting(changes):
    source = SourceConfig("ashby", "acme")
    spider = make_spider(AshbySpider, [source])
    items = parse_board(spider, source, json.dumps({"jobs": [JOB | changes]}).encode())
    [item] = stored(spider, items)
    assert item["title"] == "ML Engineer" and isinstance(item["description_text"], str)


@pytest.mark.parametrize(("spider_cls", "job", "body"), [
    (AshbySpider, JOB | {"jobUrl": {"href": "https://x.example/1"}}, "jobs"),
    (GreenhouseSpider, {"id": 1, "title": "x", "absolute_url": ["https://x.example/1"]}, "jobs"),
    (LeverSpider, {"id": "a", "text": "x", "hostedUrl": {"x": 1}}, "list"),
])
def test_a_url_that_is_no_text_is_dropped_and_counted(spider_cls, job, body):
    source = SourceConfig(spider_cls.name, "acme")
    spider = make_spider(spider_cls, [source])
    payload = {"jobs": [job]} if body == "jobs" else [job]
    items = parse_board(spider, source, json.dumps(payload).encode())
    assert stored(spider, items) == []
    assert spider.crawler.stats.get_value("jobtrend/field/url/missing") == 1
    assert spider.crawler.stats.get_value(f"jobtrend/source/{source.label}/dropped") == 1


def test_a_long_id_is_stored_as_the_crawl_saw_it():
    long_id = "https://jobs.example.org/" + "x" * 300
    assert len(fit_id(long_id)) == EXTERNAL_ID_MAX and fit_id(long_id) == fit_id(long_id)
    assert fit_id(long_id) != fit_id(long_id + "y") and fit_id("short") == "short"
    source = SourceConfig("ashby", "acme")
    spider = make_spider(AshbySpider, [source])
    [item] = stored(spider, parse_board(spider, source, json.dumps({"jobs": [JOB | {"id": long_id}]}).encode()))
    assert spider.source_results["acme"].seen_ids == {item["external_id"]} == {fit_id(long_id)}


def test_a_long_json_ld_id_is_stored_as_the_crawl_saw_it():
    from scrapy.http import HtmlResponse

    source = SourceConfig("jsonld", "https://careers.example.org/jobs")
    spider = make_spider(JsonLdSpider, [source])
    site = spider.open_site(source)
    request = spider.page_request(site, source.key, "listing", 0)
    posting = {"@type": "JobPosting", "title": "ML Engineer", "identifier": "id-" + "9" * 400}
    body = f'<script type="application/ld+json">{json.dumps(posting)}</script>'.encode()
    response = HtmlResponse(url=source.key, body=body, encoding="utf-8", request=request)
    [item] = stored(spider, list(spider.parse_page(response, **request.cb_kwargs)))
    assert spider.source_results[source.key].seen_ids == {item["external_id"]}
    assert len(item["external_id"]) == EXTERNAL_ID_MAX
