"""Budgets of one source: pages and postings per board, pages of the Hacker News listing (crawl.max_board_pages,
crawl.max_board_postings, crawl.max_listing_pages), on SQLite and PostgreSQL.

Before them, a Lever site answering every ``skip`` with a full page of new ids was read without end (19,697 junk
postings in 4 minutes), and an Algolia search that kept answering new hits grew the crawl's memory to 10.5 GB.
Here servers on 127.0.0.1 do the same; the crawl stops at the budget, stores what it read, ends the source
``partial`` (``page_limit_reached``, ``posting_limit_reached``, ``listing_limit_reached``) and closes nothing. The
child crawl's timeout only catches a crawl that never ends: no test asserts on wall time.
"""

from __future__ import annotations

import gzip
import json
from urllib.parse import parse_qs

from scrapy.http import Request, TextResponse

from crawler.replay import ReplayResponse, ReplayServer
from crawler.spiders.hackernews import HackerNewsSpider, Progress
from jobtrend.config import REPO_ROOT, CrawlSettings, SourceConfig
from tests.conftest import FIXTURES
from tests.crawler.conftest import REPLAY, make_spider, read_database
from tests.security.hostile import crawl, write_config

STORY = 4_800_001
STORY_TIME = 1767276000  # 2026-01-01


def lever_job(external_id: str) -> dict:
    return {"id": external_id, "text": "ML Engineer", "hostedUrl": f"https://jobs.lever.co/endless/{external_id}",
            "description": "<p>Train models.</p>", "createdAt": 1767600000000, "categories": {}}


class EndlessServer(ReplayServer):
    """Lever's ``/v0/postings/endless``: a full page of new ids for every ``skip`` (or ``real`` ones while
    ``endless`` is False); Algolia's search: a full page of new stories below every ``created_at_i<=``."""

    endless = False

    def respond(self, path: str, query: str = "") -> ReplayResponse:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if path == "/v0/postings/endless":
            if not self.endless:
                return ReplayResponse(200, [lever_job("real-1"), lever_job("real-2")])
            skip, limit = int(params.get("skip", 0)), int(params.get("limit", 3))
            return ReplayResponse(200, [lever_job(f"junk-{n}") for n in range(skip, skip + limit)])
        if path == "/api/v1/search_by_date":
            before = int(params.get("numericFilters", f"created_at_i<={STORY_TIME}").split("<=")[1])
            hits = [{"objectID": str(before - n), "title": f"Story {before - n}", "created_at_i": before - 60 * n}
                    for n in range(1, 1001)]
            if before == STORY_TIME:
                hits[0] = {"objectID": str(STORY), "title": "Ask HN: Who is hiring? (January 2026)",
                           "created_at_i": STORY_TIME}
            return ReplayResponse(200, {"hits": hits})
        if path == f"/api/v1/items/{STORY}":
            return ReplayResponse(200, {"id": STORY, "children": [
                {"id": 11, "author": "acme", "text": "Acme | ML Engineer | Berlin", "parent_id": STORY,
                 "created_at": "2026-01-02T10:00:00.000Z"}]})
        return super().respond(path, query)



def test_a_lever_site_that_never_ends_stops_at_its_page_budget_and_closes_nothing(db_url, tmp_path):
    config_dir = write_config(tmp_path / "config", '[[sources]]\nkind = "lever"\nkey = "endless"\n',
                              crawl="max_board_pages = 4\n")
    settings = {"LEVER_PAGE_SIZE": 3, "REPLAY_HOSTS_URL": ""}
    with EndlessServer(REPLAY) as server:
        first, _, _ = crawl(config_dir, db_url, tmp_path, kinds=["lever"], api_base=server.url,
                            settings=settings)
        assert first["sources"]["lever:endless"]["status"] == "ok"
        server.endless = True
        summary, stats, _ = crawl(config_dir, db_url, tmp_path, kinds=["lever"], api_base=server.url,
                                  settings=settings)
        pages = [r for r in server.requests if r.path == "/v0/postings/endless"]
    run = summary["sources"]["lever:endless"]
    assert (run["status"], run["reason"], run["closed"]) == ("partial", "page_limit_reached", 0)
    assert len(pages) == 1 + 4  # the first crawl's page, then the budget
    postings, runs = read_database(db_url, 0)
    assert {ext for (_, ext), row in postings.items() if row["closed_at"] is None} == \
        {"real-1", "real-2"} | {f"junk-{n}" for n in range(12)}
    assert runs["endless"]["stats"]["source_error/page_limit_reached"] == 1
    assert stats["lever"]["jobtrend/source_error/page_limit_reached"] == 1


def test_a_board_listing_more_postings_than_its_budget_stores_the_budget_and_closes_nothing(db_url, tmp_path):
    jobs = [{"id": f"a-{n}", "title": "ML Engineer", "jobUrl": f"https://jobs.ashbyhq.com/big/a-{n}",
             "publishedAt": "2026-01-05T10:00:00.000+00:00"} for n in range(8)]
    config_dir = write_config(tmp_path / "config", '[[sources]]\nkind = "ashby"\nkey = "big"\n\n'
                              '[[sources]]\nkind = "lever"\nkey = "endless"\n', crawl="max_board_postings = 5\n")
    with EndlessServer(REPLAY, {"/posting-api/job-board/big": ReplayResponse(200, {"jobs": jobs})}) as server:
        server.endless = True
        summary, _, _ = crawl(config_dir, db_url, tmp_path, kinds=["ashby", "lever"], api_base=server.url,
                              settings={"LEVER_PAGE_SIZE": 3, "REPLAY_HOSTS_URL": ""})
    for label, stored in (("ashby:big", 5), ("lever:endless", 5)):  # Lever: pages of 3, then 2 of the third
        run = summary["sources"][label]
        assert (run["status"], run["reason"], run["closed"], run["seen"]) == \
            ("partial", "posting_limit_reached", 0, stored), run


def test_a_search_that_never_ends_stops_at_its_listing_budget(db_url, tmp_path):
    config_dir = write_config(tmp_path / "config", '[[sources]]\nkind = "hackernews"\nkey = "whoishiring"\n'
                              'since = "2011-04"\n', crawl="max_listing_pages = 3\n")
    with EndlessServer(REPLAY) as server:
        summary, _, _ = crawl(config_dir, db_url, tmp_path, kinds=["hackernews"], api_base=server.url)
        listing = [r for r in server.requests if r.path == "/api/v1/search_by_date"]
    assert len(listing) == 3
    run = summary["sources"]["hackernews:whoishiring"]
    assert (run["status"], run["reason"], run["seen"]) == ("partial", "listing_limit_reached", 1)
    postings, _ = read_database(db_url, 0)
    assert set(postings) == {("whoishiring", "11")}  # the threads found so far are read


def test_a_listing_page_longer_than_asked_for_is_cut():
    source = SourceConfig("hackernews", "whoishiring")
    spider = make_spider(HackerNewsSpider, [source])
    spider.progress[source.key] = Progress({})
    hits = [{"objectID": str(n), "title": "x", "created_at_i": STORY_TIME - n, "_highlightResult": {"x": n}}
            for n in range(1500)]
    url = spider.board_url("https://hn.example.test", source.key)
    response = TextResponse(url, body=json.dumps({"hits": hits}).encode(), request=Request(url))
    list(spider.parse_listing(response, source))
    progress = spider.progress[source.key]
    assert len(progress.hits) == spider.hits_per_page and progress.cut == "listing_limit_reached"
    assert set(next(iter(progress.hits.values()))) == {"objectID", "title", "created_at_i"}  # kept: these only
    assert spider.source_stat(source, "source_error/listing_limit_reached") == 1


def test_the_default_budgets_hold_the_largest_real_sources():
    """The biggest recorded boards and Hacker News threads (data/demo, tests/fixtures: 816 postings; Ashby boards
    reach ~1,000 live) fit five times over in the defaults; the whoishiring account lists ~150 stories, a page of
    1,000 holds them."""
    largest = 0
    for path in [*(FIXTURES / "replay").rglob("*.json*"), *(REPO_ROOT / "data" / "demo").rglob("*.json*")]:
        body = path.read_bytes()
        document = json.loads(gzip.decompress(body) if path.name.endswith(".gz") else body)
        if isinstance(document, dict):
            largest = max(largest, len(document.get("jobs") or document.get("children") or []))
    defaults = CrawlSettings()
    assert largest >= 800 and largest * 5 <= defaults.max_board_postings
    assert defaults.max_board_pages * 100 >= defaults.max_board_postings  # Lever's pages of 100
    assert defaults.max_listing_pages >= 2
