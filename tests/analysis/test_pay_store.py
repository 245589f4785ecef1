"""The pay step of analyze on SQLite and PostgreSQL: compensation rows, seniority, and what makes a posting stale."""

from __future__ import annotations

from sqlalchemy import select, update

from analysis.pay import extractor_version
from analysis.pay.store import derive_pay, stale_pay_count
from jobtrend.currency import load_rates
from jobtrend.models import Compensation, Posting
from tests.analysis.factories import add_posting, add_source, edit_posting

ASHBY_PAY = {"kind": "ashby", "data": {"summaryComponents": [
    {"compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": 180000,
     "maxValue": 240000}]}}


def compensation(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(Compensation).order_by(Compensation.posting_id, Compensation.id))
        return [dict(r._mapping) for r in rows]


def posting_field(engine, posting_id: int, name: str):
    with engine.connect() as conn:
        return conn.scalar(select(getattr(Posting, name)).where(Posting.id == posting_id))


def test_pay_rows_seniority_and_counts(engine):
    source = add_source(engine)
    structured = add_posting(engine, source, title="Senior ML Engineer",
                             text="Salary $180,000 - $240,000. We raised $30M in a Series A.")
    with engine.begin() as conn:
        conn.execute(update(Posting).where(Posting.id == structured).values(pay_data=ASHBY_PAY))
    none = add_posting(engine, source, title="Staff Engineer", text="Competitive salary.")
    hourly = add_posting(engine, source, title="Data Labeling Intern", text="Pay: $40-$50/hr")
    result = derive_pay(engine)
    assert (result.postings, result.with_pay, result.ranges) == (3, 2, 3)
    assert result.refused == {"not pay: funding": 1} and result.rates_date == "2025-12-16"
    rows = compensation(engine)
    by_posting = {}
    for row in rows:
        by_posting.setdefault(row["posting_id"], []).append(row)
    first, text = by_posting[structured]
    assert (first["source"], first["is_primary"], first["minimum"], first["usd_max"]) == ("structured", True,
                                                                                         180000, 240000)
    assert (text["source"], text["is_primary"], text["evidence"]) == ("text", False, "$180,000 - $240,000")
    (pay,) = by_posting[hourly]
    assert (pay["component"], pay["interval"], pay["annual_min"], pay["annual_max"]) == ("hourly", "hour",
                                                                                         83200, 104000)
    assert pay["extractor_version"] == extractor_version() and pay["rates_date"] == "2025-12-16"
    assert none not in by_posting
    assert [posting_field(engine, p, "seniority") for p in (structured, none, hourly)] == ["senior", "staff",
                                                                                          "intern"]


def test_only_stale_postings_are_read_again(engine):
    source = add_source(engine)
    posting = add_posting(engine, source, title="Engineer", text="Salary: $150k-$200k")
    other = add_posting(engine, source, title="Engineer", text="Salary: $100k-$120k")
    derive_pay(engine)
    assert stale_pay_count(engine) == 0 and derive_pay(engine).postings == 0
    edit_posting(engine, posting, text="Salary: $160k-$210k")  # a re-crawl with new text
    with engine.begin() as conn:  # the crawler clears pay_hash when only the structured pay changed
        conn.execute(update(Posting).where(Posting.id == other).values(pay_data=ASHBY_PAY, pay_hash=None))
    assert derive_pay(engine).postings == 2
    rows = {(r["posting_id"], r["source"]): r for r in compensation(engine)}
    assert rows[(posting, "text")]["minimum"] == 160000 and len(rows) == 3
    assert rows[(other, "structured")]["is_primary"] and not rows[(other, "text")]["is_primary"]


def test_a_new_currency_table_derives_every_posting_again(engine, tmp_path):
    source = add_source(engine)
    posting = add_posting(engine, source, text="Gehalt: €70.000–€90.000")
    derive_pay(engine)
    table = tmp_path / "rates.toml"
    table.write_text('date = "2026-06-30"\nsource = "test"\n[usd_per_unit]\nUSD = 1.0\nEUR = 1.5\n')
    rates = load_rates(table)
    assert stale_pay_count(engine, rates) == 1
    derive_pay(engine, rates=rates)
    (row,) = compensation(engine)
    assert (row["posting_id"], row["usd_min"], row["rates_date"]) == (posting, 105000, "2026-06-30")
