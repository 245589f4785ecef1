"""Property-based fuzzing of every spider's parse callback: 1,000 generated payloads each, on real Scrapy
responses. Whatever the body, no exception escapes the callback or the cleaning and validation pipelines, and
every job of the payload is accounted for: yielded and stored, dropped by validation (``dropped``), skipped by the
spider (``item_error/<reason>``, ``unlisted``, ``deleted``), or the whole board failed with a counted reason.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse, Request, TextResponse

from crawler.items import JobPosting
from crawler.pipelines.clean_html import CleanHtmlPipeline
from crawler.pipelines.store_posting import posting_row
from crawler.pipelines.validate_posting import STRING_FIELDS, ValidatePostingPipeline
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.greenhouse import GreenhouseSpider
from crawler.spiders.hackernews import HackerNewsSpider, Progress, Thread
from crawler.spiders.jsonld import JsonLdSpider
from crawler.spiders.lever import LeverSpider
from jobtrend.config import SourceConfig
from tests.conftest import FIXTURES
from tests.crawler.conftest import REPLAY, board_jobs, make_spider
from tests.reliability.strategies import (
    BLOCK,
    FUZZ,
    MICRODATA,
    ODD_TEXT,
    TEXT,
    VALUES,
    jobs_like,
    json_body,
    page_markup,
)

pytestmark = pytest.mark.soak  # 1,000 examples per test: `make soak`

BOARD_FAILURES = {"invalid_json", "unexpected_shape", "pagination_stalled"}
ASHBY_KEYS = ("id", "title", "jobUrl", "location", "secondaryLocations", "isRemote", "workplaceType",
              "employmentType", "department", "team", "descriptionHtml", "publishedAt", "isListed",
              "shouldDisplayCompensationOnJobPostings", "compensation")
GREENHOUSE_KEYS = ("id", "title", "absolute_url", "company_name", "location", "metadata", "departments", "offices",
                   "content", "first_published", "requisition_id", "internal_job_id")
LEVER_KEYS = ("id", "text", "hostedUrl", "categories", "workplaceType", "description", "lists", "additional",
              "createdAt", "country", "applyUrl", "salaryRange")
HN_KEYS = ("id", "author", "text", "type", "created_at", "created_at_i", "parent_id", "children")
STORY_ID = 46857488


def lever_jobs() -> list[dict]:
    return [j for path in sorted((REPLAY / "v0" / "postings").glob("*.json"))
            for j in json.loads(path.read_bytes()) if isinstance(j, dict)]


def hn_comments() -> list[dict]:
    story = json.loads(gzip.decompress((REPLAY / "api" / "v1" / "items" / f"{STORY_ID}.json.gz").read_bytes()))
    return [c for c in story["children"][:40] if isinstance(c, dict)]


class Harness:
    """One spider on a test crawler; each example gets fresh stats and results."""

    def __init__(self, spider_cls, kind: str, settings: dict | None = None):
        self.source = SourceConfig(kind, "fuzzco")
        self.spider = make_spider(spider_cls, [self.source], settings)
        self.stats = self.spider.crawler.stats
        self.clean = CleanHtmlPipeline()
        self.validate = ValidatePostingPipeline(self.stats)

    def reset(self) -> None:
        self.stats.set_stats({})
        self.spider.source_results.clear()

    def own(self, name: str) -> int:
        """The sum of the source's stats whose name is ``name`` or starts with ``name/``."""
        prefix = f"jobtrend/source/{self.source.label}/"
        return sum(v for k, v in self.stats.get_stats().items()
                   if k.startswith(prefix) and (k[len(prefix):] == name or k[len(prefix):].startswith(name + "/")))

    def store(self, items: list) -> list:
        """Run the items through cleaning and validation as Scrapy would; return the ones kept, and check that
        each dropped one was counted."""
        kept, dropped = [], 0
        for item in items:
            assert isinstance(item, JobPosting)
            self.clean.process_item(item)
            try:
                kept.append(self.validate.process_item(item))
            except DropItem:
                dropped += 1
        assert self.own("dropped") == dropped
        now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        for item in kept:
            check_storable(item, self.validate.max_lengths)
            posting_row(item, 1, now)
        return kept


def check_storable(item, max_lengths: dict[str, int]) -> None:
    """What the store needs: required strings present, every string field a string within its column."""
    for name in STRING_FIELDS:
        value = item.get(name)
        assert value is None or isinstance(value, str), (name, value)
        assert value is None or len(value) <= max_lengths.get(name, len(value)), name
    assert item["external_id"] and item["title"] and item["url"]
    assert item["posted_at"] is None or isinstance(item["posted_at"], dt.datetime) and item["posted_at"].tzinfo
    assert item["remote"] in (None, True, False)
    assert isinstance(item["description_text"], str)


def board_response(spider, source: SourceConfig, body: bytes) -> TextResponse:
    url = spider.board_url("https://api.example.test", source.key)
    return TextResponse(url=url, body=body, encoding="utf-8", request=Request(url, cb_kwargs={"source": source}))


def check_board(harness: Harness, body: bytes, skipped: str | None = None) -> None:
    """Parse one board body and check that every job is accounted for."""
    harness.reset()
    source = harness.source
    out = list(harness.spider.parse_board(board_response(harness.spider, source, body), source))
    result = harness.spider.source_results[source.key]
    if result.status == "failed":
        assert result.reason in BOARD_FAILURES and out == []
        assert harness.own(f"source_error/{result.reason}") == 1
        return
    assert result.status == "ok"
    payload = json.loads(body)
    jobs = payload if isinstance(payload, list) else payload["jobs"]
    skipped_count = harness.own(skipped) if skipped else 0
    assert len(jobs) == len(out) + harness.own("item_error") + skipped_count
    kept = harness.store(out)
    assert {i["external_id"] for i in kept} <= result.seen_ids  # validation cut no id: it would be closed
    assert len(result.seen_ids) <= len(out) + harness.own("item_error")
    assert len(kept) + harness.own("dropped") == len(out)


@pytest.fixture(scope="module")
def ashby():
    return Harness(AshbySpider, "ashby")


@pytest.fixture(scope="module")
def greenhouse():
    return Harness(GreenhouseSpider, "greenhouse")


@pytest.fixture(scope="module")
def lever():
    return Harness(LeverSpider, "lever")


ASHBY_JOBS = board_jobs("ashby", "render") + board_jobs("ashby", "Homebound")
ASHBY_SPECIAL = {"id": st.uuids().map(str), "publishedAt": st.datetimes().map(str), "isListed": st.booleans()}


@FUZZ
@given(body=json_body(st.fixed_dictionaries(
    {"jobs": st.lists(jobs_like(ASHBY_KEYS, ASHBY_JOBS, ASHBY_SPECIAL), max_size=6)},
    optional={"apiVersion": VALUES})))
def test_ashby_board_parse_survives_any_payload(ashby, body):
    check_board(ashby, body, skipped="unlisted")


GREENHOUSE_JOBS = board_jobs("greenhouse", "acmeai") + board_jobs("greenhouse", "dropbox")


@FUZZ
@given(body=json_body(st.fixed_dictionaries(
    {"jobs": st.lists(jobs_like(GREENHOUSE_KEYS, GREENHOUSE_JOBS, {"id": st.integers(0, 10**12)}), max_size=6)},
    optional={"meta": VALUES})))
def test_greenhouse_board_parse_survives_any_payload(greenhouse, body):
    check_board(greenhouse, body)


@FUZZ
@given(body=json_body(st.lists(jobs_like(LEVER_KEYS, lever_jobs(), {"createdAt": st.integers()}), max_size=6)))
def test_lever_page_parse_survives_any_payload(lever, body):
    check_board(lever, body)


# --- Hacker News: the listing and one thread -------------------------------------------------------------------

@pytest.fixture(scope="module")
def hackernews():
    return Harness(HackerNewsSpider, "hackernews", {"HN_ALGOLIA_API_BASE": "https://hn.example.test"})


HN_SPECIAL = {"text": st.one_of(TEXT, st.sampled_from([c["text"] for c in hn_comments() if c.get("text")])),
              "author": st.one_of(ODD_TEXT, st.just("whoishiring")), "created_at_i": st.integers()}
HIT = st.fixed_dictionaries({}, optional={
    "objectID": st.one_of(st.integers(0, 10**9).map(str), VALUES),
    "title": st.one_of(st.sampled_from(["Ask HN: Who is hiring? (May 2026)", "ask hn: who is hiring? (Smarch 2026)",
                                        "Ask HN: Who wants to be hired? (May 2026)"]), VALUES),
    "created_at_i": st.one_of(st.integers(), VALUES)})


@FUZZ
@given(body=json_body(st.fixed_dictionaries({
    "id": st.one_of(st.just(STORY_ID), VALUES),
    "children": st.lists(jobs_like(HN_KEYS, hn_comments(), HN_SPECIAL), max_size=6)})))
def test_hackernews_thread_parse_survives_any_payload(hackernews, body):
    harness = hackernews
    harness.reset()
    source, spider = harness.source, harness.spider
    thread = Thread("2026-02", 0, STORY_ID, "Ask HN: Who is hiring? (February 2026)")
    spider.progress[source.key] = Progress({}, chosen=1, pending={STORY_ID: thread})
    url = spider.thread_url("https://hn.example.test", STORY_ID)
    response = TextResponse(url=url, body=body, encoding="utf-8", request=Request(url))
    out = list(spider.parse_thread(response, source, thread))
    result = spider.source_results[source.key]  # one thread chosen: it is finished either way
    if result.status == "failed":
        assert result.reason == "threads_failed:1/1" and out == []
        assert harness.own("source_error/invalid_json") + harness.own("source_error/unexpected_shape") == 1
        return
    comments = json.loads(body)["children"]
    assert len(comments) == len(out) + harness.own("item_error") + harness.own("deleted")
    kept = harness.store(out)
    assert len(kept) == len(out)  # a comment with author and text always makes a posting: URL and title are ours


@FUZZ
@given(body=json_body(st.fixed_dictionaries({"hits": st.lists(st.one_of(HIT, VALUES), max_size=8)},
                                            optional={"nbHits": VALUES})))
def test_hackernews_listing_parse_survives_any_payload(hackernews, body):
    harness = hackernews
    harness.reset()
    source, spider = harness.source, harness.spider
    spider.progress[source.key] = Progress({})
    url = spider.board_url("https://hn.example.test", source.key)
    response = TextResponse(url=url, body=body, encoding="utf-8", request=Request(url))
    out = list(spider.parse_listing(response, source))
    assert all(isinstance(r, Request) for r in out)
    result = spider.source_results.get(source.key)
    if result is not None:
        assert result.status == "failed" and result.reason in {"invalid_json", "unexpected_shape", "no_threads"}
        assert harness.own(f"source_error/{result.reason}") == 1 and out == []
    else:
        assert out and all("/api/v1/items/" in r.url for r in out)


# --- career sites: JSON-LD and microdata pages through the jsonld spider ---------------------------------------

@pytest.fixture(scope="module")
def jsonld():
    return Harness(JsonLdSpider, "jsonld")


REAL_PAGES = [gzip.decompress(p.read_bytes()).decode() for p in sorted((FIXTURES.parent.parent / "data" / "demo" /
                                                                         "sites").rglob("*.html.gz"))][:6]
PAGE = st.one_of(
    st.builds(page_markup, st.lists(BLOCK, max_size=3), st.lists(MICRODATA, max_size=2),
              st.lists(st.one_of(ODD_TEXT, st.just("/jobs/1"), TEXT), max_size=3)).map(str.encode),
    st.sampled_from(REAL_PAGES).map(str.encode),
    st.tuples(st.sampled_from(REAL_PAGES), st.floats(0, 1)).map(lambda t: t[0][:int(len(t[0]) * t[1])].encode()),
    st.binary(max_size=300), TEXT.map(lambda t: t.encode("utf-8", "replace")))


@FUZZ
@given(body=PAGE)
def test_jsonld_page_parse_survives_any_page(jsonld, body):
    harness = jsonld
    harness.reset()
    spider = harness.spider
    source = SourceConfig("jsonld", "https://careers.example.test/jobs")
    harness.source = source
    spider.sites.clear()
    site = spider.open_site(source)
    request = spider.page_request(site, source.key, "listing", 0)
    response = HtmlResponse(url=source.key, body=body, encoding="utf-8", request=request)
    out = list(spider.parse_page(response, **request.cb_kwargs))
    assert not any(k.startswith("unreadable") or "/unreadable" in k for k in harness.stats.get_stats()), \
        harness.stats.get_stats()
    items = [o for o in out if isinstance(o, JobPosting)]
    assert all(isinstance(o, Request) for o in out if not isinstance(o, JobPosting))
    requests = [o for o in out if isinstance(o, Request)]
    result = spider.source_results.get(source.key)  # finished unless links are in flight (not followed here)
    assert (result is None) == bool(requests)
    # a block that names JobPosting and cannot be read fails the key page (never "a page without postings")
    unreadable = result is not None and (result.status, result.reason) == ("failed", "jsonld_unreadable")
    assert result is None or result.status == "ok" or (unreadable and b"JobPosting" in body)
    assert {i["external_id"] for i in items} <= spider.sites[source.key].seen
    kept = harness.store(items)
    assert len(kept) + harness.own("dropped") == len(items)
    assert {i["external_id"] for i in kept} <= spider.sites[source.key].seen  # validation cut no id
