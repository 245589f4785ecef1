"""AshbySpider on recorded Ashby responses: every field, trimmed titles, unlisted jobs, bad entries."""

from __future__ import annotations

import pytest

from crawler.spiders.ashby import AshbySpider
from jobtrend.config import SourceConfig
from tests.crawler.conftest import board_jobs, make_spider, parse_board

BOARDS = ("SecondDinner", "integrationapp", "Homebound", "character", "render")
SOURCES = [SourceConfig("ashby", key, company=f"{key} Inc") for key in BOARDS]
SPIDER = make_spider(AshbySpider, SOURCES)
ITEMS = {s.key: parse_board(SPIDER, s) for s in SOURCES}
RAW = {key: {j["id"]: j for j in board_jobs("ashby", key) if isinstance(j, dict) and "id" in j} for key in BOARDS}
ALL = [(key, item) for key, items in ITEMS.items() for item in items]
IDS = [f"{key}-{item['external_id'][:8]}" for key, item in ALL]

UNLISTED = "0f6d2c1e-7a51-4c52-9e0c-2b8f1d3a9c01"
HYBRID = "34413f8d-26bf-4bbc-8ade-eb309a0e2245"
HIDDEN_PAY = "9a1e7b3c-55d2-4f0a-8c1e-6b2d4e8f0a33"


def item(key: str, external_id: str):
    return next(i for i in ITEMS[key] if i["external_id"] == external_id)


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_item_comes_from_its_job(key, posting):
    raw = RAW[key][posting["external_id"]]
    assert posting["source_kind"] == "ashby" and posting["source_key"] == key
    assert posting["posted_at"] == raw["publishedAt"]
    assert posting["description_html"] == raw["descriptionHtml"]
    assert posting["url"] == raw["jobUrl"]
    assert posting["company"] == f"{key} Inc"
    assert posting["employment_type"] == raw["employmentType"]
    assert posting["department"] == raw["department"]


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_title_is_trimmed(key, posting):
    assert posting["title"] == RAW[key][posting["external_id"]]["title"].strip()
    assert posting["title"] == posting["title"].strip() and posting["title"]


def test_padded_titles_in_the_recorded_data_are_trimmed():
    padded = [j for j in RAW["Homebound"].values() if j["title"] != j["title"].strip()]
    assert padded
    assert item("Homebound", padded[0]["id"])["title"] == padded[0]["title"].strip()


def test_all_listed_jobs_of_real_boards_are_yielded():
    for key in ("SecondDinner", "integrationapp", "Homebound", "character"):
        assert {i["external_id"] for i in ITEMS[key]} == set(RAW[key])
        assert SPIDER.source_results[key].status == "ok"
        assert SPIDER.source_results[key].seen_ids == set(RAW[key])


def test_unlisted_job_is_dropped_counted_and_not_seen():
    assert UNLISTED not in {i["external_id"] for i in ITEMS["render"]}
    assert UNLISTED not in SPIDER.source_results["render"].seen_ids
    assert SPIDER.crawler.stats.get_value("jobtrend/ashby/unlisted") == 1


def test_bad_entries_are_counted_and_the_rest_still_yield():
    stats = SPIDER.crawler.stats
    assert stats.get_value("jobtrend/item_error/not_a_dict") == 1
    assert stats.get_value("jobtrend/item_error/missing_id") == 1
    assert stats.get_value("jobtrend/source/ashby:render/item_error/missing_id") == 1
    assert len(ITEMS["render"]) == 4
    assert SPIDER.source_results["render"].status == "ok"


def test_location_joins_primary_and_secondary_locations():
    assert item("render", HYBRID)["location"] == "New York, NY; Remote (US)"
    cohere_like = item("character", next(iter(RAW["character"])))
    assert cohere_like["location"].startswith(RAW["character"][cohere_like["external_id"]]["location"])


def test_remote_from_is_remote_else_workplace_type():
    assert item("render", "558f18ed-c98c-4928-aa2b-2f9e297eea42")["remote"] is True
    assert item("render", HYBRID)["remote"] is False  # no isRemote, workplaceType Hybrid


def test_compensation_kept_only_when_shown_on_the_posting():
    shown = item("render", HYBRID)["extras"]
    assert shown["compensation"]["scrapeableCompensationSalarySummary"] == "$180K - $240K"
    assert shown["workplaceType"] == "Hybrid" and shown["team"]
    assert "compensation" not in item("render", HIDDEN_PAY)["extras"]


def test_board_names_are_escaped_in_the_url():
    url = SPIDER.board_url("https://api.ashbyhq.com", "Forward Financing")
    assert url == "https://api.ashbyhq.com/posting-api/job-board/Forward%20Financing?includeCompensation=true"


def test_company_defaults_to_the_board_name():
    spider = make_spider(AshbySpider, [SourceConfig("ashby", "SecondDinner")])
    assert {i["company"] for i in parse_board(spider, spider.sources[0])} == {"SecondDinner"}
