"""CrawlRunExtension on SQLite and PostgreSQL: one crawl_runs row per source, statuses, and closing postings."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select, update

from crawler.extensions.crawl_run import CrawlRunExtension, outcome
from crawler.extensions.source_lines import MODE_SETTING, SourceLinesExtension
from crawler.items import JobPosting
from crawler.pipelines.store_posting import StorePostingPipeline
from crawler.spiders.source import SourceResult, source_finished
from jobtrend.config import SourceConfig
from jobtrend.models import CrawlRun, Posting, Source

ACME = SourceConfig("ashby", "acme", company="Acme")
BETA = SourceConfig("ashby", "beta")


def crawl(db_url: str, stored: dict[str, list[str]], results: dict[str, SourceResult], reason: str = "finished"):
    """Open the extension, store postings per source key, set the spider's results, close with ``reason``."""
    crawler = get_crawler(settings_dict={"JOBTREND_DATABASE_URL": db_url})
    ext = CrawlRunExtension.from_crawler(crawler)
    spider = SimpleNamespace(sources=[ACME, BETA], source_results={})
    ext.spider_opened(spider)
    store = StorePostingPipeline(db_url, 100, crawler.stats)
    store.open_spider()
    for key, ids in stored.items():
        for external_id in ids:
            store.process_item(JobPosting(source_kind="ashby", source_key=key, external_id=external_id,
                                          url="https://x.test", title=f"T {external_id}", description_text=""))
    store.close_spider()
    spider.source_results.update(results)
    ext.spider_closed(spider, reason)
    return spider


def runs(engine) -> dict[str, CrawlRun]:
    with engine.connect() as conn:
        query = select(Source.key, CrawlRun.__table__).join(Source).order_by(CrawlRun.id)
        return {r.key: r for r in conn.execute(query)}  # the latest run per source wins


def open_ids(engine, key: str) -> set[str]:
    with engine.connect() as conn:
        query = select(Posting.external_id).join(Source).where(Source.key == key, Posting.closed_at.is_(None))
        return set(conn.scalars(query))


def ok(*ids: str) -> SourceResult:
    return SourceResult("ok", None, set(ids))


@pytest.mark.parametrize(("result", "reason", "own", "expected"), [
    (ok(), "finished", {}, ("ok", None)),
    (SourceResult("failed", "http_404"), "finished", {}, ("failed", "http_404")),
    (SourceResult("failed", "invalid_json"), "shutdown", {}, ("failed", "invalid_json")),
    (ok(), "closespider_itemcount", {}, ("partial", "cut_short:closespider_itemcount")),
    (None, "finished", {}, ("partial", "no_response")),
    (None, "shutdown", {}, ("partial", "cut_short:shutdown")),
    (ok(), "finished", {"store_error": 3}, ("partial", "store_error")),
])
def test_outcome(result, reason, own, expected):
    assert outcome(result, reason, own) == expected


def test_running_rows_are_opened_then_finished_with_counts(db_url, engine):
    spider = crawl(db_url, {"acme": ["a1", "a2"]}, {"acme": ok("a1", "a2"), "beta": SourceResult("failed", "http_404")})
    recorded = runs(engine)
    assert set(spider.crawl_run_ids) == {"acme", "beta"}
    acme, beta = recorded["acme"], recorded["beta"]
    assert (acme.status, acme.seen, acme.new, acme.updated, acme.errors, acme.closed) == ("ok", 2, 2, 0, 0, 0)
    assert acme.stats == {"new": 2} and acme.finished_at >= acme.started_at
    assert (beta.status, beta.error, beta.errors, beta.seen) == ("failed", "http_404", 1, 0)


def test_complete_crawl_closes_postings_not_seen(db_url, engine):
    crawl(db_url, {"acme": ["a1", "a2", "a3"]}, {"acme": ok("a1", "a2", "a3"), "beta": ok()})
    crawl(db_url, {"acme": ["a1", "a3"]}, {"acme": ok("a1", "a3"), "beta": ok()})
    assert open_ids(engine, "acme") == {"a1", "a3"}
    assert runs(engine)["acme"].closed == 1


@pytest.mark.parametrize(("result", "reason"), [
    (SourceResult("failed", "http_404"), "finished"),
    (ok("a1"), "closespider_itemcount"),
    (None, "finished"),
])
def test_failed_or_partial_crawl_closes_nothing(db_url, engine, result, reason):
    crawl(db_url, {"acme": ["a1", "a2"]}, {"acme": ok("a1", "a2"), "beta": ok()})
    results = {"beta": ok()} | ({"acme": result} if result else {})
    crawl(db_url, {}, results, reason)
    assert open_ids(engine, "acme") == {"a1", "a2"}
    assert runs(engine)["acme"].closed == 0


def test_already_closed_postings_keep_their_closing_time(db_url, engine):
    crawl(db_url, {"acme": ["a1", "a2"]}, {"acme": ok("a1", "a2"), "beta": ok()})
    closed_at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(update(Posting.__table__).where(Posting.external_id == "a2").values(closed_at=closed_at))
    crawl(db_url, {"acme": ["a1"]}, {"acme": ok("a1"), "beta": ok()})
    with engine.connect() as conn:
        assert conn.scalar(select(Posting.closed_at).where(Posting.external_id == "a2")) == closed_at
    assert runs(engine)["acme"].closed == 0


def test_store_errors_make_the_run_partial_and_correct_the_sources_line(db_url, engine, capsys):
    """The spider's result said ok, and its line said so at once; two postings were lost to the database: the
    run is recorded partial, and a second line corrects the first (crawler/extensions/source_lines.py)."""
    crawler_stats_key = "jobtrend/source/ashby:acme/store_error"
    crawler = get_crawler(settings_dict={"JOBTREND_DATABASE_URL": db_url, MODE_SETTING: "stderr"})
    ext = CrawlRunExtension.from_crawler(crawler)
    lines = SourceLinesExtension.from_crawler(crawler)  # kept: signals hold their receivers weakly
    spider = SimpleNamespace(sources=[ACME, BETA], source_results={})
    ext.spider_opened(spider)
    crawler.stats.inc_value(crawler_stats_key, 2)
    for key, result in {"acme": ok("a1"), "beta": ok("b1")}.items():  # as SourceSpider.result_set sends it
        spider.source_results[key] = result
        crawler.signals.send_catch_log(source_finished, label=f"ashby:{key}", result=result)
    assert capsys.readouterr().err.splitlines() == ["ashby:acme ok 1 listed", "ashby:beta ok 1 listed"]
    ext.spider_closed(spider, "finished")
    run = runs(engine)["acme"]
    assert (run.status, run.error, run.errors) == ("partial", "store_error", 2)
    assert capsys.readouterr().err.splitlines() == [  # beta's outcome is unchanged: no second line
        "ashby:acme now partial 1 seen, 0 new: some postings could not be stored (store_error)"]
    assert lines.said == {"ashby:acme": ("partial", "store_error"), "ashby:beta": ("ok", None)}
