"""A crawl where nothing changed, on SQLite and PostgreSQL: unchanged postings go no further than the spider
middleware and are only marked seen when the source's crawl is recorded; a changed one is cleaned and updated; a
new cleaner cleans everything once again.

Each "crawl" runs, on a test crawler whose spider crawls the board ``ashby:acme``, the real components in their
crawl order: the spider middleware (crawler/middlewares/unchanged_postings.py) over the spider's output, the
pipelines (strip control characters, clean HTML, validate, store) over what it lets through, and the crawl-run
extension recording the board's crawl as "ok" with every listed id seen.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import delete, select, update

from crawler.extensions.crawl_run import CrawlRunExtension
from crawler.items import JobPosting
from crawler.middlewares.unchanged_postings import RECOGNISED_STAT, UnchangedPostingsMiddleware
from crawler.pipelines import unchanged
from crawler.pipelines.clean_html import CleanHtmlPipeline
from crawler.pipelines.store_posting import StorePostingPipeline
from crawler.pipelines.strip_control_chars import StripControlCharsPipeline
from crawler.pipelines.unchanged import StoredRawHashes, raw_hash
from crawler.pipelines.validate_posting import ValidatePostingPipeline
from crawler.spiders.source import SourceResult
from jobtrend.config import SourceConfig
from jobtrend.models import Posting

POSTINGS = Posting.__table__
HTML = "<p>Train <b>models</b> with PyTorch.</p><ul><li>Python</li><li>CUDA</li></ul>"


def posting(external_id: str, **overrides) -> JobPosting:
    """A posting as the Ashby spider yields it: raw fields, the description as HTML."""
    fields = {"source_kind": "ashby", "source_key": "acme", "external_id": external_id,
              "url": f"https://jobs.ashbyhq.com/acme/{external_id}", "title": f"ML Engineer {external_id}",
              "company": "Acme", "location": "Remote", "remote": True, "employment_type": "FullTime",
              "department": "AI", "description_html": f"{HTML}<p>Posting {external_id}.</p>",
              "posted_at": "2026-04-07T17:12:35Z",
              "extras": {"team": "AI", "compensation": {"summary": "$150K - $200K"}}}
    return JobPosting(**(fields | overrides))


def board(count: int = 6, **changes: dict) -> list[JobPosting]:
    """The board's postings j0..j<count-1>; ``changes`` maps an id to the fields that differ."""
    return [posting(f"j{i}", **changes.get(f"j{i}", {})) for i in range(count)]


class Crawl:
    """A crawl's middleware, pipelines and crawl-run record on one test crawler, opened (the middleware has loaded
    the stored raw hashes)."""

    def __init__(self, db_url: str):
        self.crawler = get_crawler(settings_dict={"JOBTREND_DATABASE_URL": db_url})
        self.spider = SimpleNamespace(name="ashby", sources=[SourceConfig("ashby", "acme")], source_results={})
        self.crawler.spider = self.spider
        stats = self.crawler.stats
        self.middleware = UnchangedPostingsMiddleware.from_crawler(self.crawler)
        self.record = CrawlRunExtension.from_crawler(self.crawler)
        self.store = StorePostingPipeline(db_url, 4, stats, self.crawler)
        self.pipelines = [StripControlCharsPipeline(stats, self.crawler), CleanHtmlPipeline(),
                          ValidatePostingPipeline(stats), self.store]
        self.record.spider_opened(self.spider)
        self.middleware.spider_opened(self.spider)
        self.store.open_spider()
        self.passed = 0  # items the middleware let through to the pipelines

    def run(self, items: list[JobPosting]) -> Crawl:
        for item in self.middleware.process_spider_output(None, items):
            self.passed += 1
            for pipeline in self.pipelines:
                item = pipeline.process_item(item)
        self.store.close_spider()
        self.spider.source_results["acme"] = SourceResult("ok", None, {i["external_id"] for i in items})
        self.middleware.spider_closed(self.spider)
        self.record.spider_closed(self.spider, "finished")
        return self

    def stat(self, name: str):
        return self.crawler.stats.get_value(name)

    def outcome(self, name: str):
        return self.stat(f"jobtrend/source/ashby:acme/{name}")


def crawl(db_url: str, items: list[JobPosting]) -> Crawl:
    return Crawl(db_url).run(items)


def rows(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.external_id: dict(r._mapping) for r in conn.execute(select(POSTINGS))}


def without(row: dict, *names: str) -> dict:
    return {k: v for k, v in row.items() if k not in names}


def test_a_second_crawl_where_nothing_changed_cleans_nothing_and_stores_nothing_new(db_url, engine):
    first = crawl(db_url, board())
    assert first.passed == 6 and first.stat(RECOGNISED_STAT) is None and first.outcome("new") == 6
    before = rows(engine)
    assert all(isinstance(row["raw_hash"], int) for row in before.values())
    assert before["j0"]["description_text"] == "Train models with PyTorch.\n- Python\n- CUDA\nPosting j0."

    second = crawl(db_url, board())
    assert second.stat(RECOGNISED_STAT) == 6 and second.passed == 0
    assert (second.outcome("unchanged"), second.outcome("new"), second.outcome("updated")) == (6, None, None)
    after = rows(engine)
    assert after.keys() == before.keys()
    for key, row in after.items():
        assert row["last_seen_at"] > before[key]["last_seen_at"]
        assert without(row, "last_seen_at") == without(before[key], "last_seen_at")  # text, hashes: identical


def test_a_changed_description_is_cleaned_and_updated_and_analysed_again(db_url, engine):
    crawl(db_url, board())
    with engine.begin() as conn:  # as `analyze` leaves them: analysed at their content hash
        conn.execute(update(POSTINGS).values(analyzed_hash=POSTINGS.c.content_hash))
    before = rows(engine)

    second = crawl(db_url, board(j2={"description_html": "<p>Now with <i>JAX</i>.</p>"}))
    assert second.passed == 1 and second.stat(RECOGNISED_STAT) == 5
    assert (second.outcome("updated"), second.outcome("unchanged")) == (1, 5)
    after = rows(engine)
    assert after["j2"]["description_text"] == "Now with JAX."
    assert after["j2"]["content_hash"] not in (before["j2"]["content_hash"], after["j2"]["analyzed_hash"])
    assert after["j2"]["raw_hash"] != before["j2"]["raw_hash"]
    for key in set(after) - {"j2"}:
        assert without(after[key], "last_seen_at") == without(before[key], "last_seen_at")


def test_a_changed_listed_field_with_the_same_text_updates_that_field(db_url, engine):
    crawl(db_url, board())
    before = rows(engine)
    second = crawl(db_url, board(j1={"location": "London"}))
    assert second.passed == 1 and second.outcome("unchanged") == 6
    after = rows(engine)
    assert after["j1"]["location"] == "London" and after["j1"]["raw_hash"] != before["j1"]["raw_hash"]
    assert after["j1"]["content_hash"] == before["j1"]["content_hash"]
    third = crawl(db_url, board(j1={"location": "London"}))
    assert third.stat(RECOGNISED_STAT) == 6


def test_rows_cleaned_by_an_older_cleaner_are_cleaned_again(db_url, engine, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(unchanged, "CLEANER_VERSION", "an older cleaner")
        crawl(db_url, board())
    with engine.begin() as conn:  # what the older cleaner made of the HTML
        conn.execute(update(POSTINGS).values(description_text="Train **models** with PyTorch.",
                                             content_hash="older"))
    second = crawl(db_url, board())
    assert second.passed == 6 and second.stat(RECOGNISED_STAT) is None
    assert second.outcome("updated") == 6
    after = rows(engine)
    assert after["j3"]["description_text"] == "Train models with PyTorch.\n- Python\n- CUDA\nPosting j3."
    assert after["j3"]["raw_hash"] == raw_hash(board()[3])
    assert crawl(db_url, board()).stat(RECOGNISED_STAT) == 6


def test_rows_stored_before_raw_hashes_get_one_and_are_skipped_from_then_on(db_url, engine):
    crawl(db_url, board())
    with engine.begin() as conn:  # as migration 0011 leaves existing rows
        conn.execute(update(POSTINGS).values(raw_hash=None))
    before = rows(engine)
    second = crawl(db_url, board())
    assert second.passed == 6 and second.outcome("unchanged") == 6
    after = rows(engine)
    assert all(after[k]["raw_hash"] is not None and after[k]["content_hash"] == before[k]["content_hash"]
               for k in after)
    assert crawl(db_url, board()).stat(RECOGNISED_STAT) == 6


def test_a_row_deleted_after_the_hashes_were_loaded_is_counted_and_stored_again_by_the_next_crawl(db_url, engine):
    crawl(db_url, board())
    second = Crawl(db_url)  # loads the stored raw hashes, j4 among them
    with engine.begin() as conn:
        conn.execute(delete(POSTINGS).where(POSTINGS.c.external_id == "j4"))
    second.run(board())
    assert second.stat(RECOGNISED_STAT) == 6 and second.passed == 0
    assert (second.outcome("unchanged"), second.outcome("unchanged_row_gone")) == (5, 1)
    assert "j4" not in rows(engine) and all(row["closed_at"] is None for row in rows(engine).values())
    third = crawl(db_url, board())
    assert (third.passed, third.outcome("new"), third.outcome("unchanged")) == (1, 1, 5)
    assert rows(engine)["j4"]["description_text"] == "Train models with PyTorch.\n- Python\n- CUDA\nPosting j4."


def test_an_unchanged_posting_closed_since_is_reopened(db_url, engine):
    crawl(db_url, board())
    with engine.begin() as conn:
        conn.execute(update(POSTINGS).values(closed_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)))
    assert crawl(db_url, board()).stat(RECOGNISED_STAT) == 6
    assert {row["closed_at"] for row in rows(engine).values()} == {None}


def test_raw_hashes_of_other_boards_are_not_loaded(db_url):
    crawl(db_url, board() + [posting("k1", source_key="other")])
    assert len(Crawl(db_url).middleware.stored) == 6


@pytest.mark.parametrize("change", [
    {"title": "Staff ML Engineer"}, {"description_html": HTML + "<p>More.</p>"}, {"location": "Paris"},
    {"external_id": "j9"}, {"source_key": "other"}, {"extras": {"team": "AI", "compensation": {"summary": "$1"}}},
    {"posted_at": "2026-04-08T00:00:00Z"}, {"remote": None}, {"description_html": None},
])
def test_the_raw_hash_changes_with_any_listed_field(change):
    changed = posting("j1")
    changed.update(change)
    assert raw_hash(posting("j1")) != raw_hash(changed)


def test_the_raw_hash_ignores_what_is_not_stored_and_follows_the_cleaner_version():
    item = posting("j1")
    cleaned = posting("j1", description_text="text", raw_hash=1,
                      extras={"team": "Research", "compensation": {"summary": "$150K - $200K"}})
    assert raw_hash(item) == raw_hash(cleaned) == raw_hash(posting("j1"))
    assert raw_hash(item, version="another cleaner") != raw_hash(item)
    assert -2**63 <= raw_hash(item) < 2**63


def test_stored_raw_hashes_give_the_row_id_of_a_hash():
    stored = StoredRawHashes([(5, 50), (-3, 30), (2**63 - 1, 70), (-2**63, 1)])
    assert len(stored) == 4 and 5 in stored and -3 in stored
    assert [stored.row_id(h) for h in (5, -3, 2**63 - 1, -2**63)] == [50, 30, 70, 1]
    assert stored.row_id(4) is None and None not in stored and "5" not in stored


def test_hostile_bytes_are_stored_cleaned_once_and_recognised_unchanged_on_the_next_crawl(db_url, engine):
    """NUL and other control bytes in the id, the title and the HTML: stored cleaned, and the same bytes listed
    again are one unchanged posting, not a second row or a rewrite."""
    def listed() -> list[JobPosting]:
        return [posting("j\x000", title="ML\x00 Engineer\x07",
                        description_html="<p>Train\x00 models &#1;on GPUs</p>" + "<div>" * 500 + "deep"),
                posting("j1")]

    first = crawl(db_url, listed())
    assert first.outcome("new") == 2
    before = rows(engine)
    assert set(before) == {"j0", "j1"}  # the id stored without its NUL
    assert "\x00" not in before["j0"]["title"] + before["j0"]["description_text"]
    assert "\x01" not in before["j0"]["description_text"] and "deep" in before["j0"]["description_text"]

    second = crawl(db_url, listed())
    assert second.stat(RECOGNISED_STAT) == 2 and second.passed == 0
    assert (second.outcome("unchanged"), second.outcome("new"), second.outcome("updated")) == (2, None, None)
    after = rows(engine)
    assert after.keys() == before.keys()
    assert without(after["j0"], "last_seen_at") == without(before["j0"], "last_seen_at")
