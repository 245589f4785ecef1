"""GreenhouseSpider on recorded Greenhouse responses: unescaped content, first_published dates, fields."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from crawler.spiders.greenhouse import GreenhouseSpider
from jobtrend.config import SourceConfig
from jobtrend.text import html_to_text
from tests.crawler.conftest import board_jobs, make_spider, parse_board

BOARDS = ("acmeai", "helsing", "honeycomb", "dropbox")
SOURCES = [SourceConfig("greenhouse", key, company=f"{key} (config)") for key in BOARDS]
SPIDER = make_spider(GreenhouseSpider, SOURCES)
ITEMS = {s.key: parse_board(SPIDER, s) for s in SOURCES}
RAW = {key: {str(j["id"]): j for j in board_jobs("greenhouse", key)} for key in BOARDS}
ALL = [(key, item) for key, items in ITEMS.items() for item in items]
IDS = [f"{key}-{item['external_id']}" for key, item in ALL]


def item(key: str, external_id: int):
    return next(i for i in ITEMS[key] if i["external_id"] == str(external_id))


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_posted_date_is_first_published_never_updated_at(key, posting):
    raw = RAW[key][posting["external_id"]]
    assert posting["posted_at"] == raw["first_published"]
    assert posting["posted_at"] != raw["updated_at"] or raw["first_published"] == raw["updated_at"]


@pytest.mark.parametrize(("key", "posting"), ALL, ids=IDS)
def test_every_item_comes_from_its_job(key, posting):
    raw = RAW[key][posting["external_id"]]
    assert posting["source_kind"] == "greenhouse" and posting["source_key"] == key
    assert posting["external_id"] == str(raw["id"])
    assert posting["title"] == raw["title"].strip()
    assert posting["url"] == raw["absolute_url"]
    assert posting["company"] == raw["company_name"]
    assert posting["description_html"] == html.unescape(raw.get("content") or "")


def test_recorded_first_published_differs_from_updated_at():
    differing = [j for j in RAW["dropbox"].values() if j["first_published"] != j["updated_at"]]
    assert differing
    assert item("dropbox", differing[0]["id"])["posted_at"] == differing[0]["first_published"]


def test_content_is_unescaped_exactly_once():
    description = item("acmeai", 4012345)["description_html"]
    assert description.startswith('<div class="content-intro"><p><strong>Acme AI</strong>')
    assert "pipelines &amp; evals" in description  # still HTML: the entity is decoded by the HTML parser
    text = html_to_text(description)
    assert "builds training pipelines & evals for frontier models." in text
    assert "- Train models with PyTorch & JAX" in text.splitlines()
    assert "dataLayer" not in text and "color:red" not in text


def test_real_recorded_content_is_unescaped_to_html():
    description = item("helsing", 4865187101)["description_html"]
    assert description.startswith("<h2><strong>Who we are</strong></h2>")
    assert html_to_text(description).startswith("Who we are\nHelsing is a defence AI company.")


def test_jobs_without_content_get_an_empty_description():
    assert {i["description_html"] for i in ITEMS["dropbox"]} == {""}
    assert item("acmeai", 4012348)["description_html"] == ""


def test_null_first_published_gives_no_posted_date():
    assert item("acmeai", 4012347)["posted_at"] is None


def test_fields_from_location_departments_and_metadata():
    first = item("acmeai", 4012345)
    assert (first["location"], first["department"], first["employment_type"]) == ("Remote - US", "Research",
                                                                                 "Full-time")
    assert first["remote"] is True
    assert first["extras"]["requisition_id"] == "REQ-50" and first["extras"]["offices"] == ["Remote"]
    second = item("acmeai", 4012346)
    assert second["remote"] is False  # Location Type: On-Site
    assert second["department"] is None and second["extras"]["requisition_id"] == 77
    assert item("acmeai", 4012347)["remote"] is None


def test_dates_parse_with_offsets_and_z():
    for posting in ITEMS["acmeai"]:
        if posting["posted_at"]:
            assert dt.datetime.fromisoformat(posting["posted_at"]).tzinfo is not None


def test_company_falls_back_to_the_configured_company():
    spider = make_spider(GreenhouseSpider, [SourceConfig("greenhouse", "acmeai", company="Acme (config)")])
    body = b'{"jobs": [{"id": 1, "title": "T", "absolute_url": "https://x.test/1"}], "meta": {"total": 1}}'
    (posting,) = parse_board(spider, spider.sources[0], body)
    assert posting["company"] == "Acme (config)" and posting["description_html"] == ""


def test_board_url_asks_for_content():
    assert SPIDER.board_url("https://boards-api.greenhouse.io", "acmeai") == (
        "https://boards-api.greenhouse.io/v1/boards/acmeai/jobs?content=true")
