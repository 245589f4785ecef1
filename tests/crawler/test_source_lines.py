"""A quiet, live crawl: `jobtrend crawl` prints one line per source on stderr as soon as the source is finished
(not when its spider closes after every other source of its kind), with the reason in plain words beside its
code, and no traceback or developer warning at the default log level; on a terminal a bar counts the sources
below those lines, piped there is none; without any resolvable host it says so at once and fails every source
without running Scrapy."""

from __future__ import annotations

import os
import re
import subprocess
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import crawler.preflight
from crawler.preflight import NO_NETWORK_LINE, UNRESOLVED
from crawler.replay import ReplayResponse, ReplayServer
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


HELD = "/posting-api/job-board/render"  # the board whose answer GatedServer holds back
HOLD_AT_MOST = 60  # seconds: a safety net, so that a failing test ends instead of hanging
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class GatedServer(ReplayServer):
    """The replay server, holding the answer to :data:`HELD` until ``release`` is set (``timed_out`` when it was
    not within :data:`HOLD_AT_MOST`)."""

    def __init__(self, root):
        super().__init__(root)
        self.release = threading.Event()
        self.timed_out = False

    def answer(self, path: str, query: str = "", attempt: int = 1) -> ReplayResponse:
        if path == HELD and not self.release.wait(HOLD_AT_MOST):
            self.timed_out = True
        return super().answer(path, query, attempt)


def command(*args: str, verbose: bool = False) -> list[str]:
    """`jobtrend crawl ARGS` without AutoThrottle."""
    return [str(JOBTREND), *(["-v"] if verbose else []), "crawl", *args, "-s", "AUTOTHROTTLE_ENABLED=False"]


def child_env(config_dir, db_url, **extra: str) -> dict[str, str]:
    """The environment of a child crawl: the test's configuration and database, no CI nor colour settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "FORCE_COLOR", "NO_COLOR", "TERM")}
    return env | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url} | extra


def crawl(config_dir, db_url, *args: str, verbose: bool = False, **env: str) -> subprocess.CompletedProcess:
    """`jobtrend crawl ARGS` in a child process, as a user runs it."""
    return subprocess.run(command(*args, verbose=verbose), cwd=REPO_ROOT, env=child_env(config_dir, db_url, **env),
                          capture_output=True, text=True, timeout=180)


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
        assert re.fullmatch(rf"{label} ok [1-9]\d* listed", by_label[label]), by_label[label]
    assert by_label["ashby:nope"] == "ashby:nope failed: the board does not exist (HTTP 404): check its key (http_404)"
    assert outcomes(db_url)["ashby:nope"] == ("failed", "http_404")
    assert "\x1b" not in done.stderr and "sources" not in done.stderr  # piped: no bar
    assert re.search(r"ashby:character +ok +15 +15 ", done.stdout), done.stdout  # the counts, in the table


def test_a_source_line_is_printed_while_another_board_of_its_spider_is_unanswered(config_dir, db_url):
    """ashby:render's answer is held back until ashby:character's line has been read from the crawl's stderr:
    so that line was printed while the Ashby spider was still open (before its last board was answered), and
    ashby:nope's failure too. Then render is answered, and its line comes after them."""
    with GatedServer(REPLAY) as server:
        child = subprocess.Popen(command("--api-base", server.url, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"),
                                 cwd=REPO_ROOT, env=child_env(config_dir, db_url), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        before_release, after_release = [], []
        for line in child.stderr:
            (after_release if server.release.is_set() else before_release).append(line.rstrip("\n"))
            if {"ashby:character", "ashby:nope"} <= {early.split(" ")[0] for early in before_release}:
                server.release.set()
        server.release.set()
        stdout = child.stdout.read()
        assert child.wait(timeout=120) == 0, before_release + after_release
    assert not server.timed_out, before_release + after_release
    assert "ashby:character ok 15 listed" in before_release
    assert any(line.startswith("ashby:nope failed: ") for line in before_release)
    assert not any(line.startswith("ashby:render") for line in before_release)
    assert [line for line in after_release if line.startswith("ashby:render")] == ["ashby:render ok 4 listed"]
    assert outcomes(db_url)["ashby:render"] == ("ok", None)
    assert "ashby:render" in stdout


def test_a_terminal_gets_a_bar_counting_the_sources_below_their_lines(config_dir, db_url):
    """Told its stderr is a terminal (FORCE_COLOR, as rich reads it), `jobtrend crawl` draws the bar: sources
    finished of all, how many not ok; the lines are printed above it, whole."""
    with ReplayServer(REPLAY) as server:
        done = crawl(config_dir, db_url, "--api-base", server.url, FORCE_COLOR="1", COLUMNS="120")
    assert done.returncode == 0, done.stderr
    plain = ANSI.sub("", done.stderr)
    assert re.search(r"sources .* 4/4 .*1 not ok", plain), plain
    assert "ashby:nope failed: the board does not exist (HTTP 404): check its key (http_404)" in plain.splitlines()
    assert "ashby:character ok 15 listed" in plain.splitlines()


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
