"""LeverSpider on recorded Lever pages: pagination, the EU host, every field, and boards that fail part-way."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
from scrapy.http import Request, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.replay import ReplayServer
from crawler.run import crawl_settings
from crawler.spiders.lever import LeverSpider
from jobtrend.config import SourceConfig, load_config
from tests.crawler.conftest import REPLAY, make_spider, write_config

US, EU = "https://api.lever.test", "https://api.eu.lever.test"
SETTINGS = {"LEVER_API_BASE": US, "LEVER_EU_API_BASE": EU, "LEVER_PAGE_SIZE": 3}
SOURCES = [SourceConfig("lever", "AcmeAI", company="Acme AI"), SourceConfig("lever", "jumpcloud"),
           SourceConfig("lever", "matchgroup", company="Match Group"),
           SourceConfig("lever", "euroml", options={"region": "eu"}), SourceConfig("lever", "emptysite")]
RECORDED = ReplayServer(REPLAY)  # not started: only its lookup of recorded pages by path and query is used


def recorded(url: str) -> bytes:
    """The recorded response body for ``url``, found as the replay server finds it."""
    parts = urlsplit(url)
    return RECORDED.respond(parts.path, parts.query).payload()


def page_response(url: str, kwargs: dict, body: bytes | None = None, status: int = 200) -> TextResponse:
    request = Request(url, cb_kwargs=kwargs)
    return TextResponse(url, status=status, body=recorded(url) if body is None else body, encoding="utf-8",
                        request=request)


def crawl_board(spider, source: SourceConfig, bodies: dict[int, bytes] | None = None) -> tuple[list, list[str]]:
    """Follow the spider's page requests through the recorded pages (or ``bodies`` by page number); return the
    items and the URLs requested."""
    url, kwargs = spider.board_url(spider.api_base(source), source.key), {"source": source}
    items, urls = [], []
    while url:
        urls.append(url)
        body = (bodies or {}).get(len(urls) - 1)
        outputs = list(spider.parse_board(page_response(url, kwargs, body), **kwargs))
        url = None
        for out in outputs:
            if isinstance(out, Request):
                url, kwargs = out.url, out.cb_kwargs
            else:
                items.append(out)
    return items, urls


SPIDER = make_spider(LeverSpider, SOURCES, SETTINGS)
CRAWLS = {s.key: crawl_board(SPIDER, s) for s in SOURCES}
ITEMS = {key: items for key, (items, _) in CRAWLS.items()}
RAW = {s.key: {j["id"]: j for page_url in CRAWLS[s.key][1] for j in json.loads(recorded(page_url))
               if isinstance(j, dict) and "id" in j} for s in SOURCES}
ALL = [(key, item) for key, items in ITEMS.items() for item in items]
IDS = [f"{key}-{item['external_id'][:8]}" for key, item in ALL]

HYBRID = "5ac21346-8e0c-4494-8e7a-3eb92ff77902"
ONSITE = "0c1f6a52-3b7e-4d21-9f0a-6e2b8c4d1a77"
ON_HYPHEN_SITE = "7e9d2b40-1c55-4b8e-a3f1-2d6c9e0b4f18"
REMOTE_ZERO_PAY = "a4b8c2d6-9e1f-4a3b-8c7d-5e6f7a8b9c0d"
UNSPECIFIED = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
BARE = "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"  # no createdAt, workplaceType, location or lists; padded title
JUMPCLOUD = "7d6cc0b4-a5f9-4f02-8542-7fc1eb5749e2"
HINGE = "3414ba28-35f7-45d3-8e13-35c883959635"


def item(key: str, external_id: str):
    return next(i for i in ITEMS[key] if i["external_id"] == external_id)


def created(raw: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(raw["createdAt"] / 1000, dt.UTC)


# --- rules for every posting ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_item_comes_from_its_posting(key, posting):
    raw = RAW[key][posting["external_id"]]
    categories = raw["categories"]
    assert posting["source_kind"] == "lever" and posting["source_key"] == key
    assert posting["url"] == raw["hostedUrl"]
    assert posting["title"] == raw["text"].strip() and posting["title"]
    assert posting["employment_type"] == categories["commitment"]
    assert posting["department"] == categories.get("department", categories.get("team"))
    assert posting["extras"]["applyUrl"] == raw["applyUrl"] == raw["hostedUrl"] + "/apply"


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_posted_date_is_created_at_in_utc(key, posting):
    raw = RAW[key][posting["external_id"]]
    if "createdAt" not in raw:
        assert posting["posted_at"] is None
        return
    assert dt.datetime.fromisoformat(posting["posted_at"]) == created(raw)


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_description_is_description_then_lists_then_additional(key, posting):
    raw = RAW[key][posting["external_id"]]
    lists = "".join(f"<h3>{e['text']}</h3><ul>{e['content']}</ul>" for e in raw.get("lists", []))
    assert posting["description_html"] == raw["description"] + lists + raw["additional"]


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_remote_flag_follows_workplace_type(key, posting):
    expected = {"remote": True, "onsite": False, "on-site": False, "hybrid": False}
    kind = RAW[key][posting["external_id"]].get("workplaceType")
    if kind in expected:
        assert posting["remote"] is expected[kind]
    else:
        assert posting["remote"] in (True, None)


# --- one field at a time ---------------------------------------------------------------------------------------

def test_title_is_trimmed():
    assert RAW["AcmeAI"][BARE]["text"] == "  Solutions Architect, Generative AI "
    assert item("AcmeAI", BARE)["title"] == "Solutions Architect, Generative AI"


def test_posted_at_is_created_at_milliseconds_as_iso_utc():
    assert item("AcmeAI", HYBRID)["posted_at"] == "2026-02-01T00:00:00+00:00"
    assert item("jumpcloud", JUMPCLOUD)["posted_at"] == "2026-07-29T15:44:26.689000+00:00"
    assert item("AcmeAI", BARE)["posted_at"] is None


@pytest.mark.parametrize(("key", "external_id", "remote"), [
    ("AcmeAI", HYBRID, False), ("AcmeAI", ONSITE, False), ("AcmeAI", ON_HYPHEN_SITE, False),
    ("AcmeAI", REMOTE_ZERO_PAY, True), ("AcmeAI", UNSPECIFIED, True), ("AcmeAI", BARE, None),
    ("jumpcloud", JUMPCLOUD, True), ("matchgroup", HINGE, False),
])
def test_remote_from_workplace_type_both_spellings_else_the_location(key, external_id, remote):
    assert item(key, external_id)["remote"] is remote


def test_location_joins_location_and_all_locations():
    assert item("AcmeAI", HYBRID)["location"] == "London; Remote - UK"
    assert item("AcmeAI", ON_HYPHEN_SITE)["location"] == "New York, NY; San Francisco, CA"
    assert item("jumpcloud", JUMPCLOUD)["location"] == "Bangalore, India - Remote"
    assert item("AcmeAI", BARE)["location"] is None


def test_department_falls_back_to_team():
    assert item("AcmeAI", HYBRID)["department"] == "Engineering"
    assert item("AcmeAI", UNSPECIFIED)["department"] == "Data Platform"
    assert item("matchgroup", HINGE)["department"] == "Hinge"


def test_employment_type_is_the_commitment():
    assert item("AcmeAI", REMOTE_ZERO_PAY)["employment_type"] == "Contract"
    assert item("jumpcloud", JUMPCLOUD)["employment_type"] == "Full Time"


def test_url_is_the_hosted_page():
    assert item("jumpcloud", JUMPCLOUD)["url"] == f"https://jobs.lever.co/jumpcloud/{JUMPCLOUD}"
    assert item("euroml", "e0a1b2c3-d4e5-4f60-8172-93a4b5c6d7e8")["url"].startswith("https://jobs.eu.lever.co/")


def test_lists_become_headings_over_their_items_even_when_the_heading_is_html():
    html = item("AcmeAI", ON_HYPHEN_SITE)["description_html"]
    assert html.endswith("<h3><div>Responsibilities</div></h3><ul><li>Ship agent features end to end</li>"
                         "<li>Write evals before prompts</li></ul>")
    first = item("AcmeAI", HYBRID)["description_html"]
    assert "<h3>What you&#39;ll <b>build</b></h3><ul>\n<li>Learning-to-rank" in first
    assert first.endswith("</ul><div>We sponsor visas.</div>")


def test_company_is_configured_else_the_site():
    assert {i["company"] for i in ITEMS["AcmeAI"]} == {"Acme AI"}
    assert {i["company"] for i in ITEMS["jumpcloud"]} == {"jumpcloud"}


def test_extras_keep_team_level_country_and_a_real_salary_range():
    extras = item("AcmeAI", HYBRID)["extras"]
    assert extras["team"] == "ML Platform" and extras["level"] == "Senior" and extras["country"] == "GB"
    assert extras["workplaceType"] == "hybrid"
    assert extras["salaryRange"] == {"currency": "GBP", "interval": "per-year-salary", "min": 90000, "max": 130000}
    assert "salaryRange" not in item("AcmeAI", REMOTE_ZERO_PAY)["extras"]  # min and max 0: no salary given


# --- pagination and board results ------------------------------------------------------------------------------

def test_pages_are_requested_until_a_short_page():
    _, urls = CRAWLS["AcmeAI"]
    assert urls == [f"{US}/v0/postings/AcmeAI?mode=json&skip={skip}&limit=3" for skip in (0, 3, 6)]
    result = SPIDER.source_results["AcmeAI"]
    assert result.status == "ok" and result.seen_ids == set(RAW["AcmeAI"]) and len(result.seen_ids) == 7


def test_full_last_page_is_followed_by_an_empty_one():
    _, urls = CRAWLS["euroml"]
    assert [u.rsplit("skip=", 1)[1] for u in urls] == ["0&limit=3", "3&limit=3", "6&limit=3"]
    assert SPIDER.source_results["euroml"].status == "ok" and len(ITEMS["euroml"]) == 6


def test_eu_sites_use_the_eu_host_and_site_names_keep_their_case():
    _, urls = CRAWLS["euroml"]
    assert all(u.startswith(f"{EU}/v0/postings/euroml?") for u in urls)
    assert CRAWLS["AcmeAI"][1][0].startswith(f"{US}/v0/postings/AcmeAI?")

    async def first_urls():
        return [request.url async for request in SPIDER.start()]

    assert [urlsplit(u).netloc for u in asyncio.run(first_urls())] == [
        "api.lever.test", "api.lever.test", "api.lever.test", "api.eu.lever.test", "api.lever.test"]


def test_board_is_ok_only_after_its_last_page():
    spider = make_spider(LeverSpider, [SOURCES[0]], SETTINGS)
    url = spider.board_url(US, "AcmeAI")
    outputs = list(spider.parse_board(page_response(url, {"source": SOURCES[0]}), SOURCES[0]))
    assert len([o for o in outputs if not isinstance(o, Request)]) == 3
    assert isinstance(outputs[-1], Request) and "skip=3" in outputs[-1].url
    assert "AcmeAI" not in spider.source_results


def test_a_failing_later_page_fails_the_board():
    spider = make_spider(LeverSpider, [SOURCES[0]], SETTINGS)
    items, urls = crawl_board(spider, SOURCES[0], bodies={1: b"<html>Bad gateway</html>"})
    assert len(items) == 3 and len(urls) == 2
    assert (spider.source_results["AcmeAI"].status, spider.source_results["AcmeAI"].reason) == ("failed",
                                                                                                "invalid_json")


def test_an_http_error_on_a_later_page_fails_the_board():
    spider = make_spider(LeverSpider, [SOURCES[0]], SETTINGS)
    page_two = next(o for o in spider.parse_board(page_response(spider.board_url(US, "AcmeAI"),
                                                                {"source": SOURCES[0]}), SOURCES[0])
                    if isinstance(o, Request))
    failure = Failure(HttpError(page_response(page_two.url, page_two.cb_kwargs, b"{}", status=500)))
    failure.request = page_two
    spider.board_failed(failure)
    assert spider.source_results["AcmeAI"].reason == "http_500"


NOT_FOUND = b'{"ok":false,"error":"Document not found"}'


def not_found(request: Request) -> Failure:
    failure = Failure(HttpError(page_response(request.url, request.cb_kwargs, NOT_FOUND, status=404)))
    failure.request = request
    return failure


def test_missing_site_is_http_404_on_both_hosts_and_an_empty_site_is_ok():
    spider = make_spider(LeverSpider, [SourceConfig("lever", "nosuchsite")], SETTINGS)
    source = spider.sources[0]
    [eu_request] = spider.board_failed(not_found(Request(spider.board_url(US, source.key),
                                                         cb_kwargs={"source": source})))
    assert eu_request.url == spider.board_url(EU, source.key) and "nosuchsite" not in spider.source_results
    assert spider.board_failed(not_found(eu_request)) is None  # the EU host is asked once, then it is gone
    assert spider.source_results["nosuchsite"].reason == "http_404"
    assert spider.crawler.stats.get_value("jobtrend/lever/eu_fallback") == 1
    assert ITEMS["emptysite"] == [] and SPIDER.source_results["emptysite"].status == "ok"


def test_a_site_without_a_region_found_on_the_eu_host_is_crawled_there(caplog):
    source = SourceConfig("lever", "euroml")  # really on the EU instance, but no region in the config
    spider = make_spider(LeverSpider, [source], SETTINGS)
    [eu_request] = spider.board_failed(not_found(Request(spider.board_url(US, "euroml"),
                                                         cb_kwargs={"source": source})))
    response = TextResponse(eu_request.url, body=recorded(eu_request.url), encoding="utf-8", request=eu_request)
    outputs = list(spider.parse_board(response, **eu_request.cb_kwargs))
    assert any(isinstance(o, Request) and o.url.startswith(f"{EU}/v0/postings/euroml?") for o in outputs)
    assert [o["external_id"] for o in outputs if not isinstance(o, Request)] == [
        i["external_id"] for i in ITEMS["euroml"][:3]]
    assert 'add region = "eu"' in caplog.text


@pytest.mark.parametrize("region", ["us", "eu"])
def test_a_site_with_a_region_is_not_tried_elsewhere(region):
    source = SourceConfig("lever", "nosuchsite", options={"region": region})
    spider = make_spider(LeverSpider, [source], SETTINGS)
    base = EU if region == "eu" else US
    assert spider.board_failed(not_found(Request(spider.board_url(base, source.key),
                                                 cb_kwargs={"source": source}))) is None
    assert spider.source_results["nosuchsite"].reason == "http_404"


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"ok":false,"error":"Document not found"}', "unexpected_shape"),
    (b'[{"title":"Engineering","postings":[]}', "invalid_json"),
    (b"<html><body>Lever</body></html>", "invalid_json"),
])
def test_a_page_that_is_not_a_json_array_fails_the_board(body, reason):
    spider = make_spider(LeverSpider, [SOURCES[0]], SETTINGS)
    assert crawl_board(spider, SOURCES[0], bodies={0: body})[0] == []
    assert spider.source_results["AcmeAI"].reason == reason


def test_a_server_that_ignores_skip_does_not_loop():
    spider = make_spider(LeverSpider, [SOURCES[0]], SETTINGS)
    first = recorded(spider.board_url(US, "AcmeAI"))
    items, urls = crawl_board(spider, SOURCES[0], bodies={1: first})
    assert len(urls) == 2 and len(items) == 6  # the repeated page's items are yielded again, then it stops
    assert spider.source_results["AcmeAI"].reason == "pagination_stalled"


def test_default_page_size_is_100():
    spider = make_spider(LeverSpider, [SourceConfig("lever", "big")])
    url = spider.board_url("https://api.lever.co", "big")
    assert url == "https://api.lever.co/v0/postings/big?mode=json&skip=0&limit=100"
    page = [dict(RAW["AcmeAI"][HYBRID], id=f"id-{n}") for n in range(100)]
    outputs = list(spider.parse_board(page_response(url, {"source": spider.sources[0]}, json.dumps(page).encode()),
                                      spider.sources[0]))
    assert outputs[-1].url == "https://api.lever.co/v0/postings/big?mode=json&skip=100&limit=100"
    assert outputs[-1].cb_kwargs["seen"] == {f"id-{n}" for n in range(100)}


def test_site_names_are_escaped_in_the_url():
    assert SPIDER.board_url(US, "a b/c").startswith(f"{US}/v0/postings/a%20b%2Fc?")


def test_posting_without_an_id_is_counted_and_skipped():
    assert SPIDER.crawler.stats.get_value("jobtrend/source/lever:AcmeAI/item_error/missing_id") == 1
    assert len(ITEMS["AcmeAI"]) == 7


def test_api_base_points_both_lever_hosts_at_one_server_and_defaults_are_the_real_hosts(tmp_path, monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    config = load_config(write_config(tmp_path / "config", []))
    replayed = crawl_settings(config, api_base="http://127.0.0.1:9/")
    assert replayed.get("LEVER_API_BASE") == replayed.get("LEVER_EU_API_BASE") == "http://127.0.0.1:9"
    live = crawl_settings(config)
    assert (live.get("LEVER_API_BASE"), live.get("LEVER_EU_API_BASE")) == ("https://api.lever.co",
                                                                          "https://api.eu.lever.co")
    assert live.getint("LEVER_PAGE_SIZE") == 100 and live.getint("RETRY_AFTER_MAX") == 120
    middlewares = live.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert "crawler.middlewares.retry_after.RetryAfterMiddleware" in middlewares
    assert "crawler.middlewares.crawl_delay.CrawlDelayMiddleware" in middlewares
