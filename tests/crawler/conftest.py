"""Helpers shared by the crawler tests: recorded responses, spiders on a test crawler, temp configurations."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from jobtrend.config import REPO_ROOT, SourceConfig
from jobtrend.db import make_engine
from jobtrend.models import CrawlRun, Posting, Source
from tests.conftest import FIXTURES

REPLAY = FIXTURES / "replay"
BOARD_FILES = {"ashby": "posting-api/job-board/{key}.json", "greenhouse": "v1/boards/{key}/jobs.json"}
TEST_USER_AGENT = "jobtrend-test/0.1 (+https://example.org/jobtrend; ops@example.org)"


def board_path(kind: str, key: str) -> Path:
    """The recorded response of board ``key`` of ``kind`` in tests/fixtures/replay."""
    return REPLAY / BOARD_FILES[kind].format(key=key)


def board_jobs(kind: str, key: str) -> list:
    """The raw ``jobs`` list of a recorded board."""
    return json.loads(board_path(kind, key).read_bytes())["jobs"]


def make_spider(spider_cls, sources: list[SourceConfig], settings: dict | None = None):
    """A spider bound to a configured test crawler (stats included), crawling ``sources``."""
    crawler = get_crawler(spider_cls, settings)
    return spider_cls.from_crawler(crawler, sources=sources)


def response_for(spider, source: SourceConfig, body: bytes, status: int = 200) -> TextResponse:
    """A response to the spider's request for ``source``, carrying ``body``."""
    url = spider.board_url("https://api.example.test", source.key)
    request = Request(url, cb_kwargs={"source": source})
    return TextResponse(url=url, status=status, body=body, encoding="utf-8", request=request)


def parse_board(spider, source: SourceConfig, body: bytes | None = None) -> list:
    """Run the spider's board callback on the recorded board (or ``body``) and return the items."""
    if body is None:
        body = board_path(spider.name, source.key).read_bytes()
    return list(spider.parse_board(response_for(spider, source, body), source))


def write_config(directory: Path, sources: list[SourceConfig], *, batch_size: int = 500) -> Path:
    """Write jobtrend.toml, sources.toml and an empty frameworks.toml for a test crawl; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(
        "[database]\nurl = \"sqlite:///unused.db\"\n\n[crawl]\n"
        f"user_agent = {json.dumps(TEST_USER_AGENT)}\ndownload_delay = 0\ndownload_timeout = 10\n"
        f"batch_size = {batch_size}\nobey_robots_txt = true\n")
    lines = []
    for s in sources:
        lines += ["[[sources]]", f"kind = {json.dumps(s.kind)}", f"key = {json.dumps(s.key)}"]
        if s.company:
            lines.append(f"company = {json.dumps(s.company)}")
        lines.append("")
    (directory / "sources.toml").write_text("\n".join(lines))
    (directory / "frameworks.toml").write_text("")
    return directory


def run_crawl_child(command: list[str], config_dir: Path, db_url: str, *, timeout: int = 120):
    """Run a crawl command (``python -m crawler.run ...``, ``scrapy crawl ...``) in a child process, since the
    Twisted reactor cannot restart, with the test's config and database; fail with the child's stderr."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read_database(db_url: str, after_run_id: int) -> tuple[dict, dict]:
    """Every stored posting by (source key, external id), and the crawl_runs after ``after_run_id`` by source key."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            postings = {(r.key, r.external_id): dict(r._mapping) for r in conn.execute(
                select(Source.key, Posting.__table__).join(Source, Source.id == Posting.source_id))}
            runs = {r.key: dict(r._mapping) for r in conn.execute(
                select(Source.key, CrawlRun.__table__).join(Source).where(CrawlRun.id > after_run_id))}
    finally:
        engine.dispose()
    return postings, runs
