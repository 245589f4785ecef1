"""What a spider is handed rather than reads itself: its sources come from the crawler's settings (made by
crawler.run.crawl_settings, the one door from the configuration), and the Hacker News spider's threads read
before come from the crawl-run extension, which already has the database open."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from scrapy.addons import AddonManager
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import insert

import jobtrend.db
from crawler import addons
from crawler.extensions.crawl_run import CrawlRunExtension
from crawler.run import crawl_settings
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.hackernews import HackerNewsSpider
from crawler.spiders.jsonld import JsonLdSpider
from jobtrend.config import SourceConfig, load_config
from jobtrend.models import CrawlRun, Source
from tests.crawler.conftest import TEST_USER_AGENT, write_config

CONFIGURED = (SourceConfig("ashby", "cohere", company="Cohere"), SourceConfig("ashby", "harvey"),
              SourceConfig("ashby", "paused", company="Paused Inc", enabled=False),
              SourceConfig("jsonld", "https://jobs.example.test/careers"),
              SourceConfig("hackernews", "whoishiring", company="Hacker News"))
HN = CONFIGURED[-1]
BASE = "https://hn.algolia.test"


@pytest.fixture
def no_config_anywhere(tmp_path, monkeypatch):
    """A configuration directory that does not exist, and a load_config that must not be called."""
    monkeypatch.setenv("JOBTREND_CONFIG_DIR", str(tmp_path / "nowhere"))

    def refuse(*_args, **_kwargs):
        raise AssertionError("a spider read the configuration itself")

    monkeypatch.setattr(addons, "load_config", refuse)


def spider_of(spider_cls, settings, **kwargs):
    return spider_cls.from_crawler(get_crawler(spider_cls, settings), **kwargs)


# --- sources: from the crawler's settings, never from the configuration files -----------------------------------

def test_a_spider_takes_the_enabled_sources_of_its_kind_from_the_settings(no_config_anywhere):
    settings = {"JOBTREND_SOURCES": CONFIGURED}
    assert [s.key for s in spider_of(AshbySpider, settings).sources] == ["cohere", "harvey"]
    assert spider_of(JsonLdSpider, settings).sources == [CONFIGURED[3]]
    assert spider_of(HackerNewsSpider, settings).sources == [HN]


def test_boards_pick_configured_sources_even_disabled_ones_and_new_keys(no_config_anywhere):
    spider = spider_of(AshbySpider, {"JOBTREND_SOURCES": CONFIGURED}, boards="paused, newco")
    assert [(s.key, s.company) for s in spider.sources] == [("paused", "Paused Inc"), ("newco", None)]


def test_sources_given_by_run_crawl_win_over_the_settings(no_config_anywhere):
    given = [SourceConfig("ashby", "only")]
    assert spider_of(AshbySpider, {"JOBTREND_SOURCES": CONFIGURED}, sources=given).sources == given


def test_without_configured_sources_a_spider_crawls_nothing_unless_told(no_config_anywhere):
    assert spider_of(AshbySpider, {}).sources == []
    assert [s.key for s in spider_of(AshbySpider, {}, boards="newco").sources] == ["newco"]


def test_sources_reach_the_spider_through_crawl_settings(tmp_path, monkeypatch):
    config = load_config(write_config(tmp_path / "config", list(CONFIGURED)))
    monkeypatch.setenv("JOBTREND_CONFIG_DIR", str(tmp_path / "nowhere"))  # read once above, never again
    monkeypatch.setattr(addons, "load_config", None)
    crawler = Crawler(AshbySpider, crawl_settings(config))
    spider = AshbySpider.from_crawler(crawler, boards="cohere")
    assert [(s.key, s.company) for s in spider.sources] == [("cohere", "Cohere")]
    AddonManager.load_pre_crawler_settings(crawl_settings(config))  # already configured: nothing is loaded


def test_the_scrapy_command_line_gets_the_configuration_through_the_addon(tmp_path, monkeypatch):
    config_dir = write_config(tmp_path / "config", list(CONFIGURED), batch_size=7)
    monkeypatch.setenv("JOBTREND_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")  # what scrapy.cfg names
    settings.set("DOWNLOAD_TIMEOUT", 3, priority="cmdline")  # scrapy crawl -s DOWNLOAD_TIMEOUT=3
    AddonManager.load_pre_crawler_settings(settings)  # what CrawlerProcess does first
    assert settings.get("USER_AGENT") == TEST_USER_AGENT
    assert settings.getpriority("USER_AGENT") == SETTINGS_PRIORITIES["project"]  # -s and custom_settings win
    assert settings.getint("JOBTREND_BATCH_SIZE") == 7 and settings.getint("DOWNLOAD_TIMEOUT") == 3
    config = load_config(config_dir)
    assert settings.get("JOBTREND_DATABASE_URL") == config.database_url
    assert tuple(settings.get("JOBTREND_SOURCES")) == config.sources
    assert [s.key for s in settings.get("JOBTREND_SOURCES")] == [s.key for s in CONFIGURED]


# --- Hacker News: the threads read before, handed over by the crawl-run extension ---------------------------------

@pytest.fixture
def engines_made(monkeypatch) -> list:
    """Every engine made from here on (each goes through jobtrend.db's create_engine)."""
    made = []
    real = jobtrend.db.create_engine

    def counting(*args, **kwargs):
        made.append(args[0] if args else kwargs.get("url"))
        return real(*args, **kwargs)

    monkeypatch.setattr(jobtrend.db, "create_engine", counting)
    return made


def earlier_runs(engine) -> None:
    with engine.begin() as conn:
        source_id = conn.execute(insert(Source).values(kind="hackernews", key="whoishiring")).inserted_primary_key[0]
        started = dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
        conn.execute(insert(CrawlRun), [
            {"source_id": source_id, "started_at": started, "status": "ok",
             "stats": {"thread/2026-04/47601859": 345, "new": 345}},
            {"source_id": source_id, "started_at": started, "status": "partial",  # lost postings: vouches for none
             "stats": {"thread/2026-05/47975571": 290, "store_error": 3}},
        ])


def opened_spider(db_url: str) -> HackerNewsSpider:
    crawler = get_crawler(HackerNewsSpider, {"JOBTREND_DATABASE_URL": db_url, "HN_ALGOLIA_API_BASE": BASE})
    spider = HackerNewsSpider.from_crawler(crawler, sources=[HN])
    assert spider.crawled_threads == {}
    CrawlRunExtension.from_crawler(crawler).spider_opened(spider)
    return spider


async def collect(requests) -> list:
    return [r async for r in requests]


def test_the_extension_hands_the_threads_read_before_to_the_spider(engine, db_url, engines_made):
    earlier_runs(engine)
    engines_made.clear()
    spider = opened_spider(db_url)
    assert spider.crawled_threads == {"whoishiring": {47601859: "2026-04"}}
    assert len(engines_made) == 1  # the extension's, which also wrote the running crawl_runs row
    requests = asyncio.run(collect(spider.start()))
    assert [r.url for r in requests] == [spider.board_url(BASE, "whoishiring")]
    assert spider.progress["whoishiring"].crawled == {47601859: "2026-04"}
    assert spider.floor(HN, spider.progress["whoishiring"]) == "2026-04"
    assert len(engines_made) == 1  # the spider opened no database


def test_history_the_extension_cannot_read_fails_the_source(tmp_path, engines_made):
    crawler = get_crawler(HackerNewsSpider, {"JOBTREND_DATABASE_URL": f"sqlite:///{tmp_path / 'not-migrated.db'}",
                                             "HN_ALGOLIA_API_BASE": BASE})
    spider = HackerNewsSpider.from_crawler(crawler, sources=[HN])
    with pytest.raises(CloseSpider):  # nor can it record the crawl's start: the spider is closed before it starts
        CrawlRunExtension.from_crawler(crawler).spider_opened(spider)
    assert spider.unrecorded == {"hackernews:whoishiring": "not_recorded:OperationalError"}
    assert spider.crawled_threads == {"whoishiring": None}
    assert asyncio.run(collect(spider.start())) == []
    assert spider.source_results["whoishiring"].reason == "history_unreadable"
    assert len(engines_made) == 1
