"""Honest job states: `jobtrend scheduler run-job crawl` records a crawl in which no source ended ok as `failed`
and exits 1, as `jobtrend crawl` does, keeping the counts; a crawl in which some sources failed is `partial`."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import scheduler.jobs as jobs_module
from crawler.replay import ReplayServer
from jobtrend.cli import main
from jobtrend.config import SourceConfig
from jobtrend.db import make_engine, session_factory
from jobtrend.models import CrawlRun, JobRun
from tests.crawler.conftest import REPLAY, write_config
from tests.local_servers import free_port

FAST = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_ENABLED=False")


@pytest.fixture
def config_dir(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("JOBTREND_DATABASE_URL", db_url)
    monkeypatch.delenv("JOBTREND_CONFIG_DIR", raising=False)
    return write_config(tmp_path / "config", [SourceConfig("ashby", "character"), SourceConfig("ashby", "nope")])


def crawl_against(monkeypatch, api_base: str) -> None:
    """The scheduler's crawl child, sent to ``api_base`` on 127.0.0.1 instead of the real APIs."""
    monkeypatch.setattr(jobs_module, "CRAWL_COMMAND", (sys.executable, "-m", "crawler.run", "--api-base", api_base,
                                                       *FAST))


def rows(url: str, model) -> list:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model).order_by(model.id)))
    finally:
        engine.dispose()


def test_a_crawl_where_no_source_ended_ok_is_failed_and_exits_1(config_dir, db_url, monkeypatch):
    crawl_against(monkeypatch, f"http://127.0.0.1:{free_port()}")  # nothing listens: every source fails
    result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "scheduler", "run-job", "crawl"])
    assert result.exit_code == 1, result.output
    assert "crawl: failed" in result.output
    [run] = rows(db_url, JobRun)
    assert run.status == "failed" and run.finished_at is not None
    assert run.details["sources"] == 2 and run.details["sources_not_ok"] == 2 and run.details["seen"] == 0
    assert run.error.startswith("2 of 2 sources not ok: download_error:")
    assert {r.status for r in rows(db_url, CrawlRun)} == {"failed"}


def test_a_crawl_where_some_sources_failed_is_partial_and_exits_0(config_dir, db_url, monkeypatch):
    with ReplayServer(REPLAY) as server:  # character is recorded, nope answers 404
        crawl_against(monkeypatch, server.url)
        result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "scheduler", "run-job", "crawl"])
    assert result.exit_code == 0, result.output
    assert "crawl: partial" in result.output and "http_404 1" in result.output
    [run] = rows(db_url, JobRun)
    assert run.status == "partial"
    assert run.details["sources"] == 2 and run.details["sources_not_ok"] == 1 and run.details["new"] > 0
    assert run.error == "1 of 2 sources not ok: http_404 1"


def test_a_crawl_where_every_source_ended_ok_is_ok(config_dir, db_url, monkeypatch):
    write_config(config_dir, [SourceConfig("ashby", "character")])
    with ReplayServer(REPLAY) as server:
        crawl_against(monkeypatch, server.url)
        result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "scheduler", "run-job", "crawl"])
    assert result.exit_code == 0, result.output
    [run] = rows(db_url, JobRun)
    assert (run.status, run.error, run.details["sources_not_ok"]) == ("ok", None, 0)
