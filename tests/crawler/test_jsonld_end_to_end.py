"""End to end, on SQLite and PostgreSQL: jsonld crawls in child processes against the ReplayServer on 127.0.0.1.

The six recorded career sites of tests/fixtures/jsonld keep their real URLs (https://jobs.harvey.example/careers);
``--api-base`` and ``--replay`` map them to ``<server>/sites/<host>/...`` (crawler/middlewares/replay_hosts.py).
Four crawls per database: (1) ``--api-base`` against a server in this process (whose request log the tests
read), (2) the same data through ``--replay``, (3) with changes: a job gone from a listing, a job page gone (404)
from a sitemap that also dropped a job (partial: nothing closed), a listing answering 500, a site whose robots.txt
now forbids its careers page, a changed job page, (4) the original data again. Also: the bundled demo sites crawl
ok.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import pytest

from crawler.replay import NOT_FOUND, ReplayResponse, ReplayServer
from jobtrend.config import REPO_ROOT, SourceConfig, load_sources
from tests.conftest import FIXTURES, drop_database, new_database_url
from tests.crawler.conftest import TEST_USER_AGENT, read_database, run_crawl_child, write_config

ROOT = FIXTURES / "jsonld"
HARVEY = SourceConfig("jsonld", "https://jobs.harvey.example/careers", company="Harvey")
COHERE = SourceConfig("jsonld", "https://careers.cohere.example/en-US/External/siteMap.xml", options={"sitemap": True})
DECAGON = SourceConfig("jsonld", "https://www.decagon.example/careers/")
CHARACTER = SourceConfig("jsonld", "https://careers.character.example/jobs")
LMARENA = SourceConfig("jsonld", "https://lmarena.example/jobs")
EMPTY = SourceConfig("jsonld", "https://empty.example/careers")
SOURCES = [HARVEY, COHERE, DECAGON, CHARACTER, LMARENA, EMPTY]
HOSTS = {s.key.split("/")[2] for s in SOURCES}
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4"]

COHERE_DIR = "/sites/careers.cohere.example/en-US/External"
GONE_FROM_LISTING, GONE_PAGE, DROPPED_FROM_SITEMAP = "4460733", "R1003", "R1004"
GONE_PAGE_PATH = f"{COHERE_DIR}/job/Tokyo/Software-Engineer---Applied-ML--Japan-_R1003"
CHANGED_JOB = "https://lmarena.example/jobs/machine-learning-engineer"


def write_sources(config_dir: Path, sources: list[SourceConfig]) -> Path:
    """A test configuration whose sources.toml also carries each source's options."""
    write_config(config_dir, [])
    lines = []
    for s in sources:
        lines += ["[[sources]]", f"kind = {json.dumps(s.kind)}", f"key = {json.dumps(s.key)}"]
        lines += [f"company = {json.dumps(s.company)}"] if s.company else []
        lines += [f"{name} = {json.dumps(value)}" for name, value in s.options.items()] + [""]
    (config_dir / "sources.toml").write_text("\n".join(lines))
    return config_dir


def recorded(path: str) -> str:
    return (ROOT / (path.lstrip("/") + ".html")).read_text()


def changes() -> dict[str, ReplayResponse]:
    listing = recorded("/sites/jobs.harvey.example/careers")
    start = listing.index(f'<a data-mapped="true" href="/careers/jobs/{GONE_FROM_LISTING}">')
    listing = listing[:listing.rindex("<div", 0, start)] + listing[listing.index("</div>", start) + 6:]
    sitemap = (ROOT / COHERE_DIR.lstrip("/") / "siteMap.xml").read_text()
    sitemap = "\n".join(line for line in sitemap.splitlines() if DROPPED_FROM_SITEMAP not in line)
    heading = "<h2>Machine Learning Engineer at LMArena</h2>"
    job = recorded("/sites/lmarena.example/jobs/machine-learning-engineer").replace(heading,
                                                                                    heading + "<p>Now JAX too.</p>")
    html = {"Content-Type": "text/html; charset=utf-8"}
    return {
        "/sites/jobs.harvey.example/careers": ReplayResponse(200, listing, html),
        f"{COHERE_DIR}/siteMap.xml": ReplayResponse(200, sitemap, {"Content-Type": "application/xml"}),
        GONE_PAGE_PATH: NOT_FOUND,
        "/sites/careers.character.example/jobs": ReplayResponse(500, "<h1>Internal Server Error</h1>", html),
        "/sites/empty.example/robots.txt": ReplayResponse(200, "User-agent: *\nDisallow: /careers\n"),
        "/sites/lmarena.example/jobs/machine-learning-engineer": ReplayResponse(200, job, html),
    }


class Scenario:
    """Runs crawls in child processes against one database and keeps what each left behind."""

    def __init__(self, db_url: str, config_dir: Path):
        self.db_url, self.config_dir = db_url, config_dir
        self.snapshots: dict[str, dict] = {}
        self.last_run_id = 0

    def run(self, name: str, args: list[str], server: ReplayServer | None) -> None:
        command = [sys.executable, "-m", "crawler.run", "--source", "jsonld", *args, *FAST]
        done = run_crawl_child(command, self.config_dir, self.db_url)
        requests = list(server.requests) if server else []
        if server:
            server.requests.clear()
        self.snapshots[name] = {"summary": json.loads(done.stdout), "requests": requests, **self.read()}

    def read(self) -> dict:
        postings, runs = read_database(self.db_url, self.last_run_id)
        self.last_run_id = max([self.last_run_id, *(r["id"] for r in runs.values())])
        return {"postings": postings, "runs": runs}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scenario(request, tmp_path_factory, sqlite_template, postgres_template):
    tmp = tmp_path_factory.mktemp(f"jsonld-e2e-{request.param}")
    db_url = new_database_url(request.param, tmp, sqlite_template, postgres_template)
    story = Scenario(db_url, write_sources(tmp / "config", SOURCES))
    try:
        with ReplayServer(ROOT) as server:
            story.run("first", ["--api-base", server.url], server)
            story.run("again", ["--replay", str(ROOT)], None)
            server.overrides.update(changes())
            story.run("changed", ["--api-base", server.url], server)
            server.overrides.clear()
            story.run("restored", ["--api-base", server.url], server)
        yield story
    finally:
        drop_database(db_url)


def postings_of(snapshot: dict, source: SourceConfig) -> dict[str, dict]:
    return {ext: row for (key, ext), row in snapshot["postings"].items() if key == source.key}


def paths(snapshot: dict) -> list[str]:
    return [r.path for r in snapshot["requests"]]


# --- crawl 1: every site read, through its own host's folder ---------------------------------------------------------

def test_first_crawl_stores_every_posting_and_every_source_is_ok(scenario):
    first = scenario.snapshots["first"]
    seen = {s.key: (first["runs"][s.key]["status"], first["runs"][s.key]["seen"], first["runs"][s.key]["new"])
            for s in SOURCES}
    assert seen == {HARVEY.key: ("ok", 4, 4), COHERE.key: ("ok", 4, 4), DECAGON.key: ("ok", 2, 2),
                    CHARACTER.key: ("ok", 2, 2), LMARENA.key: ("ok", 3, 3), EMPTY.key: ("ok", 0, 0)}
    assert len(first["postings"]) == 15
    assert first["summary"]["postings_stored"] == 15


def test_unreadable_json_ld_blocks_are_errors_of_an_ok_source(scenario):
    run = scenario.snapshots["first"]["runs"][DECAGON.key]
    assert (run["status"], run["errors"], run["stats"]["item_error/invalid_json_ld"]) == ("ok", 2, 2)


def test_page_without_posting_is_an_ok_empty_source(scenario):
    run = scenario.snapshots["first"]["runs"][EMPTY.key]
    assert (run["status"], run["seen"], run["stats"]["pages_without_posting"]) == ("ok", 0, 1)


def test_rows_hold_the_posting_as_the_page_described_it(scenario):
    rows = postings_of(scenario.snapshots["first"], HARVEY)
    remote = rows["4460731"]
    assert (remote["title"], remote["company"], remote["location"], remote["remote"]) == (
        "Contracts Manager", "Harvey", "Remote (USA)", True)
    assert remote["posted_at"] == dt.datetime(2025, 9, 4, tzinfo=dt.UTC)  # datePosted
    assert remote["posted_week"] == dt.date(2025, 9, 1)
    assert remote["url"] == "https://jobs.harvey.example/careers/jobs/4460731"
    assert remote["description_text"].startswith("Why Harvey\nAt Harvey, we")  # unescaped once, then text
    cohere = postings_of(scenario.snapshots["first"], COHERE)["R1001"]
    assert cohere["posted_at"] == dt.datetime(2024, 12, 3, 14, 25, 43, 571000, tzinfo=dt.UTC)
    assert cohere["company"] == "Cohere"  # from the @graph's Organization


def test_every_request_went_to_its_host_folder_with_robots_txt_per_host(scenario):
    first = scenario.snapshots["first"]
    assert all(p.startswith("/sites/") for p in paths(first))
    assert {p for p in paths(first) if p.endswith("/robots.txt")} == {f"/sites/{h}/robots.txt" for h in HOSTS}
    assert not any("/careers/apply/" in p for p in paths(first))  # disallowed by jobs.harvey.example's robots.txt
    assert first["runs"][HARVEY.key]["stats"]["robots_txt_forbidden_link"] == 4
    assert {r.user_agent for r in first["requests"]} == {TEST_USER_AGENT}
    assert len(paths(first)) == len(set(paths(first)))


def test_sitemap_source_reads_its_urls(scenario):
    first = scenario.snapshots["first"]
    assert sum(p.startswith(f"{COHERE_DIR}/job/") for p in paths(first)) == 4
    assert f"{COHERE_DIR}/siteMap.xml" in paths(first) and COHERE_DIR in paths(first)


# --- crawl 2: the same data through --replay ------------------------------------------------------------------------

def test_same_data_again_through_replay_changes_nothing(scenario):
    first, again = scenario.snapshots["first"], scenario.snapshots["again"]
    assert again["postings"].keys() == first["postings"].keys()
    for key, row in again["postings"].items():
        assert {k: v for k, v in row.items() if k != "last_seen_at"} == {
            k: v for k, v in first["postings"][key].items() if k != "last_seen_at"}
    for run in again["runs"].values():
        assert (run["status"], run["new"], run["updated"], run["closed"]) == ("ok", 0, 0, 0)


# --- crawl 3: changes -----------------------------------------------------------------------------------------------

def test_job_gone_from_a_complete_listing_is_closed(scenario):
    changed = scenario.snapshots["changed"]
    run = changed["runs"][HARVEY.key]
    assert (run["status"], run["seen"], run["closed"]) == ("ok", 3, 1)
    closed = {ext for ext, row in postings_of(changed, HARVEY).items() if row["closed_at"] is not None}
    assert closed == {GONE_FROM_LISTING}


def test_missing_job_page_makes_the_sitemap_source_partial_and_closes_nothing(scenario):
    again, changed = scenario.snapshots["again"], scenario.snapshots["changed"]
    run = changed["runs"][COHERE.key]
    assert (run["status"], run["error"], run["closed"], run["seen"]) == ("partial", "job_page:http_404", 0, 2)
    assert (run["errors"], run["stats"]["source_error/job_page:http_404"]) == (1, 1)
    before, after = postings_of(again, COHERE), postings_of(changed, COHERE)
    for untouched in (GONE_PAGE, DROPPED_FROM_SITEMAP):  # unread and unlisted: kept exactly as they were
        assert after[untouched] == before[untouched]
    for read in ("R1001", "R1002"):  # read fine: seen again, nothing else changed
        assert after[read]["last_seen_at"] > before[read]["last_seen_at"] and after[read]["closed_at"] is None


def test_failing_career_page_is_retried_then_fails_and_changes_nothing(scenario):
    again, changed = scenario.snapshots["again"], scenario.snapshots["changed"]
    run = changed["runs"][CHARACTER.key]
    assert (run["status"], run["error"], run["closed"], run["seen"]) == ("failed", "http_500", 0, 0)
    assert paths(changed).count("/sites/careers.character.example/jobs") == 3
    assert postings_of(changed, CHARACTER) == postings_of(again, CHARACTER)


def test_career_page_forbidden_by_its_robots_txt_fails_unfetched(scenario):
    changed = scenario.snapshots["changed"]
    assert (changed["runs"][EMPTY.key]["status"], changed["runs"][EMPTY.key]["error"]) == (
        "failed", "robots_txt_forbidden")
    assert "/sites/empty.example/careers" not in paths(changed)


def test_changed_job_page_updates_that_posting_only(scenario):
    again, changed = scenario.snapshots["again"], scenario.snapshots["changed"]
    run = changed["runs"][LMARENA.key]
    assert (run["status"], run["updated"], run["stats"]["unchanged"]) == ("ok", 1, 2)
    row = postings_of(changed, LMARENA)[CHANGED_JOB]
    assert "Now JAX too." in row["description_text"]
    assert row["posted_at"] == postings_of(again, LMARENA)[CHANGED_JOB]["posted_at"]


# --- crawl 4: the original data again -------------------------------------------------------------------------------

def test_posting_back_on_the_listing_is_reopened_and_every_source_is_ok_again(scenario):
    restored = scenario.snapshots["restored"]
    assert {run["status"] for run in restored["runs"].values()} == {"ok"}
    assert all(row["closed_at"] is None for row in restored["postings"].values())
    assert sum(run["closed"] for run in restored["runs"].values()) == 0


# --- the bundled demo sites -------------------------------------------------------------------------------------------

def test_bundled_demo_sites_crawl_ok(tmp_path, sqlite_template):
    demo = REPO_ROOT / "data" / "demo"
    sites = [s for s in load_sources(demo / "sources.toml") if s.kind == "jsonld"]
    assert len(sites) >= 2
    config_dir = write_sources(tmp_path / "config", sites)
    db = tmp_path / "demo.db"
    shutil.copyfile(sqlite_template, db)
    scenario = Scenario(f"sqlite:///{db}", config_dir)
    scenario.run("demo", ["--replay", str(demo)], None)
    runs = scenario.snapshots["demo"]["runs"]
    assert {key: run["status"] for key, run in runs.items()} == {s.key: "ok" for s in sites}
    assert all(run["seen"] >= 5 and run["errors"] == 0 for run in runs.values())
