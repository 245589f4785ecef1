"""JsonLdSpider on the recorded career sites: links followed, sitemaps read, postings kept, sources ok or failed.

Requests are answered offline from tests/fixtures/jsonld/sites (the replay layout) by :class:`OfflineCrawl`, which
calls the spider's callbacks and errbacks the way the engine does, one request at a time.
"""

from __future__ import annotations

import asyncio
import gzip
from collections import deque
from pathlib import Path

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.middlewares.replay_hosts import replayed_url
from crawler.run import SPIDERS
from crawler.spiders import structured_data
from crawler.spiders.jsonld import JsonLdSpider
from crawler.spiders.structured_data import Page, SiteCrawl
from jobtrend.config import SourceConfig
from tests.conftest import FIXTURES
from tests.crawler.conftest import make_spider

SITES = FIXTURES / "jsonld" / "sites"
HARVEY = SourceConfig("jsonld", "https://jobs.harvey.example/careers", company="Harvey (config)")
COHERE = SourceConfig("jsonld", "https://careers.cohere.example/en-US/External/siteMap.xml", options={"sitemap": True})
DECAGON = SourceConfig("jsonld", "https://www.decagon.example/careers/")
CHARACTER = SourceConfig("jsonld", "https://careers.character.example/jobs")
LMARENA = SourceConfig("jsonld", "https://lmarena.example/jobs")
EMPTY = SourceConfig("jsonld", "https://empty.example/careers")
SOURCES = [HARVEY, COHERE, DECAGON, CHARACTER, LMARENA, EMPTY]
ROBOTS_DISALLOWED = ("https://jobs.harvey.example/careers/apply/",)
HARVEY_JOB = "https://jobs.harvey.example/careers/jobs/{}"
COHERE_JOB = "https://careers.cohere.example/en-US/External/job/{}"


def recorded(url: str) -> Path | None:
    """The recorded file for ``url`` in the replay layout, or None."""
    base = SITES / replayed_url("", url).lstrip("/").split("?")[0]
    candidates = (base.with_name(base.name + ".html"), base.with_name(base.name + ".xml"), base)
    return next((p for p in candidates if p.is_file()), None)


class OfflineCrawl:
    """Answer a spider's requests from the recorded sites (``overrides``: URL -> (status, body, response class))."""

    def __init__(self, spider, overrides: dict | None = None, forbidden: tuple[str, ...] = ROBOTS_DISALLOWED):
        self.spider, self.overrides, self.forbidden = spider, overrides or {}, forbidden
        self.requested: list[str] = []
        self.items: list = []

    def run(self) -> OfflineCrawl:
        queue = deque(asyncio.run(collect(self.spider.start())))
        while queue:
            for output in self.answer(queue.popleft()) or ():
                (queue.append if isinstance(output, Request) else self.items.append)(output)
        return self

    def answer(self, request: Request):
        if request.url.startswith(self.forbidden):
            return self.fail(request, IgnoreRequest("Forbidden by robots.txt"))
        self.requested.append(request.url)
        status, body, cls = self.overrides.get(request.url) or self.file(request.url)
        response = cls(url=request.url, status=status, body=body, request=request,
                       **({"encoding": "utf-8"} if cls is not Response else {}))
        if status >= 400:
            return self.fail(request, HttpError(response))
        return request.callback(response, **request.cb_kwargs)

    def file(self, url: str) -> tuple[int, bytes, type]:
        path = recorded(url)
        if path is None:
            return 404, b'{"status": 404, "error": "Job not found"}', Response
        return 200, path.read_bytes(), XmlResponse if path.name.endswith(".xml") else HtmlResponse

    def fail(self, request: Request, exc: Exception):
        failure = Failure(exc)
        failure.request = request
        return request.errback(failure)

    def items_of(self, source: SourceConfig) -> dict[str, dict]:
        return {i["external_id"]: i for i in self.items if i["source_key"] == source.key}

    def stat(self, source: SourceConfig, name: str):
        return self.spider.crawler.stats.get_value(f"jobtrend/source/{source.label}/{name}")


async def collect(agen) -> list:
    return [x async for x in agen]


def crawl(*sources: SourceConfig, spider_cls=JsonLdSpider, **kwargs) -> OfflineCrawl:
    return OfflineCrawl(make_spider(spider_cls, list(sources)), **kwargs).run()


def html(body: str, status: int = 200) -> tuple[int, bytes, type]:
    return status, body.encode(), HtmlResponse


ALL = crawl(*SOURCES)
ITEMS = [(item["source_key"], item) for item in ALL.items]


# --- the whole recorded crawl --------------------------------------------------------------------------------------

def test_spider_is_registered_as_jsonld():
    assert JsonLdSpider.name == "jsonld" and SPIDERS["jsonld"] is JsonLdSpider


@pytest.mark.parametrize(("key", "item"), ITEMS, ids=[f"{k.split('/')[2]}-{i['external_id'][-12:]}" for k, i in ITEMS])
def test_every_item_carries_its_source_and_required_fields(key, item):
    assert item["source_kind"] == "jsonld" and key in {s.key for s in SOURCES}
    for name in ("external_id", "url", "title", "company", "description_html", "posted_at"):
        assert item[name], name


def test_every_source_is_ok_with_the_ids_it_yielded():
    for source in SOURCES:
        result = ALL.spider.source_results[source.key]
        assert (result.status, result.reason) == ("ok", None), source.key
        assert result.seen_ids == set(ALL.items_of(source)), source.key
    counts = {s.key: len(ALL.items_of(s)) for s in SOURCES}
    assert list(counts.values()) == [4, 4, 2, 2, 3, 0]


def test_every_url_is_requested_once():
    assert len(ALL.requested) == len(set(ALL.requested))


# --- a listing page and its links -----------------------------------------------------------------------------------

def test_listing_follows_job_links_and_pages_below_it_only():
    harvey = {u for u in ALL.requested if u.startswith("https://jobs.harvey.example/")}
    assert harvey == {HARVEY.key, "https://jobs.harvey.example/careers/benefits",
                      *(HARVEY_JOB.format(n) for n in range(4460731, 4460735))}
    assert not any("linkedin" in u or u.endswith(".pdf") or "harvey.example/about" in u for u in ALL.requested)


def test_links_forbidden_by_robots_txt_are_counted_not_failures():
    assert ALL.stat(HARVEY, "robots_txt_forbidden_link") == 4
    assert ALL.spider.source_results[HARVEY.key].status == "ok"


def test_page_without_posting_is_counted():
    assert (ALL.stat(HARVEY, "pages"), ALL.stat(HARVEY, "pages_without_posting")) == (6, 2)


def test_hiring_organisation_wins_over_the_configured_company():
    assert {i["company"] for i in ALL.items_of(HARVEY).values()} == {"Harvey"}


def test_configured_company_fills_in_when_the_page_names_none():
    body = '<script type="application/ld+json">{"@type": "JobPosting", "title": "A", "identifier": "1"}</script>'
    run = crawl(HARVEY, overrides={HARVEY.key: html(body)})
    assert run.items_of(HARVEY)["1"]["company"] == "Harvey (config)"


def test_source_result_waits_for_the_last_page():
    spider = make_spider(JsonLdSpider, [HARVEY])
    (request,) = asyncio.run(collect(spider.start()))
    body = (SITES / "jobs.harvey.example" / "careers.html").read_bytes()
    outputs = list(request.callback(HtmlResponse(HARVEY.key, body=body, request=request), **request.cb_kwargs))
    assert len([o for o in outputs if isinstance(o, Request)]) == 9  # benefits, 4 jobs, 4 apply links
    assert HARVEY.key not in spider.source_results


# --- a sitemap ------------------------------------------------------------------------------------------------------

def test_sitemap_urls_are_fetched_and_the_source_is_ok():
    cohere = [u for u in ALL.requested if u.startswith("https://careers.cohere.example/")]
    assert len(cohere) == 6 and cohere[0] == COHERE.key
    assert set(ALL.items_of(COHERE)) == {"R1001", "R1002", "R1003", "R1004"}
    assert (ALL.stat(COHERE, "sitemap_urls"), ALL.stat(COHERE, "pages_without_posting")) == (5, 1)


def test_sitemap_index_and_gzipped_sitemaps_are_read():
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             '<sitemap><loc>https://careers.cohere.example/jobs-1.xml</loc></sitemap>'
             '<sitemap><loc>https://careers.cohere.example/jobs-2.xml.gz</loc></sitemap></sitemapindex>')
    first = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>'
             f'{COHERE_JOB.format("London/Member-of-Technical-Staff--Post-Training_R1004")}</loc></url></urlset>')
    second = first.replace("London/Member-of-Technical-Staff--Post-Training_R1004", "Tokyo/"
                           "Software-Engineer---Applied-ML--Japan-_R1003")
    run = crawl(COHERE, overrides={
        COHERE.key: (200, index.encode(), XmlResponse),
        "https://careers.cohere.example/jobs-1.xml": (200, first.encode(), XmlResponse),
        "https://careers.cohere.example/jobs-2.xml.gz": (200, gzip.compress(second.encode()), Response)})
    assert set(run.items_of(COHERE)) == {"R1003", "R1004"}
    assert run.spider.source_results[COHERE.key].status == "ok"


def test_html_where_a_sitemap_was_expected_fails_the_source():
    run = crawl(COHERE, overrides={COHERE.key: html("<html><body>Search jobs</body></html>")})
    assert (run.spider.source_results[COHERE.key].reason, run.items) == ("invalid_sitemap", [])


# --- postings held back from listings -------------------------------------------------------------------------------

def test_job_page_copy_wins_over_the_listing_copy():
    items = ALL.items_of(LMARENA)
    own = items["https://lmarena.example/jobs/machine-learning-engineer"]
    assert own["description_html"].startswith("<h2>Machine Learning Engineer at LMArena</h2>")
    assert items["https://lmarena.example/jobs"]["title"] == "Marketing Roles (Various)"  # only on the listing


def test_job_page_copy_wins_whatever_the_order():
    spider = make_spider(JsonLdSpider, [LMARENA])
    site = spider.open_site(LMARENA)
    site.pending = 2
    job_url = "https://lmarena.example/jobs/machine-learning-engineer"
    pages = [(job_url, Page(job_url, "page", 1)), (LMARENA.key, Page(LMARENA.key, "listing", 0))]
    items = []
    for url, page in pages:
        outputs = spider.parse_page(HtmlResponse(url, body=recorded(url).read_bytes()), LMARENA.key, page)
        items += [o for o in outputs if not isinstance(o, Request)]
    assert [i["description_html"][:4] for i in items] == ["<h2>"]  # the job page's copy, yielded at once
    assert job_url not in site.held and "https://lmarena.example/jobs" in site.held  # only on the listing
    assert spider.crawler.stats.get_value(f"jobtrend/source/{LMARENA.label}/duplicate_posting") == 1


# --- failures -------------------------------------------------------------------------------------------------------

def test_missing_career_page_fails_the_source_and_yields_nothing():
    run = crawl(HARVEY, overrides={HARVEY.key: (404, b"Not found", HtmlResponse)})
    result = run.spider.source_results[HARVEY.key]
    assert (result.status, result.reason, result.seen_ids, run.items) == ("failed", "http_404", set(), [])
    assert run.spider.crawler.stats.get_value("jobtrend/source_error/http_404") == 1


def test_failing_job_pages_make_the_source_partial_and_keep_what_was_read():
    gone = (404, b"Not found", HtmlResponse)
    run = crawl(HARVEY, overrides={HARVEY_JOB.format(4460733): gone, HARVEY_JOB.format(4460734): gone})
    result = run.spider.source_results[HARVEY.key]
    assert (result.status, result.reason) == ("partial", "job_page:http_404")
    assert set(run.items_of(HARVEY)) == result.seen_ids == {"4460731", "4460732"}
    assert run.stat(HARVEY, "source_error/job_page:http_404") == 2  # one per failed page: crawl_runs.errors


def test_career_page_forbidden_by_robots_txt_fails_the_source():
    run = crawl(HARVEY, forbidden=(HARVEY.key,))
    assert run.spider.source_results[HARVEY.key].reason == "robots_txt_forbidden" and run.requested == []


def test_binary_career_page_fails_and_binary_job_page_is_skipped():
    binary = (200, b"%PDF-1.4", Response)
    run = crawl(CHARACTER, overrides={CHARACTER.key: binary})
    assert run.spider.source_results[CHARACTER.key].reason == "not_html"
    run = crawl(CHARACTER, overrides={"https://careers.character.example/jobs/research-engineer-ai-safety-alignment":
                                      binary})
    assert run.spider.source_results[CHARACTER.key].status == "ok" and len(run.items) == 1
    assert run.stat(CHARACTER, "not_html") == 1


def test_unreadable_page_makes_the_source_partial_without_stalling_it(monkeypatch):
    def explode(markup, url, company=None):
        if "jobs/" in url:
            raise RuntimeError("boom")
        return real(markup, url, company=company)

    real = structured_data.extract_job_postings
    monkeypatch.setattr(structured_data, "extract_job_postings", explode)
    run = crawl(CHARACTER)
    result = run.spider.source_results[CHARACTER.key]
    assert (result.status, result.reason) == ("partial", "job_page:unreadable:RuntimeError")


def test_malformed_links_are_skipped_and_counted():
    listing = (SITES / "careers.character.example" / "jobs.html").read_text().replace(
        "</ul>", '<li><a href="http://[careers.character.example/jobs/x">broken</a></li></ul>')
    run = crawl(CHARACTER, overrides={CHARACTER.key: html(listing)})
    assert run.spider.source_results[CHARACTER.key].status == "ok" and len(run.items) == 2
    assert run.stat(CHARACTER, "invalid_link") == 1


def test_unreadable_json_ld_blocks_are_counted_as_item_errors():
    assert ALL.stat(DECAGON, "item_error/invalid_json_ld") == 2
    assert ALL.spider.source_results[DECAGON.key].status == "ok"


# --- options --------------------------------------------------------------------------------------------------------

def test_page_limit_fails_the_source_instead_of_missing_postings():
    source = SourceConfig("jsonld", HARVEY.key, options={"max_pages": 2})
    run = crawl(source)
    result = run.spider.source_results[source.key]
    assert (result.status, result.reason) == ("partial", "page_limit_reached")
    assert run.stat(source, "source_error/page_limit_reached") == 1
    assert len(run.requested) == 3  # the key and two pages
    assert run.stat(source, "over_page_limit") == 8  # 7 on the listing, 1 on the benefits page


def test_follow_pattern_replaces_the_default_rule_and_may_leave_the_host():
    source = SourceConfig("jsonld", HARVEY.key, options={"follow": r"/jobs/446073[12]$|boards\.other\.example"})
    listing = (SITES / "jobs.harvey.example" / "careers.html").read_text().replace(
        "</section>", '<a href="https://boards.other.example/harvey/jobs/1">More</a></section>')
    elsewhere = "https://boards.other.example/harvey/jobs/1"
    other = '<script type="application/ld+json">{"@type": "JobPosting", "title": "Elsewhere"}</script>'
    run = crawl(source, overrides={source.key: html(listing), elsewhere: html(other)})
    assert run.requested == [source.key, HARVEY_JOB.format(4460731), HARVEY_JOB.format(4460732), elsewhere]
    assert run.spider.source_results[source.key].status == "ok"


@pytest.mark.parametrize(("key", "options", "reason"), [
    ("careers.example.test/jobs", {}, "invalid_key"),
    ("https://careers.example.test/jobs", {"follow": "/jobs/(["}, "invalid_option:follow"),
    ("https://careers.example.test/jobs", {"max_pages": 0}, "invalid_option:max_pages"),
])
def test_unusable_source_config_fails_without_a_request(key, options, reason):
    source = SourceConfig("jsonld", key, options=options)
    run = crawl(source)
    assert (run.spider.source_results[key].reason, run.requested) == (reason, [])


# --- the hooks ------------------------------------------------------------------------------------------------------

class NoManagersSpider(JsonLdSpider):
    name = "jsonld"

    def post_process_item(self, item, response, fields):
        if "Manager" not in item["title"]:
            yield item


def test_post_process_hook_may_drop_postings_which_are_then_not_seen():
    run = crawl(HARVEY, spider_cls=NoManagersSpider)
    assert set(run.items_of(HARVEY)) == run.spider.source_results[HARVEY.key].seen_ids == {"4460732", "4460733"}


SITE = SiteCrawl(SourceConfig("jsonld", "https://www.acme.example/careers/index.html"), None, 10)
LISTING, SITEMAP = Page(SITE.source.key, "listing", 0), Page("https://acme.example/sitemap.xml", "sitemap", 0)


@pytest.mark.parametrize(("url", "page", "wanted"), [
    ("https://www.acme.example/careers/ml-engineer", LISTING, True),
    ("https://acme.example/careers/ml-engineer", LISTING, True),  # www. or not: one site
    ("https://www.acme.example/jobs/42", LISTING, True),
    ("https://www.acme.example/company/positions/senior-ml", LISTING, True),
    ("http://www.acme.example/careers/ml-engineer", LISTING, True),
    ("https://www.acme.example/careers", LISTING, False),
    ("https://www.acme.example/careers?page=2", LISTING, False),
    ("https://www.acme.example/careers/?page=2", LISTING, False),
    ("https://www.acme.example/about", LISTING, False),
    ("https://www.acme.example/jobs", LISTING, False),
    ("https://www.acme.example/careers/handbook.pdf", LISTING, False),
    ("https://jobs.other.example/acme/jobs/42", LISTING, False),
    ("ftp://www.acme.example/careers/x", LISTING, False),
    ("https://www.acme.example/anything", SITEMAP, True),
    ("https://other.example/anything", SITEMAP, False),
])
def test_default_link_rule(url, page, wanted):
    assert ALL.spider.wanted_link(url, SITE, page) is wanted
