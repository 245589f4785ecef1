"""Hostile bytes in a board's JSON never cost other postings, on SQLite and PostgreSQL.

PostgreSQL refuses NUL (0x00) in text, so one Greenhouse posting with ``\\u0000`` in its title used to fail the
store pipeline's whole batch, every crawl: 0 of 19 postings stored, clean boards' postings among them. Real
crawls in a child process against the ReplayServer on 127.0.0.1: board ``acmeai`` holds postings with NUL and
other C0 control characters (and a lone surrogate) in their title, description, location, metadata and id;
``dropbox`` and ``helsing`` are clean and share the batch. Every posting is stored, the hostile ones cleaned by
the ``strip_control_chars`` pipeline, and a second crawl of the same data closes nothing, also not the posting
whose id held a NUL.

The store pipeline's row-by-row retry (a batch that fails for one row's data loses that row only) is tested
with an item that no pipeline cleaned, on both databases.
"""

from __future__ import annotations

import json
import sys

import pytest
from scrapy.utils.test import get_crawler

from crawler.items import JobPosting
from crawler.pipelines.store_posting import StorePostingPipeline
from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import SourceConfig
from tests.conftest import drop_database, new_database_url
from tests.crawler.conftest import REPLAY, board_jobs, board_path, read_database, run_crawl_child, write_config

HOSTILE, CLEAN = "acmeai", ("dropbox", "helsing")
SOURCES = [SourceConfig("greenhouse", k) for k in (HOSTILE, *CLEAN)]
PATH = "/v1/boards/{}/jobs"
NUL_ID = "4012345"  # NUL in title, description, location and metadata
CONTROL_ID = "4012346"  # other C0 controls, a vertical tab and a lone surrogate
ID_WITH_NUL = "77\u0000"  # stored as "77"; still "seen" by the next crawl, so never closed
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]


def hostile_board() -> ReplayResponse:
    payload = json.loads(board_path("greenhouse", HOSTILE).read_bytes())
    jobs = {str(j["id"]): j for j in payload["jobs"]}
    job = jobs[NUL_ID]
    job["title"] = "Machine Learning\u0000 Engineer"
    job["content"] = "&lt;p&gt;Train\u0000 models with PyTorch.&lt;/p&gt;"
    job["location"] = {"name": "Remote\u0000 - US"}
    job["metadata"][0]["value"] = "Full-time\u0000"
    job = jobs[CONTROL_ID]
    job["title"] = "Senior\u000b Data\u001b Scientist\ud800"
    job["content"] = "&lt;p&gt;Line one\u0007&lt;br&gt;Line &amp;#1;two\tend&lt;/p&gt;\r\n"
    payload["jobs"].append(jobs[NUL_ID] | {"id": ID_WITH_NUL, "title": "Research Engineer\u0000"})
    return ReplayResponse(200, json.dumps(payload).encode())  # ensure_ascii: "\u0000" escapes in the JSON


def crawl(config_dir, db_url, server) -> dict:
    done = run_crawl_child([sys.executable, "-m", "crawler.run", "--api-base", server.url, "--source",
                            "greenhouse", *FAST], config_dir, db_url)
    return json.loads(done.stdout)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawled(request, tmp_path_factory, sqlite_template, postgres_template):
    """(first summary, second summary, postings after crawl 1, after crawl 2, runs of crawl 1, runs of crawl 2)."""
    tmp = tmp_path_factory.mktemp(f"hostile-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    config_dir = write_config(tmp / "config", SOURCES)  # batch_size 500: one batch holds every board
    try:
        with ReplayServer(REPLAY, {PATH.format(HOSTILE): hostile_board()}) as server:
            first = crawl(config_dir, db_url, server)
            postings_1, runs_1 = read_database(db_url, 0)
            second = crawl(config_dir, db_url, server)
            postings_2, runs_2 = read_database(db_url, max(r["id"] for r in runs_1.values()))
        yield first, second, postings_1, postings_2, runs_1, runs_2
    finally:
        drop_database(db_url)


def ids(postings: dict, key: str) -> set[str]:
    return {ext for (k, ext) in postings if k == key}


def test_every_clean_posting_of_the_shared_batch_is_stored(crawled):
    first, _, postings, _, runs, _ = crawled
    for key in CLEAN:
        assert ids(postings, key) == {str(j["id"]) for j in board_jobs("greenhouse", key)}, key
        assert runs[key]["status"] == "ok" and runs[key]["errors"] == 0, runs[key]
    assert all(s["status"] == "ok" for s in first["sources"].values()), first["sources"]


def test_the_hostile_postings_are_stored_cleaned(crawled):
    _, _, postings, _, runs, _ = crawled
    stored = {ext: row for (k, ext), row in postings.items() if k == HOSTILE}
    assert set(stored) == {str(j["id"]) for j in board_jobs("greenhouse", HOSTILE)} | {"77"}
    assert runs[HOSTILE]["status"] == "ok" and runs[HOSTILE]["new"] == len(stored)
    nul = stored[NUL_ID]
    assert nul["title"] == "Machine Learning Engineer"
    assert nul["location"] == "Remote - US"
    assert nul["description_text"] == "Train models with PyTorch."
    assert nul["employment_type"] == "Full-time"
    control = stored[CONTROL_ID]
    assert control["title"] == "Senior  Data Scientist\ufffd"
    assert control["description_text"] == "Line one\nLine two end"  # html_to_text collapses white space
    assert stored["77"]["title"] == "Research Engineer"
    for row in stored.values():
        for name, value in row.items():
            if isinstance(value, str):
                assert not set(value) & {chr(c) for c in range(32) if chr(c) not in "\t\n\r"}, (name, value)


def test_a_second_crawl_closes_nothing_also_not_the_posting_whose_id_held_a_nul(crawled):
    _, second, postings_1, postings_2, _, runs_2 = crawled
    assert postings_2.keys() == postings_1.keys()
    assert all(row["closed_at"] is None for row in postings_2.values())
    assert {key: (run["status"], run["closed"]) for key, run in runs_2.items()} == {
        s.key: ("ok", 0) for s in SOURCES}
    assert runs_2[HOSTILE]["updated"] == 0  # cleaned the same way: the same content hash
    assert all(s["status"] == "ok" for s in second["sources"].values())


# --- a batch that still fails is retried row by row -------------------------------------------------------------

def item(key: str, external_id: str, **fields) -> JobPosting:
    values = {"source_kind": "greenhouse", "source_key": key, "external_id": external_id,
              "url": f"https://x.test/{external_id}", "title": f"Engineer {external_id}", "description_text": "x"}
    return JobPosting(**(values | fields))


def test_a_failing_batch_is_retried_row_by_row_and_loses_only_the_bad_row(db_url, engine, db_kind):
    from sqlalchemy import select

    from jobtrend.models import Posting, Source

    # a row neither database stores (NOT NULL title); on PostgreSQL also a raw NUL no pipeline cleaned
    bad = [item("a", "bad", title=None)] + ([item("a", "nul", title="T\u0000")] if db_kind == "postgresql" else [])
    items = [item("a", "a1"), *bad, item("a", "a2"), item("b", "b1"), item("b", "b2")]
    stats = get_crawler().stats
    pipeline = StorePostingPipeline(db_url, 100, stats)
    pipeline.open_spider()
    for one in items:
        pipeline.process_item(one)
    pipeline.close_spider()
    with engine.connect() as conn:
        stored = set(conn.execute(select(Source.key, Posting.external_id).join(Source)))
    assert stored == {("a", "a1"), ("a", "a2"), ("b", "b1"), ("b", "b2")}
    assert stats.get_value("jobtrend/source/greenhouse:a/store_error") == len(bad)
    assert stats.get_value("jobtrend/source/greenhouse:b/store_error") is None
    assert stats.get_value("jobtrend/source/greenhouse:a/new") == 2
    assert stats.get_value("jobtrend/source/greenhouse:b/new") == 2
