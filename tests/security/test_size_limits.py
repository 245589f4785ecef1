"""Response size limits hold end to end, on SQLite and PostgreSQL: real crawls in a child process against the
ReplayServer on 127.0.0.1, with ``crawl.download_maxsize`` set to 100 kB in jobtrend.toml.

Served in one crawl: a recorded Ashby board under the limit (stored), the same board gzip-encoded (stored: the
limit is not "refuse all gzip"), a recorded board of 134 kB (refused before its body is read: Content-Length),
a recorded board of 144 kB sent without a Content-Length (cut off once more than the limit has arrived), a gzip
bomb (10 kB compressed, 10 MB of JSON once inflated: refused during decompression by Scrapy's
HttpCompressionMiddleware), and a career site whose sitemap is a gzip file (no Content-Encoding) inflating to
10 MB (refused by ``gunzip(max_size=DOWNLOAD_MAXSIZE)`` in crawler/spiders/structured_data.py). Each refusal fails
its source with a counted reason; nothing of the refused bodies is stored and the good sources are unaffected.
"""

from __future__ import annotations

import gzip
import json
import sys

import pytest

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import ConfigError, SourceConfig, load_main
from tests.conftest import drop_database, new_database_url
from tests.crawler.conftest import REPLAY, board_jobs, board_path, read_database, run_crawl_child, write_config

MAXSIZE = 100_000
SMALL, GZIPPED, LARGE, BOMB, STREAMED = "SecondDinner", "emptyco", "Homebound", "render", "character"
SITEMAP_KEY = "https://careers.cohere.example/en-US/External/siteMap.xml"
SITEMAP_PATH = "/sites/careers.cohere.example/en-US/External/siteMap.xml"
ASHBY_PATH = "/posting-api/job-board/{}"


def gzip_bomb(prefix: bytes, suffix: bytes, size: int = 10_000_000) -> bytes:
    """``prefix + size spaces + suffix``, gzip-compressed: about 1/1000 of its inflated size."""
    return gzip.compress(prefix + b" " * size + suffix, compresslevel=9)


def overrides() -> dict[str, ReplayResponse]:
    small = board_path("ashby", SMALL).read_bytes()
    sitemap_bomb = gzip_bomb(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
                             b"</urlset>")
    return {
        ASHBY_PATH.format(GZIPPED): ReplayResponse(200, gzip.compress(small), {"Content-Encoding": "gzip"}),
        ASHBY_PATH.format(BOMB): ReplayResponse(200, gzip_bomb(b'{"jobs": [', b"]}"), {"Content-Encoding": "gzip"}),
        SITEMAP_PATH: ReplayResponse(200, sitemap_bomb, {"Content-Type": "application/x-gzip"}),
        ASHBY_PATH.format(STREAMED): ReplayResponse(200, board_path("ashby", STREAMED).read_bytes(),
                                                    content_length=False),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawled(request, tmp_path_factory, sqlite_template, postgres_template):
    """(summary, postings, crawl_runs by key, replay request log) of one crawl of every source."""
    tmp = tmp_path_factory.mktemp(f"size-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    config_dir = write_config(tmp / "config", [SourceConfig("ashby", k) for k in (SMALL, GZIPPED, LARGE, BOMB,
                                                                                   STREAMED)])
    with (config_dir / "jobtrend.toml").open("a") as fh:  # [crawl] is the file's last table
        fh.write(f"download_maxsize = {MAXSIZE}\n")
    with (config_dir / "sources.toml").open("a") as fh:
        fh.write(f'[[sources]]\nkind = "jsonld"\nkey = "{SITEMAP_KEY}"\nsitemap = true\n')
    try:
        with ReplayServer(REPLAY, overrides()) as server:
            done = run_crawl_child([sys.executable, "-m", "crawler.run", "--api-base", server.url, "--source", "ashby",
                                    "--source", "jsonld", "-s", "AUTOTHROTTLE_ENABLED=False"], config_dir, db_url)
            requests = list(server.requests)
        postings, runs = read_database(db_url, 0)
        yield json.loads(done.stdout), postings, runs, requests
    finally:
        drop_database(db_url)


def test_the_bodies_are_what_the_test_claims():
    assert len(board_path("ashby", SMALL).read_bytes()) < MAXSIZE < len(board_path("ashby", LARGE).read_bytes())
    assert len(board_path("ashby", STREAMED).read_bytes()) > MAXSIZE
    bodies = overrides()
    assert len(gzip.decompress(bodies[ASHBY_PATH.format(GZIPPED)].payload())) < MAXSIZE
    for path in (ASHBY_PATH.format(BOMB), SITEMAP_PATH):
        assert len(bodies[path].payload()) < MAXSIZE // 5 and len(gzip.decompress(bodies[path].payload())) > 10**7


def test_bodies_under_the_limit_are_stored_plain_or_gzipped(crawled):
    summary, postings, runs, _ = crawled
    expected = {str(j["id"]) for j in board_jobs("ashby", SMALL) if j.get("isListed", True)}
    for key in (SMALL, GZIPPED):
        assert runs[key]["status"] == "ok", runs[key]
        assert {ext for (k, ext) in postings if k == key} == expected
        assert summary["sources"][f"ashby:{key}"]["errors"] == 0


def test_a_body_over_the_limit_is_refused_and_counted(crawled):
    summary, postings, runs, requests = crawled
    assert any(r.path == ASHBY_PATH.format(LARGE) for r in requests)  # it was asked for, and refused
    run = runs[LARGE]
    assert (run["status"], run["seen"], run["errors"]) == ("failed", 0, 1)
    assert run["error"] == "too_large"
    assert run["stats"]["source_error/too_large"] == 1
    assert not [k for k in postings if k[0] == LARGE]
    assert summary["sources"][f"ashby:{LARGE}"]["status"] == "failed"


def test_a_body_without_length_is_cut_off_at_the_limit_and_counted(crawled):
    _, postings, runs, requests = crawled
    assert any(r.path == ASHBY_PATH.format(STREAMED) for r in requests)
    run = runs[STREAMED]
    assert (run["status"], run["seen"], run["errors"]) == ("failed", 0, 1)
    assert run["error"] == "too_large", run["error"]
    assert run["stats"][f"source_error/{run['error']}"] == 1
    assert not [k for k in postings if k[0] == STREAMED]


def test_a_gzip_bomb_is_refused_during_decompression_and_counted(crawled):
    _, postings, runs, _ = crawled
    run = runs[BOMB]
    assert (run["status"], run["seen"], run["errors"]) == ("failed", 0, 1)
    assert run["error"] == "too_large"  # HttpCompressionMiddleware: "exceeded DOWNLOAD_MAXSIZE"
    assert run["stats"]["source_error/too_large"] == 1
    assert not [k for k in postings if k[0] == BOMB]


def test_a_gzipped_sitemap_bomb_is_refused_by_gunzip_max_size(crawled):
    _, postings, runs, requests = crawled
    run = runs[SITEMAP_KEY]
    assert (run["status"], run["seen"]) == ("failed", 0)
    assert run["error"] == "too_large"
    assert not [k for k in postings if k[0] == SITEMAP_KEY]
    assert [r.path for r in requests if r.path.startswith("/sites/careers.cohere.example/en-US/External/job")] == []


@pytest.mark.parametrize("value", [0, -1])
def test_a_download_maxsize_that_disables_the_limit_is_a_config_error(tmp_path, value):
    path = tmp_path / "jobtrend.toml"
    path.write_text(f'[crawl]\nuser_agent = "bot/1 (+https://example.org/bot)"\ndownload_maxsize = {value}\n')
    with pytest.raises(ConfigError, match="crawl.download_maxsize: expected an integer of at least 1"):
        load_main(path)
