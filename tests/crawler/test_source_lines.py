"""A quiet, live crawl: `jobtrend crawl` prints one line per source on stderr as its outcome is recorded, with the
reason in plain words beside its code, and no traceback or developer warning at the default log level; without
any resolvable host it says so at once and fails every source without running Scrapy."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import crawler.preflight
from crawler.preflight import NO_NETWORK_LINE, UNRESOLVED
from crawler.replay import ReplayServer
from crawler.run import crawl_settings
from jobtrend.cli import main
from jobtrend.config import REPO_ROOT, SourceConfig, load_config
from jobtrend.db import make_engine
from jobtrend.models import CrawlRun, Source
from tests.crawler.conftest import REPLAY, write_config

JOBTREND = REPO_ROOT / ".venv" / "bin" / "jobtrend"
SOURCES = [SourceConfig("ashby", "character"), SourceConfig("ashby", "render"), SourceConfig("ashby", "nope"),
           SourceConfig("greenhouse", "acmeai")]


@pytest.fixture
def config_dir(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("JOBTREND_DATABASE_URL", db_url)
    return write_config(tmp_path / "config", SOURCES)


def crawl(config_dir, db_url, *args: str, verbose: bool = False) -> subprocess.CompletedProcess:
    """`jobtrend crawl ARGS` in a child process, as a user runs it."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    command = [str(JOBTREND), *(["-v"] if verbose else []), "crawl", *args, "-s", "AUTOTHROTTLE_ENABLED=False"]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)


def outcomes(db_url: str) -> dict[str, tuple[str, str | None]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {f"{r.kind}:{r.key}": (r.status, r.error) for r in conn.execute(
                select(Source.kind, Source.key, CrawlRun.status, CrawlRun.error).join(Source))}
    finally:
        engine.dispose()


def test_a_crawl_prints_one_plain_line_per_source_and_no_traceback(config_dir, db_url):
    with ReplayServer(REPLAY) as server:  # ashby:nope is not recorded: 404
        done = crawl(config_dir, db_url, "--api-base", server.url)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "REPLAY_HOSTS_URL" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(SOURCES), done.stderr
    by_label = {line.split(" ")[0]: line for line in lines}
    assert set(by_label) == {s.label for s in SOURCES}
    for label in ("ashby:character", "ashby:render", "greenhouse:acmeai"):
        assert re.fullmatch(rf"{label} ok [1-9]\d* seen, [1-9]\d* new", by_label[label]), by_label[label]
    assert by_label["ashby:nope"] == "ashby:nope failed: the board does not exist (HTTP 404): check its key (http_404)"
    assert outcomes(db_url)["ashby:nope"] == ("failed", "http_404")


def test_verbose_crawl_logs_what_the_default_level_leaves_out(config_dir, db_url):
    with ReplayServer(REPLAY) as server:
        done = crawl(config_dir, db_url, "--api-base", server.url, verbose=True)
    assert done.returncode == 0, done.stderr
    assert " INFO scrapy." in done.stderr  # Scrapy's own lines come back with -v
    assert "ashby:nope failed: the board does not exist" in done.stderr


def test_no_resolvable_host_fails_every_source_at_once(config_dir, db_url, monkeypatch):
    def no_dns(host):
        raise OSError(f"no address for {host}")

    monkeypatch.setattr(crawler.preflight, "resolve_host", no_dns)
    result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "crawl"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == NO_NETWORK_LINE
    assert sorted(lines[1:-1]) == [
        "ashby:character failed: DNS lookup failed for api.ashbyhq.com (download_error:CannotResolveHostError)",
        "ashby:nope failed: DNS lookup failed for api.ashbyhq.com (download_error:CannotResolveHostError)",
        "ashby:render failed: DNS lookup failed for api.ashbyhq.com (download_error:CannotResolveHostError)",
        "greenhouse:acmeai failed: DNS lookup failed for boards-api.greenhouse.io "
        "(download_error:CannotResolveHostError)"]
    assert lines[-1].startswith("Error: ")
    assert outcomes(db_url) == {s.label: ("failed", UNRESOLVED) for s in SOURCES}


def test_source_hosts_follow_the_api_base_and_lever_regions(config_dir):
    settings = crawl_settings(load_config(config_dir), api_base="http://127.0.0.1:8765")
    assert crawler.preflight.source_host(settings, SourceConfig("ashby", "x")) == "127.0.0.1"
    live = crawl_settings(load_config(config_dir))
    assert crawler.preflight.source_host(live, SourceConfig("lever", "x", options={"region": "eu"})) == \
        "api.eu.lever.co"
    assert crawler.preflight.source_host(live, SourceConfig("jsonld", "https://jobs.example.org/careers")) == \
        "jobs.example.org"
