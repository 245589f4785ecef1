"""Postings from Ashby boards this repository holds nowhere else (tests/fixtures/replay/posting-api/job-board/
pay-outside.json: eight real jobs of seven boards, descriptions cut) are read, through the real spider and the
pipeline's pay_data, to exactly the figures their structured compensation states."""

from __future__ import annotations

import json

import pytest

from analysis.pay import extract_pay
from crawler.pipelines.store_posting import pay_data
from crawler.spiders.ashby import AshbySpider
from jobtrend.config import SourceConfig
from tests.crawler.conftest import board_path, make_spider, parse_board

SOURCE = SourceConfig("ashby", "pay-outside")
RAW = {job["id"]: job for job in json.loads(board_path("ashby", "pay-outside").read_bytes())["jobs"]}
ITEMS = {item["external_id"]: item for item in parse_board(make_spider(AshbySpider, [SOURCE]), SOURCE)}
COMPONENTS = {"Salary": "base", "EquityPercentage": "equity", "EquityCashValue": "equity", "Bonus": "bonus",
              "Commission": "commission"}
INTERVALS = {"1 YEAR": "year", "1 MONTH": "month", "1 HOUR": "hour", "NONE": None}


def expected(job: dict) -> list[tuple]:
    """The summary components with figures, as the structured object states them."""
    rows = []
    for c in job["compensation"]["summaryComponents"]:
        if c["minValue"] is None and c["maxValue"] is None:
            continue
        component = COMPONENTS[c["compensationType"]]
        component = "hourly" if component == "base" and c["interval"] == "1 HOUR" else component
        rows.append((component, c["minValue"], c["maxValue"], c["currencyCode"], INTERVALS[c["interval"]]))
    return rows


@pytest.mark.parametrize("job_id", sorted(RAW))
def test_structured_compensation_of_an_unseen_board_is_read_exactly(job_id):
    item = ITEMS[job_id]
    stored = pay_data(item)
    assert stored is not None and stored["kind"] == "ashby"
    found = extract_pay("", stored)
    summary = [(r.component, r.minimum, r.maximum, r.currency, r.interval) for r in found.ranges if r.summary]
    assert summary == expected(RAW[job_id])
    salary = next(r for r in expected(RAW[job_id]) if r[0] in ("base", "hourly"))
    assert (found.primary.minimum, found.primary.maximum, found.primary.currency) == salary[1:4]


def test_the_fixture_covers_hourly_monthly_and_non_usd_pay():
    kinds = {row[3:] for job in RAW.values() for row in expected(job) if row[0] in ("base", "hourly")}
    assert {("USD", "hour"), ("USD", "year"), ("CNY", "month"), ("GBP", "year")} <= kinds
    assert len({job["jobUrl"].split("/")[3] for job in RAW.values()}) == 7  # seven boards
