"""HackerNewsSpider on recorded Algolia responses: finding the threads, one posting per live top-level comment,
thread selection for backfill and incremental crawls, and failing threads."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import Request, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from sqlalchemy import insert
from twisted.python.failure import Failure

from crawler.extensions.crawl_run import crawled_threads
from crawler.replay import ReplayServer
from crawler.spiders.hackernews import (
    HackerNewsSpider,
    Progress,
    Thread,
    ThreadsResult,
    choose_threads,
    comment_html,
    hiring_threads,
)
from jobtrend.config import SourceConfig
from jobtrend.models import CrawlRun, Source
from tests.conftest import FIXTURES
from tests.crawler.conftest import REPLAY

SOURCE = SourceConfig("hackernews", "whoishiring", company="Hacker News")
LISTING = REPLAY / "api/v1/search_by_date@hitsPerPage=1000&tags=story%2Cauthor_whoishiring.json"
BASE = "https://hn.algolia.test"
APRIL_2011 = 2396027
THREADS_2026 = {"2026-01": 46466074, "2026-02": 46857488, "2026-03": 47219668, "2026-04": 47601859,
                "2026-05": 47975571}
REPLY_IDS = {49000001, 49000002, 49000003, 49000004, 49000005, 49000006}  # ours, see tests/fixtures/hackernews


def recorded_thread(story_id: int) -> dict:
    return json.loads(recorded_body(story_id))


def recorded_body(story_id: int) -> bytes:
    return gzip.decompress((REPLAY / f"api/v1/items/{story_id}.json.gz").read_bytes())


def real_story_hits() -> list[dict]:
    """Every hit of the recorded whoishiring story search, April 2011 to September 2023."""
    return json.loads(gzip.decompress((FIXTURES / "hackernews/whoishiring-stories.json.gz").read_bytes()))["hits"]


def live_top_level(story_id: int) -> list[dict]:
    """Counted straight from the recording: the story's children that still have an author and a text."""
    return [c for c in recorded_thread(story_id)["children"] if c["author"] is not None and c["text"] is not None]


def descendants(node: dict) -> list[dict]:
    return [d for child in node["children"] for d in (child, *descendants(child))]


def new_spider(settings: dict | None = None, sources: list[SourceConfig] | None = None,
               **kwargs) -> HackerNewsSpider:
    """A spider on a test crawler (no database), with spider arguments such as ``since``."""
    crawler = get_crawler(HackerNewsSpider, settings)
    return HackerNewsSpider.from_crawler(crawler, sources=sources or [SOURCE], **kwargs)


def response(url: str, body: bytes, kwargs: dict, status: int = 200) -> TextResponse:
    return TextResponse(url=url, status=status, body=body, encoding="utf-8", request=Request(url, cb_kwargs=kwargs))


def read_threads(spider: HackerNewsSpider, threads: list[Thread], bodies: dict[int, bytes] | None = None) -> list:
    """Choose ``threads`` for the source and run the thread callback on each recorded (or given) body."""
    spider.progress[SOURCE.key] = progress = Progress({})
    progress.chosen, progress.pending = len(threads), {t.story_id: t for t in threads}
    items = []
    for thread in threads:
        body = (bodies or {}).get(thread.story_id) or recorded_body(thread.story_id)
        url = spider.thread_url(BASE, thread.story_id)
        items += spider.parse_thread(response(url, body, {}), SOURCE, thread)
    return items


def thread_of(story_id: int) -> Thread:
    return next(t for t in hiring_threads(json.loads(LISTING.read_bytes())["hits"]) if t.story_id == story_id)


SPIDER = new_spider()
ITEMS = read_threads(SPIDER, [thread_of(APRIL_2011), *(thread_of(i) for i in THREADS_2026.values())])
BY_ID = {i["external_id"]: i for i in ITEMS}
COMMENTS = {str(c["id"]): c for story_id in (APRIL_2011, *THREADS_2026.values())
            for c in recorded_thread(story_id)["children"]}


# --- finding the threads -------------------------------------------------------------------------------------------

def test_listing_url_is_the_recorded_query():
    url = SPIDER.board_url(BASE, "whoishiring")
    assert url == f"{BASE}/api/v1/search_by_date?tags=story,author_whoishiring&hitsPerPage=1000"
    with ReplayServer(REPLAY) as server:
        path, query = urlsplit(url).path, urlsplit(url).query
        assert server.respond(path, query).payload() == LISTING.read_bytes()


def test_a_slice_past_the_cap_filters_on_created_at():
    query = parse_qs(urlsplit(SPIDER.board_url(BASE, "whoishiring", before=1301663486)).query)
    assert query["numericFilters"] == ["created_at_i<=1301663486"]


def test_every_real_thread_title_is_recognised_whatever_its_case_or_trailing_blank():
    hits = real_story_hits()
    threads = hiring_threads(hits)
    assert len(hits) == 152 and len(threads) == 149
    assert {h["title"] for h in hits if int(h["objectID"]) not in {t.story_id for t in threads}} == {
        "Ask HN: Who is hiring right now?", "Show HN: Who is hiring refugees? Or, hacking visas to help refugees",
        "Ask HN: Should we agree that this account will submit all Who is Hiring posts?"}
    strict = re.compile(r"^Ask HN: Who is hiring\? \((\w+) (\d{4})\)$")  # case-sensitive, on the title as sent
    missed = [h["title"] for h in hits if h["author"] == "whoishiring" and int(h["objectID"]) in {
        t.story_id for t in threads} and not strict.match(h["title"])]
    assert len(missed) == 20 and "Ask HN: Who is Hiring? (April 2011)" in missed  # "Hiring", "Is", a trailing blank
    assert (threads[0].month, threads[0].story_id, threads[-1].month) == ("2011-04", APRIL_2011, "2023-09")
    assert next(t for t in threads if t.story_id == 4857714).month == "2012-12"  # "(December 2012) "
    assert next(t for t in threads if t.story_id == 4727241).title == "Ask HN: Who Is Hiring? (November 2012)"


def test_real_listing_has_one_thread_per_month_but_one_gap():
    months = [t.month for t in hiring_threads(real_story_hits())]
    assert len(months) == len(set(months)) == 149  # April 2011 to September 2023 is 150 months
    assert "2011-07" not in months  # not in the recorded search


@pytest.mark.parametrize("title", [
    "Ask HN: Who wants to be hired? (May 2026)", "Ask HN: Freelancer? Seeking freelancer? (May 2026)",
    "Ask HN: Who is hiring right now?", "Ask HN: Who is hiring? (Maybe 2026)", "Tell HN: Who is hiring? (May 2026)",
])
def test_other_stories_of_the_account_are_not_threads(title):
    assert hiring_threads([{"objectID": "1", "title": title, "created_at_i": 1}]) == []


def test_the_recorded_listing_holds_the_recorded_threads():
    threads = hiring_threads(json.loads(LISTING.read_bytes())["hits"])
    assert {t.month: t.story_id for t in threads} == {"2011-04": APRIL_2011} | THREADS_2026


def listing_slices(hits: list[dict], size: int):
    """The real hits newest first, cut the way Algolia answers slice after slice."""
    ordered = sorted(hits, key=lambda h: h["created_at_i"], reverse=True)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def follow_listing(spider: HackerNewsSpider, slices: list[list[dict]]) -> tuple[list[str], list[Request]]:
    """Feed the slices to the listing callback; return the listing URLs it asked for and the thread requests."""
    spider.progress[SOURCE.key] = Progress({})
    asked, page = [spider.board_url(BASE, SOURCE.key)], 0
    while True:
        body = json.dumps({"hits": slices[page] if page < len(slices) else []}).encode()
        out = list(spider.parse_listing(response(asked[-1], body, {}), SOURCE))
        follow = [r for r in out if "search_by_date" in r.url]
        if not follow:
            return asked, out
        asked.append(follow[0].url.replace(spider.algolia_base(), BASE))
        page += 1


def test_a_listing_past_the_hit_cap_is_read_slice_by_slice():
    spider = new_spider(settings={"HN_ALGOLIA_API_BASE": BASE}, since="2011-04")
    spider.hits_per_page = 50
    slices = listing_slices(real_story_hits(), 50)
    asked, threads = follow_listing(spider, slices)
    assert len(asked) == 4 and [len(s) for s in slices] == [50, 50, 50, 2]
    oldest = [min(h["created_at_i"] for h in s) for s in slices[:3]]
    assert [parse_qs(urlsplit(u).query).get("numericFilters") for u in asked] == [
        None, *([f"created_at_i<={t}"] for t in oldest)]
    assert len(threads) == 149


def test_the_listing_stops_once_it_is_past_the_oldest_month_wanted():
    spider = new_spider(settings={"HN_ALGOLIA_API_BASE": BASE}, since="2023-01")
    spider.hits_per_page = 50
    asked, threads = follow_listing(spider, listing_slices(real_story_hits(), 50))
    assert len(asked) == 1
    assert [t.url.rsplit("/", 1)[1] for t in threads][-1] == "34219335"  # January 2023, the oldest wanted
    assert len(threads) == 9


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"hits": [', "invalid_json"), (b"<html>Maintenance</html>", "invalid_json"),
    (b'{"message": "you can only fetch the 1000 hits for this query"}', "unexpected_shape"),
    (b'{"hits": []}', "no_threads"),
])
def test_an_unusable_listing_fails_the_source(body, reason):
    spider = new_spider()
    spider.progress[SOURCE.key] = Progress({})
    assert list(spider.parse_listing(response(BASE, body, {}), SOURCE)) == []
    assert (spider.source_results[SOURCE.key].status, spider.source_results[SOURCE.key].reason) == ("failed", reason)


# --- which threads a crawl reads ------------------------------------------------------------------------------------

THREADS = hiring_threads(real_story_hits())
NEWEST = THREADS[-1]


def test_since_reads_every_thread_from_that_month_even_when_crawled():
    chosen = choose_threads(THREADS, since="2011-04", floor="2011-04", crawled={t.story_id for t in THREADS})
    assert chosen == sorted(THREADS, reverse=True)
    assert [t.month for t in choose_threads(THREADS, since="2023-07", floor=None, crawled=set())] == [
        "2023-09", "2023-08", "2023-07"]


def test_a_first_crawl_without_since_reads_only_the_newest_thread():
    assert choose_threads(THREADS, since=None, floor=None, crawled=set()) == [NEWEST]


def test_an_incremental_crawl_reads_the_newest_and_the_threads_not_read_before():
    crawled = {t.story_id for t in THREADS if t.month != "2022-05"}
    chosen = choose_threads(THREADS, since=None, floor="2011-04", crawled=crawled)
    assert [t.month for t in chosen] == ["2023-09", "2022-05"]
    assert choose_threads(THREADS, since=None, floor="2011-04", crawled={t.story_id for t in THREADS}) == [NEWEST]


def test_the_thread_before_the_newest_is_read_again_in_the_newest_threads_first_week():
    day = 86400
    everything = {t.story_id for t in THREADS}
    previous = THREADS[-2]
    early = NEWEST.created_at_i + 6 * day  # late answers to last month's thread still come in
    assert choose_threads(THREADS, since=None, floor="2011-04", crawled=everything, now=early) == [NEWEST, previous]
    assert choose_threads(THREADS, since=None, floor=None, crawled=set(), now=early) == [NEWEST, previous]
    later = NEWEST.created_at_i + 8 * day
    assert choose_threads(THREADS, since=None, floor="2011-04", crawled=everything, now=later) == [NEWEST]
    assert choose_threads(THREADS[:1], since=None, floor=None, crawled=set(), now=early) == THREADS[:1]


def test_the_floor_is_since_then_the_source_option_then_the_oldest_thread_read():
    progress = Progress({4053076: "2012-06", 37351667: "2023-09"})
    assert new_spider().floor(SOURCE, progress) == "2012-06"
    assert new_spider().floor(SourceConfig("hackernews", "whoishiring", options={"since": "2011-04"}),
                              progress) == "2011-04"
    assert new_spider(since="2020-01").floor(SOURCE, progress) == "2020-01"
    assert new_spider().floor(SOURCE, Progress({})) is None


def test_threads_read_before_come_from_the_crawl_runs_stats(engine, db_url):
    with engine.begin() as conn:
        source_id = conn.execute(insert(Source).values(kind="hackernews", key="whoishiring")).inserted_primary_key[0]
        started = dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
        conn.execute(insert(CrawlRun), [
            {"source_id": source_id, "started_at": started, "status": "partial",
             "stats": {"thread/2011-04/2396027": 219, "source_error/http_404": 1, "new": 219}},
            {"source_id": source_id, "started_at": started, "status": "ok",
             "stats": {"thread/2026-05/47975571": 290, "new": 290}},
            {"source_id": source_id, "started_at": started, "status": "partial",  # lost postings: vouches for none
             "stats": {"thread/2026-04/47601859": 345, "store_error": 3}},
            {"source_id": source_id, "started_at": started, "status": "running", "stats": None},
        ])
    assert crawled_threads(db_url, SOURCE) == {2396027: "2011-04", 47975571: "2026-05"}
    assert crawled_threads(db_url, SourceConfig("hackernews", "someone")) == {}
    assert crawled_threads(None, SOURCE) == {}


# --- one posting per live top-level comment ----------------------------------------------------------------------

def test_april_2011_yields_one_posting_per_live_top_level_comment():
    expected = {str(c["id"]) for c in live_top_level(APRIL_2011)}
    replies = {str(d["id"]) for c in recorded_thread(APRIL_2011)["children"] for d in descendants(c)}
    got = {i["external_id"] for i in ITEMS if i["extras"]["thread_id"] == APRIL_2011}
    assert got == expected and len(got) == 219
    assert replies and not replies & set(BY_ID)


@pytest.mark.parametrize(("month", "count", "deleted"), [
    ("2026-01", 264, 0), ("2026-02", 421, 0), ("2026-03", 332, 0), ("2026-04", 345, 5), ("2026-05", 290, 3),
])
def test_2026_threads_yield_one_posting_per_live_top_level_comment(month, count, deleted):
    story_id = THREADS_2026[month]
    children = recorded_thread(story_id)["children"]
    got = {i["external_id"] for i in ITEMS if i["extras"]["thread_id"] == story_id}
    assert got == {str(c["id"]) for c in live_top_level(story_id)} and len(got) == count
    assert len(children) - len(got) == deleted
    assert SPIDER.crawler.stats.get_value(f"jobtrend/source/hackernews:whoishiring/thread/{month}/{story_id}") == count


def test_replies_at_any_depth_and_deleted_comments_are_not_postings():
    threads = [recorded_thread(i) for i in THREADS_2026.values()]
    nested = {d["id"] for t in threads for c in t["children"] for d in descendants(c)}
    assert nested == REPLY_IDS  # the replies added to the fixtures, a deleted one among them
    assert not {str(i) for i in nested} & set(BY_ID)
    assert SPIDER.crawler.stats.get_value("jobtrend/hackernews/deleted") == 8


def test_the_source_is_ok_and_never_closes_postings():
    result = SPIDER.source_results[SOURCE.key]
    assert isinstance(result, ThreadsResult) and result.closes_unseen is False
    assert (result.status, result.reason, result.seen_ids) == ("ok", None, set(BY_ID))


@pytest.mark.parametrize("posting", ITEMS, ids=[i["external_id"] for i in ITEMS])
def test_every_posting_comes_from_its_comment(posting):
    comment = COMMENTS[posting["external_id"]]
    assert posting["source_kind"] == "hackernews" and posting["source_key"] == "whoishiring"
    assert posting["url"] == f"https://news.ycombinator.com/item?id={comment['id']}"
    assert posting["posted_at"] == comment["created_at"]
    assert posting["description_html"] == comment_html(comment["text"])
    assert posting["extras"]["author"] == comment["author"]
    assert posting["extras"]["thread_id"] == comment["parent_id"]


@pytest.mark.parametrize("posting", ITEMS, ids=[i["external_id"] for i in ITEMS])
def test_every_posting_has_a_title_and_typed_fields(posting):
    assert posting["title"] and posting["title"] == posting["title"].strip() and len(posting["title"]) <= 200
    assert posting["remote"] in (True, False, None)
    assert posting["company"] is None or posting["company"].strip() == posting["company"]
    assert "\\n" not in posting["description_html"]  # Algolia's literal backslash-n of 2011 is a line break again


# One posting read field by field: Kongregate, April 2011 ("Portland, OR - Rails Developer - Kongregate").
KONGREGATE = BY_ID["2396219"]


def test_kongregate_external_id_and_url():
    assert KONGREGATE["external_id"] == "2396219"
    assert KONGREGATE["url"] == "https://news.ycombinator.com/item?id=2396219"


def test_kongregate_title():
    assert KONGREGATE["title"] == "Rails Developer"


def test_kongregate_company():
    assert KONGREGATE["company"] == "Kongregate"


def test_kongregate_location():
    assert KONGREGATE["location"] == "Portland, OR"


def test_kongregate_remote_and_employment_type_are_not_stated():
    assert (KONGREGATE["remote"], KONGREGATE["employment_type"]) == (None, None)


def test_kongregate_posted_at_is_the_comment_time():
    assert KONGREGATE["posted_at"] == "2011-04-01T13:58:14.000Z"


def test_kongregate_description_is_the_comment_html():
    assert KONGREGATE["description_html"].startswith("<p>Portland, OR - Rails Developer - Kongregate</p>")


# One 2026 posting: Oklo, April 2026 ("Oklo | Remote (US) or Santa Clara or Brooklyn | Full time | https://oklo.com").
OKLO = BY_ID["47603039"]


def test_oklo_fields():
    assert (OKLO["company"], OKLO["location"], OKLO["remote"], OKLO["employment_type"]) == (
        "Oklo", "Remote (US) or Santa Clara or Brooklyn", True, "Full-time")


def test_oklo_title_falls_back_to_the_first_line_without_its_link():
    assert OKLO["title"] == "Oklo | Remote (US) or Santa Clara or Brooklyn | Full time"
    assert OKLO["extras"]["urls"] == ["https://oklo.com"]


def test_oklo_posted_at():
    assert OKLO["posted_at"] == "2026-04-01T16:27:17.000Z"


# --- failing threads --------------------------------------------------------------------------------------------

def failing_crawl(bodies: dict[int, bytes], errors: dict[int, int] | None = None) -> HackerNewsSpider:
    """Read the five 2026 threads, some answering ``bodies`` and some failing with an HTTP status."""
    spider = new_spider()
    threads = [thread_of(i) for i in THREADS_2026.values()]
    spider.progress[SOURCE.key] = progress = Progress({})
    progress.chosen, progress.pending = len(threads), {t.story_id: t for t in threads}
    for thread in threads:
        if thread.story_id in (errors or {}):
            request = Request(spider.thread_url(BASE, thread.story_id), cb_kwargs={"source": SOURCE, "thread": thread})
            error = HttpError(response(request.url, b"{}", {}, status=errors[thread.story_id]))
            failure = Failure(error)
            failure.request = request
            spider.thread_failed(failure)
            continue
        body = bodies.get(thread.story_id) or recorded_body(thread.story_id)
        list(spider.parse_thread(response(spider.thread_url(BASE, thread.story_id), body, {}), SOURCE, thread))
    return spider


def test_failing_threads_make_the_source_partial_and_the_others_are_read():
    feb, mar = THREADS_2026["2026-02"], THREADS_2026["2026-03"]
    spider = failing_crawl({mar: recorded_body(mar)[:5000]}, errors={feb: 404})
    result, stats = spider.source_results[SOURCE.key], spider.crawler.stats
    assert (result.status, result.reason) == ("partial", "threads_failed:2/5")
    assert len(result.seen_ids) == 264 + 345 + 290
    assert stats.get_value("jobtrend/source/hackernews:whoishiring/source_error/http_404") == 1
    assert stats.get_value("jobtrend/source/hackernews:whoishiring/source_error/invalid_json") == 1
    assert stats.get_value(f"jobtrend/source/hackernews:whoishiring/thread/2026-02/{feb}") is None


def test_a_thread_of_another_story_is_unexpected():
    may = THREADS_2026["2026-05"]
    spider = failing_crawl({may: recorded_body(THREADS_2026["2026-04"])})
    assert spider.source_results[SOURCE.key].reason == "threads_failed:1/5"
    assert spider.crawler.stats.get_value("jobtrend/source_error/unexpected_shape") == 1


def test_when_every_thread_fails_the_source_fails():
    spider = failing_crawl({}, errors={i: 500 for i in THREADS_2026.values()})
    result = spider.source_results[SOURCE.key]
    assert (result.status, result.reason, result.seen_ids) == ("failed", "threads_failed:5/5", set())


async def collect(requests) -> list:
    return [r async for r in requests]


@pytest.mark.parametrize(("since", "option"), [("2011-4", None), (None, "April 2011"), ("2011-13", None)])
def test_a_bad_since_fails_the_source_without_a_request(since, option):
    source = SourceConfig("hackernews", "whoishiring", options={"since": option} if option else {})
    spider = new_spider(since=since, sources=[source])
    assert asyncio.run(collect(spider.start())) == []
    assert spider.source_results["whoishiring"].reason == "invalid_since"


def test_start_asks_for_the_listing_only():
    spider = new_spider(settings={"HN_ALGOLIA_API_BASE": BASE})
    assert [r.url for r in asyncio.run(collect(spider.start()))] == [spider.board_url(BASE, "whoishiring")]
