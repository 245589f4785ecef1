"""ValidatePostingPipeline: required fields drop and count, dates parse or count, types are normalised."""

from __future__ import annotations

import datetime as dt

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import JobPosting
from crawler.pipelines.validate_posting import ValidatePostingPipeline, column_sizes, parse_datetime, to_bool


@pytest.fixture
def pipeline():
    return ValidatePostingPipeline.from_crawler(get_crawler())


def posting(**overrides) -> JobPosting:
    fields = {"source_kind": "ashby", "source_key": "acme", "external_id": "j1", "url": "https://x.test/j1",
              "title": "ML Engineer", "description_text": "text", "posted_at": "2026-04-07T17:12:35.753+00:00"}
    return JobPosting(**(fields | overrides))


@pytest.mark.parametrize("field", ["external_id", "title", "source_kind", "source_key", "url"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_required_field_drops_and_counts(pipeline, field, value):
    with pytest.raises(DropItem):
        pipeline.process_item(posting(**{field: value}))
    assert pipeline.stats.get_value(f"jobtrend/field/{field}/missing") == 1
    kind = "?" if field == "source_kind" else "ashby"
    key = "?" if field == "source_key" else "acme"
    assert pipeline.stats.get_value(f"jobtrend/source/{kind}:{key}/dropped") == 1


def test_drops_are_counted_per_source(pipeline):
    for item in (posting(title=""), posting(url=None), posting(source_key="other", title=None)):
        with pytest.raises(DropItem):
            pipeline.process_item(item)
    pipeline.process_item(posting())
    assert pipeline.stats.get_value("jobtrend/source/ashby:acme/dropped") == 2
    assert pipeline.stats.get_value("jobtrend/source/ashby:other/dropped") == 1


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-04-07T17:12:35.753+00:00", dt.datetime(2026, 4, 7, 17, 12, 35, 753000, tzinfo=dt.UTC)),
    ("2026-04-20T09:30:00-04:00", dt.datetime(2026, 4, 20, 13, 30, tzinfo=dt.UTC)),
    ("2025-11-03T08:00:00Z", dt.datetime(2025, 11, 3, 8, 0, tzinfo=dt.UTC)),
    ("2026-05-01", dt.datetime(2026, 5, 1, tzinfo=dt.UTC)),
    ("2026-05-01T10:00:00", dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)),
    (1769904000000, dt.datetime(2026, 2, 1, tzinfo=dt.UTC)),
])
def test_posted_at_is_parsed_to_utc(pipeline, raw, expected):
    assert pipeline.process_item(posting(posted_at=raw))["posted_at"] == expected


@pytest.mark.parametrize("raw", ["not a date", "2026-13-45", True, {"at": 1}])
def test_invalid_posted_at_is_counted_and_kept_as_none(pipeline, raw):
    item = pipeline.process_item(posting(posted_at=raw))
    assert item["posted_at"] is None
    assert pipeline.stats.get_value("jobtrend/field/posted_at/invalid") == 1


def test_missing_posted_at_is_none_and_not_invalid(pipeline):
    assert pipeline.process_item(posting(posted_at=None))["posted_at"] is None
    assert pipeline.stats.get_value("jobtrend/field/posted_at/invalid") is None


@pytest.mark.parametrize(("raw", "expected"), [
    (True, True), (False, False), (None, None), ("yes", True), ("Remote", True), ("false", False), (0, False),
    ("sometimes", None),
])
def test_remote_becomes_bool_or_none(raw, expected):
    assert to_bool(raw) is expected


def test_strings_are_stripped_and_empty_ones_become_none(pipeline):
    item = pipeline.process_item(posting(title="  ML Engineer \n", location="   ", company=" Acme "))
    assert (item["title"], item["location"], item["company"]) == ("ML Engineer", None, "Acme")


def test_over_long_fields_are_cut_to_their_column(pipeline):
    sizes = column_sizes()
    item = pipeline.process_item(posting(company="C" * 500, employment_type="E" * 80, title="T" * 5000))
    assert len(item["company"]) == sizes["company"] == 200
    assert len(item["employment_type"]) == sizes["employment_type"] == 50
    assert len(item["title"]) == 5000  # Text column: no limit
    assert pipeline.stats.get_value("jobtrend/field/company/truncated") == 1


def test_parse_datetime_keeps_aware_values():
    moment = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert parse_datetime(moment) == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
