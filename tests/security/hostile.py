"""Crawls against hostile servers on 127.0.0.1, in a child process, with every Scrapy stat and a tripwire.

:func:`crawl` runs ``run_crawl`` in a child (the Twisted reactor cannot restart) with the test's configuration and
database, and returns the summary, the crawl's Scrapy stats per spider (:class:`JsonStatsCollector`) and its log.
:class:`Tripwire` is added as the last downloader middleware, just before the download handler: a request to any
host but 127.0.0.1, ``localhost`` and the test names of :class:`FakeResolver` is counted (``tripwire/<host>``)
and refused there, so a test can prove that no connection to 169.254.169.254 (or anywhere else) was attempted,
without attempting one, also on code that would have tried. :class:`FakeResolver` answers ``*.rebind.test`` with
127.0.0.1 and fails every other name without asking any DNS server: a host name that resolves to a private
address, for the request-time checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from jobtrend.config import REPO_ROOT
from tests.crawler.conftest import TEST_USER_AGENT

LOCAL_HOSTS = ("127.0.0.1", "localhost")
REBIND_SUFFIX = ".rebind.test"  # FakeResolver: these names resolve to 127.0.0.1
TRIPWIRE = "tests.security.hostile.Tripwire"


class JsonStatsCollector(MemoryStatsCollector):
    """Writes each spider's stats as JSON to ``<JOBTREND_TEST_STATS_DIR>/<spider>.json`` when it closes."""

    def _persist_stats(self, stats) -> None:
        super()._persist_stats(stats)
        folder, spider = self._crawler.settings.get("JOBTREND_TEST_STATS_DIR"), self._crawler.spider
        if folder and spider is not None:
            (Path(folder) / f"{spider.name}.json").write_text(json.dumps(stats, default=str))


class Tripwire:
    """The last downloader middleware: refuses (and counts) a request that would leave 127.0.0.1."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_request(self, request) -> None:
        host = urlparse_cached(request).hostname or ""
        if host not in LOCAL_HOSTS and not host.endswith(REBIND_SUFFIX):
            self.stats.inc_value(f"tripwire/{host}")
            raise IgnoreRequest(f"tripwire: {request.url} would leave 127.0.0.1")


class FakeResolver(CachingThreadedResolver):
    """``*.rebind.test`` -> 127.0.0.1; any other name fails at once, without a DNS query."""

    def getHostByName(self, name: str, timeout=()):  # noqa: N802 - Twisted's name
        if name.endswith(REBIND_SUFFIX):
            return defer.succeed("127.0.0.1")
        if name in LOCAL_HOSTS:
            return defer.succeed("127.0.0.1")
        return defer.fail(DNSLookupError(name))


def job_page(identifier: str, company: str) -> str:
    """A career site's job page holding one schema.org JobPosting (JSON-LD)."""
    posting = {"@context": "https://schema.org", "@type": "JobPosting", "identifier": identifier,
               "title": "ML Engineer", "datePosted": "2026-01-05", "hiringOrganization": {"name": company},
               "description": "<p>Train models.</p>"}
    return f'<html><body><script type="application/ld+json">{json.dumps(posting)}</script></body></html>'


def write_config(directory: Path, sources_toml: str, crawl: str = "", main: str = "") -> Path:
    """jobtrend.toml (``crawl``: extra lines of ``[crawl]``), ``sources_toml`` and an empty frameworks.toml."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(
        f'{main}[database]\nurl = "sqlite:///unused.db"\n\n[crawl]\nuser_agent = {json.dumps(TEST_USER_AGENT)}\n'
        f"download_delay = 0\n{'' if 'download_timeout' in crawl else 'download_timeout = 10'}\n{crawl}")
    (directory / "sources.toml").write_text(sources_toml)
    (directory / "frameworks.toml").write_text("")
    return directory


def crawl(config_dir: Path, db_url: str, tmp: Path, *, kinds: list[str], api_base: str | None = None,
          settings: dict | None = None, fake_dns: bool = False, timeout: int = 120) -> tuple[dict, dict, str]:
    """Run one crawl of ``kinds`` in a child process; return (summary, stats by spider name, stderr). The
    ``timeout`` only catches a hang (the test fails with ``TimeoutExpired``): no test asserts on wall time."""
    stats_dir = tmp / f"stats-{len(list(tmp.glob('stats-*')))}"
    stats_dir.mkdir(parents=True)
    extra = {"STATS_CLASS": "tests.security.hostile.JsonStatsCollector", "JOBTREND_TEST_STATS_DIR": str(stats_dir),
             "AUTOTHROTTLE_ENABLED": False, **(settings or {})}
    if fake_dns:
        extra["TWISTED_DNS_RESOLVER"] = "tests.security.hostile.FakeResolver"
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    args = json.dumps({"kinds": kinds, "api_base": api_base, "extra": extra})
    done = subprocess.run([sys.executable, "-c", "from tests.security.hostile import child; child()", args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = {p.stem: json.loads(p.read_text()) for p in stats_dir.glob("*.json")}
    return json.loads(done.stdout), stats, done.stderr


def child() -> None:
    """The child of :func:`crawl`: the project's downloader middlewares plus the tripwire, then ``run_crawl``."""
    import crawler.settings
    from crawler.run import run_crawl
    from jobtrend.config import load_config

    args = json.loads(sys.argv[1])
    extra = args["extra"]
    extra["DOWNLOADER_MIDDLEWARES"] = {**crawler.settings.DOWNLOADER_MIDDLEWARES, TRIPWIRE: 990}
    summary = run_crawl(load_config(), kinds=args["kinds"], api_base=args["api_base"], extra_settings=extra)
    json.dump(summary, sys.stdout)


def tripped(stats: dict) -> dict:
    """The tripwire's counts over every spider: host -> requests that would have left 127.0.0.1."""
    return {key.removeprefix("tripwire/"): value for spider in stats.values() for key, value in spider.items()
            if key.startswith("tripwire/")}
