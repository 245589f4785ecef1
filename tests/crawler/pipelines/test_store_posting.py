"""StorePostingPipeline on SQLite and PostgreSQL: insert, re-store, update on changed content, reopen, errors."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select, update

from crawler.items import JobPosting
from crawler.pipelines.store_posting import StorePostingPipeline, monday_of
from jobtrend.models import Posting, Source

POSTED = dt.datetime(2026, 4, 7, 17, 12, 35, tzinfo=dt.UTC)  # a Tuesday


def posting(external_id: str = "j1", **overrides) -> JobPosting:
    fields = {"source_kind": "ashby", "source_key": "acme", "external_id": external_id,
              "url": f"https://x.test/{external_id}", "title": f"ML Engineer {external_id}", "company": "Acme",
              "location": "Remote", "remote": True, "employment_type": "FullTime", "department": "AI",
              "description_text": "Train models with PyTorch.", "posted_at": POSTED}
    return JobPosting(**(fields | overrides))


def store(db_url: str, items: list, batch_size: int = 2) -> StorePostingPipeline:
    pipeline = StorePostingPipeline(db_url, batch_size, get_crawler().stats)
    pipeline.open_spider()
    for item in items:
        pipeline.process_item(item)
    pipeline.close_spider()
    return pipeline


def rows(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.external_id: dict(r._mapping) for r in conn.execute(select(Posting.__table__))}


def stat(pipeline, name: str, label: str = "ashby:acme"):
    return pipeline.stats.get_value(f"jobtrend/source/{label}/{name}")


def test_new_postings_are_inserted_with_dates_and_hash(db_url, engine):
    pipeline = store(db_url, [posting("j1"), posting("j2"), posting("j3", posted_at=None)])
    stored = rows(engine)
    assert set(stored) == {"j1", "j2", "j3"} and stat(pipeline, "new") == 3
    first = stored["j1"]
    assert first["posted_at"] == POSTED and first["posted_week"] == dt.date(2026, 4, 6)
    assert first["first_seen_at"] == first["last_seen_at"] and first["closed_at"] is None
    expected = hashlib.sha256(b"ML Engineer j1\nTrain models with PyTorch.").hexdigest()
    assert first["content_hash"] == expected
    assert (first["title"], first["remote"], first["department"]) == ("ML Engineer j1", True, "AI")


def test_missing_source_date_falls_back_to_first_seen(db_url, engine):
    store(db_url, [posting("j1", posted_at=None)])
    row = rows(engine)["j1"]
    assert row["posted_at"] == row["first_seen_at"]
    assert row["posted_week"] == monday_of(row["first_seen_at"])


def test_posted_month_is_the_items_own_month_else_the_month_of_posted_at(db_url, engine):
    late = dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC)  # a late answer to April's Hacker News thread
    store(db_url, [posting("thread", posted_at=late, posted_month="2026-04"), posting("plain", posted_at=late),
                   posting("odd", posted_at=late, posted_month="April")])
    stored = rows(engine)
    assert stored["thread"]["posted_month"] == dt.date(2026, 4, 1)
    assert stored["plain"]["posted_month"] == stored["odd"]["posted_month"] == dt.date(2026, 5, 1)
    assert stored["thread"]["posted_week"] == dt.date(2026, 4, 27)


def test_posted_week_is_the_utc_monday():
    sunday_evening_new_york = dt.datetime(2026, 4, 19, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert monday_of(sunday_evening_new_york) == dt.date(2026, 4, 20)


def test_storing_the_same_postings_again_only_touches_last_seen(db_url, engine):
    items = [posting("j1"), posting("j2"), posting("j3")]
    store(db_url, items)
    before = rows(engine)
    pipeline = store(db_url, items)
    after = rows(engine)
    assert set(after) == set(before) and stat(pipeline, "unchanged") == 3 and stat(pipeline, "new") is None
    for key, row in after.items():
        assert row["last_seen_at"] > before[key]["last_seen_at"]
        assert {k: v for k, v in row.items() if k != "last_seen_at"} == {
            k: v for k, v in before[key].items() if k != "last_seen_at"}


def test_changed_content_updates_the_row_but_never_its_posted_date(db_url, engine):
    store(db_url, [posting("j1"), posting("j2")])
    before = rows(engine)
    later = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)  # as if a source sent a refreshed date
    changed = posting("j1", description_text="Now with JAX.", location="London", posted_at=later)
    pipeline = store(db_url, [changed, posting("j2")])
    after = rows(engine)
    assert stat(pipeline, "updated") == 1 and stat(pipeline, "unchanged") == 1
    assert after["j1"]["content_hash"] != before["j1"]["content_hash"]
    assert (after["j1"]["description_text"], after["j1"]["location"]) == ("Now with JAX.", "London")
    assert after["j1"]["posted_at"] == POSTED and after["j1"]["first_seen_at"] == before["j1"]["first_seen_at"]
    assert after["j1"]["id"] == before["j1"]["id"]
    assert after["j2"]["content_hash"] == before["j2"]["content_hash"]


def test_a_closed_posting_that_reappears_is_reopened(db_url, engine):
    store(db_url, [posting("j1"), posting("j2")])
    with engine.begin() as conn:
        conn.execute(update(Posting.__table__).values(closed_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)))
    store(db_url, [posting("j1"), posting("j2", title="Renamed")])
    assert {r["closed_at"] for r in rows(engine).values()} == {None}


def test_repeated_posting_in_one_batch_is_stored_once(db_url, engine):
    pipeline = store(db_url, [posting("j1"), posting("j1", title="Second copy")], batch_size=10)
    assert rows(engine)["j1"]["title"] == "Second copy" and stat(pipeline, "new") == 1


def test_sources_are_created_once_per_kind_and_key(db_url, engine):
    items = [posting("j1"), posting("j1", source_kind="greenhouse"), posting("j2", source_key="other")]
    store(db_url, items, batch_size=1)
    with engine.connect() as conn:
        sources = set(conn.execute(select(Source.kind, Source.key)))
        assert len(conn.execute(select(Posting.id)).all()) == 3
    assert sources == {("ashby", "acme"), ("greenhouse", "acme"), ("ashby", "other")}


def test_database_error_is_logged_and_counted_and_other_batches_still_stored(db_url, engine, caplog):
    items = [posting("j1"), posting("bad", title=None), posting("j3")]
    pipeline = store(db_url, items, batch_size=1)
    assert set(rows(engine)) == {"j1", "j3"}
    assert pipeline.stats.get_value("jobtrend/store_error/IntegrityError") == 1
    assert stat(pipeline, "store_error") == 1 and stat(pipeline, "new") == 2
    assert "could not store posting 'bad' of ashby:acme" in caplog.text


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_batch_size_does_not_change_the_result(db_url, engine, batch_size):
    store(db_url, [posting(f"j{i}") for i in range(7)], batch_size=batch_size)
    assert len(rows(engine)) == 7
