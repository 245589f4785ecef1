"""A JSON-LD block too large for lxml's defaults, or one that cannot be read, never reads as "no postings".

libxml2 keeps at most 10 MB in one text node unless told ``huge_tree``: a career page whose schema.org
``@graph`` of JobPostings was 11.7 MB came back as an empty ``<script>``, the crawl ended ``ok`` with 0 postings
and the next one closed every posting of the site. Real crawls in a child process against the ReplayServer on
127.0.0.1, on SQLite and PostgreSQL:

1. a career page holding one JSON-LD block of about 12 MB (5,000 JobPostings) and a second site (a listing and
   two job pages): every posting is stored, both sources ``ok``;
2. the same sites, the large block now cut off (a syntax error) and one job page's JobPosting block broken: the
   large site fails with ``jsonld_unreadable``, the other is ``partial`` (``job_page:jsonld_unreadable``), and
   nothing is closed.

The size guard itself (lxml's resource limit reached: ``too_large``) is shown on ``extract_job_postings`` with
the limit in force.
"""

from __future__ import annotations

import json
import sys

import pytest

from crawler.linked_data import extract_job_postings
from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import SourceConfig
from tests.conftest import FIXTURES, drop_database, new_database_url
from tests.crawler.conftest import read_database, run_crawl_child, write_config

BIG = SourceConfig("jsonld", "https://big.example/careers")
SMALL = SourceConfig("jsonld", "https://small.example/jobs")
N_BIG = 5000
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]


def posting(i: int, host: str = "big.example") -> dict:
    return {"@type": "JobPosting", "identifier": {"@type": "PropertyValue", "value": f"J{i}"},
            "title": f"Machine Learning Engineer {i}", "datePosted": "2026-05-04",
            "url": f"https://{host}/jobs/{i}", "hiringOrganization": {"@type": "Organization", "name": "Big"},
            "description": f"<p>Posting {i}. " + "Train and serve models with PyTorch. " * 60 + "</p>"}


def page(block: str, body: str = "") -> str:
    return (f'<!doctype html><html><head><title>Careers</title><script type="application/ld+json">{block}'
            f"</script></head><body>{body}</body></html>")


def big_block() -> str:
    return json.dumps({"@context": "https://schema.org", "@graph": [posting(i) for i in range(N_BIG)]})


def small_job(i: int, broken: bool = False) -> str:
    block = json.dumps({"@context": "https://schema.org", **posting(i, "small.example")})
    return page(block[:-40] if broken else block)


SMALL_LISTING = page(json.dumps({"@context": "https://schema.org", "@type": "CollectionPage", "name": "Jobs"}),
                     '<a href="/jobs/1">One</a> <a href="/jobs/2">Two</a>')


def site(big: str, job_2: str) -> dict[str, ReplayResponse]:
    html = {"Content-Type": "text/html; charset=utf-8"}
    return {"/sites/big.example/careers": ReplayResponse(200, big, html),
            "/sites/small.example/jobs": ReplayResponse(200, SMALL_LISTING, html),
            "/sites/small.example/jobs/1": ReplayResponse(200, small_job(1), html),
            "/sites/small.example/jobs/2": ReplayResponse(200, job_2, html)}


def test_the_block_is_over_lxml_s_default_limit():
    assert len(big_block().encode()) > 11_000_000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawled(request, tmp_path_factory, sqlite_template, postgres_template):
    """(summary, postings, runs) after crawl 1 and after crawl 2."""
    tmp = tmp_path_factory.mktemp(f"large-jsonld-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    config_dir = write_config(tmp / "config", [BIG, SMALL])
    command = [sys.executable, "-m", "crawler.run", "--source", "jsonld", *FAST]
    block = big_block()
    try:
        with ReplayServer(FIXTURES / "jsonld", site(page(block), small_job(2))) as server:
            done = run_crawl_child([*command, "--api-base", server.url], config_dir, db_url, timeout=300)
            first = (json.loads(done.stdout), *read_database(db_url, 0))
            server.overrides = site(page(block[: len(block) // 2]), small_job(2, broken=True))
            done = run_crawl_child([*command, "--api-base", server.url], config_dir, db_url, timeout=300)
            last_run = max(r["id"] for r in first[2].values())
            second = (json.loads(done.stdout), *read_database(db_url, last_run))
        yield first, second
    finally:
        drop_database(db_url)


def test_a_block_over_10_mb_is_read_whole(crawled):
    (summary, postings, runs), _ = crawled
    assert (runs[BIG.key]["status"], runs[BIG.key]["seen"], runs[BIG.key]["new"]) == ("ok", N_BIG, N_BIG)
    assert len([k for k in postings if k[0] == BIG.key]) == N_BIG
    assert (runs[SMALL.key]["status"], runs[SMALL.key]["seen"]) == ("ok", 2)
    assert summary["sources"][BIG.label]["status"] == "ok"


def test_an_unreadable_block_fails_or_stops_the_site_and_closes_nothing(crawled):
    (_, before, _), (summary, after, runs) = crawled
    assert (runs[BIG.key]["status"], runs[BIG.key]["error"]) == ("failed", "jsonld_unreadable")
    assert runs[BIG.key]["stats"]["source_error/jsonld_unreadable"] == 1
    assert (runs[SMALL.key]["status"], runs[SMALL.key]["error"]) == ("partial", "job_page:jsonld_unreadable")
    assert all(run["closed"] == 0 for run in runs.values())
    assert after.keys() == before.keys()
    assert all(row["closed_at"] is None for row in after.values())
    assert summary["sources"][BIG.label]["reason"] == "jsonld_unreadable"


# --- the parser's size limit, in force ------------------------------------------------------------------------

def test_a_block_the_parser_cuts_off_for_its_size_says_too_large(monkeypatch):
    from crawler import linked_data

    monkeypatch.setattr(linked_data, "HUGE_TREE", False)  # libxml2's 10 MB text-node limit, as before the fix
    page_data = extract_job_postings(page(big_block()), BIG.key)
    assert page_data.postings == [] and page_data.unreadable == "too_large"
    monkeypatch.setattr(linked_data, "HUGE_TREE", True)
    page_data = extract_job_postings(page(big_block()), BIG.key)
    assert len(page_data.postings) == N_BIG and page_data.unreadable is None


def test_only_a_block_that_may_hold_a_job_posting_makes_the_page_unreadable():
    event = page('{"@context": "https://schema.org", "@type": "Event", "name": "Dev Day",}}')
    assert extract_job_postings(event, SMALL.key).unreadable is None  # counted as an item error only
    assert len(extract_job_postings(event, SMALL.key).errors) == 1
    assert extract_job_postings(small_job(2, broken=True), SMALL.key).unreadable == "jsonld_unreadable"
