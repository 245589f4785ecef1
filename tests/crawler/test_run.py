"""crawler.run: which sources a crawl takes, the settings it runs with, and its refusal to run unmigrated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crawler.run import REPLAY_SETTINGS, InvalidRequest, crawl_settings, plan_sources, require_schema, run_crawl
from jobtrend.config import REPO_ROOT, SourceConfig, load_config
from tests.crawler.conftest import TEST_USER_AGENT, write_config

SOURCES = [SourceConfig("ashby", "cohere", company="Cohere"), SourceConfig("ashby", "harvey"),
           SourceConfig("greenhouse", "stripe", company="Stripe")]


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    return load_config(write_config(tmp_path / "config", SOURCES, batch_size=7))


def keys(plan):
    return {kind: [s.key for s in sources] for kind, sources in plan.items()}


def test_plan_takes_every_enabled_source_of_each_kind(config):
    assert keys(plan_sources(config, ("ashby", "greenhouse"), None)) == {
        "ashby": ["cohere", "harvey"], "greenhouse": ["stripe"]}


def test_plan_with_keys_takes_configured_ones_of_any_kind(config):
    assert keys(plan_sources(config, ("ashby", "greenhouse"), ["stripe", "harvey"])) == {
        "ashby": ["harvey"], "greenhouse": ["stripe"]}


def test_plan_refuses_an_unconfigured_key_with_several_kinds(config):
    with pytest.raises(InvalidRequest, match="--board newco: not in sources.toml; name one --source"):
        plan_sources(config, ("ashby", "greenhouse"), ["stripe", "harvey", "newco"])


def test_plan_refuses_a_key_configured_for_another_kind(config):
    with pytest.raises(InvalidRequest, match="--board stripe is configured for greenhouse, not ashby"):
        plan_sources(config, ("ashby",), ["stripe"])


def test_plan_with_one_kind_also_takes_unconfigured_keys(config):
    plan = plan_sources(config, ("ashby",), ["newco", "cohere"])
    assert [(s.key, s.company) for s in plan["ashby"]] == [("cohere", "Cohere"), ("newco", None)]


def test_plan_rejects_kinds_without_a_spider(config):
    with pytest.raises(ValueError, match="workable"):
        plan_sources(config, ("workable",), None)


def test_settings_come_from_the_config_then_the_overrides(config):
    settings = crawl_settings(config, api_base="http://127.0.0.1:9/", extra={"DOWNLOAD_TIMEOUT": 3})
    assert settings.get("USER_AGENT") == TEST_USER_AGENT
    assert settings.getint("JOBTREND_BATCH_SIZE") == 7
    assert settings.get("JOBTREND_DATABASE_URL") == config.database_url
    assert settings.get("ASHBY_API_BASE") == settings.get("GREENHOUSE_API_BASE") == "http://127.0.0.1:9"
    assert settings.getint("DOWNLOAD_TIMEOUT") == 3
    assert settings.getbool("ROBOTSTXT_OBEY") and not settings.getbool("TELNETCONSOLE_ENABLED")
    assert settings.getdict("ITEM_PIPELINES") == {
        "crawler.pipelines.strip_control_chars.StripControlCharsPipeline": 50,
        "crawler.pipelines.clean_html.CleanHtmlPipeline": 100,
        "crawler.pipelines.validate_posting.ValidatePostingPipeline": 200,
        "crawler.pipelines.store_posting.StorePostingPipeline": 300,
    }


def test_default_settings_point_at_the_real_apis_politely(config):
    settings = crawl_settings(config)
    assert settings.get("ASHBY_API_BASE") == "https://api.ashbyhq.com"
    assert settings.get("GREENHOUSE_API_BASE") == "https://boards-api.greenhouse.io"
    assert settings.getbool("AUTOTHROTTLE_ENABLED") and settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert {429, 500, 503} <= set(settings.getlist("RETRY_HTTP_CODES"))
    assert not settings.getbool("HTTPCACHE_ENABLED")


def test_replay_drops_the_politeness_delays(config):
    settings = crawl_settings(config, replay=True)
    assert {k: settings[k] for k in REPLAY_SETTINGS} == REPLAY_SETTINGS


def test_unmigrated_database_is_refused_with_the_fix(tmp_path):
    with pytest.raises(RuntimeError, match="jobtrend init"):
        require_schema(f"sqlite:///{tmp_path / 'empty.db'}")


def test_run_crawl_with_no_sources_crawls_nothing(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("JOBTREND_DATABASE_URL", db_url)
    config = load_config(write_config(tmp_path / "config", SOURCES))
    summary = run_crawl(config, kinds=("lever",))
    assert summary["sources"] == {} and summary["postings_stored"] == 0


def test_scrapy_lists_the_spiders_from_the_repository_root():
    done = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert {"ashby", "greenhouse", "lever"} <= set(done.stdout.split())
