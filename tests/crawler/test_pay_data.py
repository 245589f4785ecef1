"""The source's structured pay is stored in ``postings.pay_data`` (SQLite and PostgreSQL): Ashby ``compensation``,
Lever ``salaryRange``, Greenhouse pay-range blocks, JSON-LD ``baseSalary``; a pay change alone updates it and
clears ``pay_hash`` without counting the posting as updated."""

from __future__ import annotations

import html
import json

from scrapy.utils.test import get_crawler
from sqlalchemy import select, update

from crawler.items import JobPosting
from crawler.pipelines.clean_html import CleanHtmlPipeline
from crawler.pipelines.store_posting import StorePostingPipeline, pay_data
from crawler.pipelines.validate_posting import ValidatePostingPipeline
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.greenhouse import GreenhouseSpider, pay_ranges
from jobtrend.config import SourceConfig
from jobtrend.models import Posting
from tests.crawler.conftest import make_spider, parse_board

RENDER = SourceConfig("ashby", "render")
SHOWN_PAY = "34413f8d-26bf-4bbc-8ade-eb309a0e2245"
HIDDEN_PAY = "9a1e7b3c-55d2-4f0a-8c1e-6b2d4e8f0a33"
PAY_BLOCK = ('<p>Build agents.</p><div class="content-pay-transparency"><div class="pay-input">'
             '<div class="description"><p>Pay depends on location.</p></div>'
             '<div class="title">US Pay Range</div><div class="pay-range"><span>$190,800</span>'
             '<span class="divider">&mdash;</span><span>$267,100 USD</span></div></div>'
             '<div class="pay-input"><div class="title">Canada Annual Pay Range</div><div class="pay-range">'
             '<span>CA$150,000</span><span class="divider">&mdash;</span><span>CA$190,000 CAD</span></div></div></div>')


def through_pipelines(db_url: str, items: list) -> StorePostingPipeline:
    """Clean, validate and store ``items`` as a crawl would."""
    crawler = get_crawler()
    store = StorePostingPipeline(db_url, 10, crawler.stats)
    clean, validate = CleanHtmlPipeline(), ValidatePostingPipeline(crawler.stats)
    store.open_spider()
    for item in items:
        store.process_item(validate.process_item(clean.process_item(item)))
    store.close_spider()
    return store


def stored_pay(engine) -> dict[str, dict | None]:
    with engine.connect() as conn:
        return {r.external_id: r.pay_data for r in conn.execute(select(Posting.external_id, Posting.pay_data))}


def ashby_items() -> list:
    return parse_board(make_spider(AshbySpider, [RENDER]), RENDER)


def greenhouse_item(content: str) -> JobPosting:
    job = {"id": 7, "title": "AI Engineer", "content": html.escape(content), "first_published": "2026-03-02T10:00:00Z",
           "absolute_url": "https://boards.greenhouse.io/acmeai/jobs/7", "location": {"name": "Remote"}}
    source = SourceConfig("greenhouse", "acmeai")
    body = json.dumps({"jobs": [job]}).encode()
    return parse_board(make_spider(GreenhouseSpider, [source]), source, body)[0]


def test_ashby_compensation_shown_on_the_posting_is_stored_as_pay_data(db_url, engine):
    items = ashby_items()
    raw = next(i for i in items if i["external_id"] == SHOWN_PAY)["extras"]["compensation"]
    through_pipelines(db_url, items)
    stored = stored_pay(engine)
    assert stored[SHOWN_PAY] == {"kind": "ashby", "data": raw}
    assert stored[SHOWN_PAY]["data"]["scrapeableCompensationSalarySummary"] == "$180K - $240K"
    assert stored[HIDDEN_PAY] is None  # hidden on the posting: not kept


def test_greenhouse_pay_range_blocks_are_read_from_the_content():
    item = greenhouse_item(PAY_BLOCK)
    assert item["extras"]["pay_ranges"] == [
        {"title": "US Pay Range", "text": "$190,800 — $267,100 USD"},
        {"title": "Canada Annual Pay Range", "text": "CA$150,000 — CA$190,000 CAD"}]
    assert "pay_ranges" not in greenhouse_item("<p>No pay here.</p>")["extras"]
    given = [{"min_cents": 15000000, "max_cents": 20000000, "currency_type": "USD", "title": "US"}]
    assert pay_ranges({"pay_input_ranges": given, "content": html.escape(PAY_BLOCK)}) == given


def test_lever_jsonld_and_greenhouse_pay_are_stored_by_kind(db_url, engine):
    lever = JobPosting(source_kind="lever", source_key="matchgroup", external_id="L1", title="ML Engineer",
                       url="https://jobs.lever.co/matchgroup/L1",
                       description_html="<p>Train models.</p>", posted_at="2026-03-02T10:00:00+00:00",
                       extras={"salaryRange": {"currency": "GBP", "interval": "per-year-salary", "min": 90000,
                                               "max": 130000}, "team": "AI"})
    salary = {"@type": "MonetaryAmount", "currency": "GBP",
              "value": {"@type": "QuantitativeValue", "minValue": 150000, "maxValue": 260000, "unitText": "YEAR"}}
    jsonld = JobPosting(source_kind="jsonld", source_key="https://www.decagon.example/careers/", external_id="J1",
                        title="Agent Engineer", url="https://www.decagon.example/careers/agent",
                        description_html="<p>Agents.</p>",
                        posted_at="2026-03-02T10:00:00+00:00", extras={"baseSalary": salary, "syntax": "json-ld"})
    through_pipelines(db_url, [lever, jsonld, greenhouse_item(PAY_BLOCK)])
    stored = stored_pay(engine)
    assert stored["L1"] == {"kind": "lever", "data": lever["extras"]["salaryRange"]}
    assert stored["J1"] == {"kind": "jsonld", "data": salary}
    assert stored["7"]["kind"] == "greenhouse" and len(stored["7"]["data"]) == 2


def test_pay_data_ignores_other_extras_and_other_kinds():
    assert pay_data({"source_kind": "hackernews", "extras": {"compensation": {"x": 1}}}) is None
    assert pay_data({"source_kind": "ashby", "extras": {"team": "AI"}}) is None
    assert pay_data({"source_kind": "jsonld", "extras": {"estimatedSalary": {"value": 5}}}) == {
        "kind": "jsonld", "data": {"value": 5}}


def test_a_pay_change_alone_updates_pay_data_and_clears_pay_hash(db_url, engine):
    items = ashby_items()
    through_pipelines(db_url, items)
    with engine.begin() as conn:
        conn.execute(update(Posting).values(pay_hash="p1-old:abc"))
    changed = ashby_items()
    shown = next(i for i in changed if i["external_id"] == SHOWN_PAY)
    shown["extras"]["compensation"]["summaryComponents"][0]["maxValue"] = 250000
    store = through_pipelines(db_url, changed)
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Posting.external_id, Posting.pay_data, Posting.pay_hash))}
    assert rows[SHOWN_PAY].pay_data["data"]["summaryComponents"][0]["maxValue"] == 250000
    assert rows[SHOWN_PAY].pay_hash is None  # the next analyze reads its pay again
    assert rows[HIDDEN_PAY].pay_hash == "p1-old:abc"  # untouched
    assert store.stats.get_value("jobtrend/source/ashby:render/pay_changed") == 1
    assert store.stats.get_value("jobtrend/source/ashby:render/updated") is None  # content unchanged
