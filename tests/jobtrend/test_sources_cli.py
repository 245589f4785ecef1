"""`jobtrend sources` as a user runs it: add a board by URL (checked against a local API on 127.0.0.1), import a
list, disable and enable, switch the registry on, find the board a careers page embeds, and list thousands of
sources within 100 columns. Each change is written to the configuration (comments kept) and synced to the
database (SQLite and PostgreSQL); a refused change writes nothing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.cli import main
from jobtrend.db import make_engine
from jobtrend.models import Source
from tests.conftest import FIXTURES
from tests.crawler.conftest import TEST_USER_AGENT

REPLAY = FIXTURES / "replay"
PUBLIC_LIST = FIXTURES / "boards" / "public-list.csv"
SOURCES_TOML = """# My boards. One [[sources]] table per board.
#   (a comment the user wrote, which every edit keeps)

[[sources]]
kind = "ashby"
key = "SecondDinner"
company = "Second Dinner"  # checked by hand

[[sources]]
kind = "greenhouse"
key = "dropbox"
enabled = false
"""
REGISTRY = ("kind,token,company,url,origin\n"
            "greenhouse,10alabs,10Alabs,https://job-boards.greenhouse.io/10alabs,list (MIT)\n"
            "greenhouse,acmeai,Acmeai,https://job-boards.greenhouse.io/acmeai,list (MIT)\n")


@pytest.fixture
def config_dir(tmp_path) -> Path:
    directory = tmp_path / "config"
    (directory / "registry").mkdir(parents=True)
    (directory / "jobtrend.toml").write_text(
        f"[crawl]\nuser_agent = {json.dumps(TEST_USER_AGENT)}\ndownload_delay = 0\ndownload_timeout = 5\n"
        "allow_private_addresses = true\n")
    (directory / "sources.toml").write_text(SOURCES_TOML)
    (directory / "frameworks.toml").write_text("")
    (directory / "registry" / "greenhouse.csv").write_text(REGISTRY)
    return directory


@pytest.fixture
def api():
    with ReplayServer(REPLAY) as server:
        yield server


def run(config_dir: Path, db_url: str, *args: str):
    env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def sources_in_database(db_url: str) -> dict[str, tuple]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {f"{r.kind}:{r.key}": (r.company, r.enabled) for r in conn.execute(select(Source))}
    finally:
        engine.dispose()


def initialised(config_dir: Path, db_url: str) -> None:
    assert run(config_dir, db_url, "init").exit_code == 0


def test_add_by_url_checks_the_api_once_and_appends_a_table_keeping_comments(config_dir, db_url, api, monkeypatch):
    monkeypatch.setattr("jobtrend.app.setup.ensure_default_model", lambda path: None)
    initialised(config_dir, db_url)
    result = run(config_dir, db_url, "sources", "add", "https://jobs.ashbyhq.com/character/some-job-uuid",
                 "--company", "Character.AI", "--api-base", api.url)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"added ashby:character (Character.AI) to {config_dir / 'sources.toml'}: "
                                    "checked, HTTP 200 from 127.0.0.1")
    board = [r for r in api.requests if r.path != "/robots.txt"]
    assert [r.path for r in board] == ["/posting-api/job-board/character"]
    assert board[0].user_agent == TEST_USER_AGENT
    text = (config_dir / "sources.toml").read_text()
    assert text.startswith(SOURCES_TOML)  # the user's comments and tables as they were
    assert tomllib.loads(text)["sources"][-1] == {"kind": "ashby", "key": "character", "company": "Character.AI"}
    assert sources_in_database(db_url)["ashby:character"] == ("Character.AI", True)


def test_a_board_the_api_does_not_know_is_refused_and_nothing_written(config_dir, db_url, api):
    result = run(config_dir, db_url, "sources", "add", "lever:nosuchsite", "--api-base", api.url)
    assert result.exit_code == 1
    assert result.output.splitlines() == ["Error: no such board: lever:nosuchsite (the board does not exist "
                                          "(HTTP 404): check its key; check the token's spelling and capitals in the "
                                          "board's URL)"]
    assert api.hits("/v0/postings/nosuchsite") == 2  # the US instance, then the EU one (same base here)
    assert (config_dir / "sources.toml").read_text() == SOURCES_TOML


def test_an_unreachable_api_says_it_could_not_check_and_offline_adds_it(config_dir, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'not-initialised.db'}"
    refused = "http://127.0.0.1:9"  # the discard port: nothing listens
    result = run(config_dir, db_url, "sources", "add", "greenhouse:acme", "--api-base", refused)
    assert result.exit_code == 1
    assert result.output.startswith("Error: could not check greenhouse:acme: connection refused by 127.0.0.1")
    assert result.output.rstrip().endswith("retry, or add it unchecked with --offline")
    assert (config_dir / "sources.toml").read_text() == SOURCES_TOML
    added = run(config_dir, db_url, "sources", "add", "https://boards.greenhouse.io/acme", "--offline")
    assert added.exit_code == 0
    assert added.output.strip() == (f"added greenhouse:acme to {config_dir / 'sources.toml'}: not checked "
                                    "(--offline); `jobtrend init` loads it into the database")
    assert not (tmp_path / "not-initialised.db").exists()
    assert {"kind": "greenhouse", "key": "acme"} in tomllib.loads((config_dir / "sources.toml").read_text())["sources"]


@pytest.mark.parametrize("board", ["ashby:seconddinner", "https://boards.greenhouse.io/dropbox"])
def test_a_duplicate_is_refused_in_one_line(config_dir, db_url, board):
    result = run(config_dir, db_url, "sources", "add", board, "--offline")
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1 and "is already configured" in result.output
    assert (config_dir / "sources.toml").read_text() == SOURCES_TOML


def test_something_that_is_no_board_is_one_line(config_dir, db_url):
    result = run(config_dir, db_url, "sources", "add", "https://careers.example.com/jobs", "--offline")
    assert result.exit_code == 1
    assert result.output.startswith("Error: not a board URL or kind:token: 'https://careers.example.com/jobs'")


def test_import_adds_the_board_urls_and_counts_the_rest(config_dir, db_url, monkeypatch):
    monkeypatch.setattr("jobtrend.app.setup.ensure_default_model", lambda path: None)
    initialised(config_dir, db_url)
    (config_dir / "sources.toml").write_text(SOURCES_TOML + '\n[[sources]]\nkind = "lever"\nkey = "15Five"\n')
    result = run(config_dir, db_url, "sources", "import", str(PUBLIC_LIST))
    assert result.exit_code == 0, result.output
    imported = config_dir / "registry" / "imported.csv"
    assert result.output.strip() == f"added 5, duplicate 2, 2 unrecognised (lines 5, 9); written to {imported}"
    rows = imported.read_text().splitlines()
    assert rows[0] == "kind,token,company,url,origin" and len(rows) == 6
    assert rows[2].startswith("ashby,applied compute,Applied Compute,https://jobs.ashbyhq.com/applied%20compute,"
                              "public-list.csv (imported ")
    stored = sources_in_database(db_url)
    assert stored["lever:1840&company"] == ("1840&Company", True) and "lever:15five" not in stored
    again = run(config_dir, db_url, "sources", "import", str(PUBLIC_LIST))
    assert again.output.strip() == f"added 0, duplicate 7, 2 unrecognised (lines 5, 9); written to {imported}"
    assert len(imported.read_text().splitlines()) == 6


def test_import_of_one_board_and_one_bad_row_says_line_not_lines(config_dir, db_url, tmp_path):
    small = tmp_path / "small.csv"
    small.write_text("name,url\nAcme,https://jobs.lever.co/acme\nNope,https://example.com/careers\n")
    result = run(config_dir, db_url, "sources", "import", str(small))
    assert result.exit_code == 0
    assert result.output.strip() == ("added 1, duplicate 0, 1 unrecognised (line 3); written to "
                                     f"{config_dir / 'registry' / 'imported.csv'}")


def test_import_of_a_file_without_board_urls_writes_nothing(config_dir, db_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("company,website\nAcme,https://acme.example\n")
    result = run(config_dir, db_url, "sources", "import", str(bad))
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: cannot import {bad}, line 1: the header must name the columns "
                                          "url (found company, website)"]
    assert not (config_dir / "registry" / "imported.csv").exists()


def test_disable_and_enable_edit_one_line_or_override_a_registry_board(config_dir, db_url):
    result = run(config_dir, db_url, "sources", "enable", "greenhouse:dropbox")
    assert result.exit_code == 0
    assert result.output.strip() == f"enabled greenhouse:dropbox in {config_dir / 'sources.toml'}"
    assert sources_in_database(db_url)["greenhouse:dropbox"] == (None, True)
    text = (config_dir / "sources.toml").read_text()
    assert text == SOURCES_TOML.replace("enabled = false", "enabled = true")
    assert run(config_dir, db_url, "sources", "disable", "ashby:SecondDinner").exit_code == 0
    tables = tomllib.loads((config_dir / "sources.toml").read_text())["sources"]
    assert tables[0] == {"kind": "ashby", "key": "SecondDinner", "company": "Second Dinner", "enabled": False}
    assert "# checked by hand" in (config_dir / "sources.toml").read_text()
    run(config_dir, db_url, "sources", "use-registry", "--kind", "greenhouse")
    registry_board = run(config_dir, db_url, "sources", "disable", "https://job-boards.greenhouse.io/acmeai")
    assert registry_board.exit_code == 0
    assert tomllib.loads((config_dir / "sources.toml").read_text())["sources"][-1] == {
        "kind": "greenhouse", "key": "acmeai", "company": "Acmeai", "enabled": False}
    assert run(config_dir, db_url, "sources", "disable", "greenhouse:acmeai").output.strip() == (
        "greenhouse:acmeai is already disabled")
    unknown = run(config_dir, db_url, "sources", "disable", "lever:nobody")
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: no source 'lever:nobody' in sources.toml")


def test_use_registry_switches_the_registry_on_and_init_syncs_it(config_dir, db_url, monkeypatch):
    monkeypatch.setattr("jobtrend.app.setup.ensure_default_model", lambda path: None)
    result = run(config_dir, db_url, "sources", "use-registry", "--kind", "greenhouse")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"registry: greenhouse in {config_dir / 'sources.toml'}; 3 enabled sources "
                                    "(ashby 1, greenhouse 2)")
    text = (config_dir / "sources.toml").read_text()
    assert text.startswith(SOURCES_TOML) and tomllib.loads(text)["registry"] == {"include": ["greenhouse"]}
    init = run(config_dir, db_url, "init")
    assert "sources: 4" in init.output
    assert sources_in_database(db_url)["greenhouse:10alabs"] == ("10Alabs", True)
    off = run(config_dir, db_url, "sources", "use-registry", "--off")
    assert off.exit_code == 0 and tomllib.loads((config_dir / "sources.toml").read_text())["registry"] == {
        "include": []}
    assert sources_in_database(db_url)["greenhouse:10alabs"] == ("10Alabs", False)
    missing = run(config_dir, db_url, "sources", "use-registry", "--kind", "lever")
    assert missing.exit_code == 1 and missing.output.startswith("Error: no registry file ")


def test_sources_lists_thousands_within_100_columns_with_filters_and_a_summary(config_dir, db_url, monkeypatch):
    monkeypatch.setattr("jobtrend.app.setup.ensure_default_model", lambda path: None)
    rows = "".join(f"lever,site{i},Site With A Rather Long Company Name {i},https://jobs.lever.co/site{i},x\n"
                   for i in range(3000))
    (config_dir / "registry" / "lever.csv").write_text("kind,token,company,url,origin\n" + rows)
    (config_dir / "sources.toml").write_text(SOURCES_TOML + '\n[registry]\ninclude = ["lever"]\n')
    initialised(config_dir, db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(Source.__table__.update().where(Source.key == "site7").values(
            health="gone", consecutive_failures=3, last_error="http_404 " + "x" * 300))
    engine.dispose()
    result = run(config_dir, db_url, "sources")
    lines = result.output.splitlines()
    assert result.exit_code == 0 and len(lines) == 3001 + 3
    assert max(len(line) for line in lines) <= 100
    assert lines[2].split()[:2] == ["lever:site7", "gone"] and "the board does not exist" in lines[2]
    assert lines[-1] == "3001 sources: ashby 1, lever 3000; health: new 3000, gone 1"
    narrowed = run(config_dir, db_url, "sources", "--kind", "lever", "--health", "new", "--limit", "2")
    assert narrowed.output.splitlines()[-1] == "2999 sources (showing 2): lever 2999; health: new 2999"
    assert len(narrowed.output.splitlines()) == 5
    as_json = json.loads(run(config_dir, db_url, "sources", "--health", "gone", "--format", "json").output)
    assert [(r["source"], r["company"], r["failures"]) for r in as_json] == [
        ("lever:site7", "Site With A Rather Long Company Name 7", 3)]


CAREERS = """<html><head>
<script src="https://boards.greenhouse.io/embed/job_board/js?for=acmeai"></script></head><body>
<a href="https://job-boards.greenhouse.io/acmeai/jobs/4012">Engineer</a>
<a href="//jobs.ashbyhq.com/acme-labs">Labs</a><a href="/about">About</a>
</body></html>"""
JSONLD = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [{"@type": "JobPosting", "title": "ML Engineer"}]}
</script></head><body>one job</body></html>"""


def test_find_reports_the_boards_a_careers_page_embeds(config_dir, db_url):
    pages = {"/careers": ReplayResponse(200, CAREERS, {"Content-Type": "text/html"}),
             "/job": ReplayResponse(200, JSONLD, {"Content-Type": "text/html"}),
             "/plain": ReplayResponse(200, "<p>we are hiring</p>", {"Content-Type": "text/html"}),
             "/robots.txt": ReplayResponse(200, "User-agent: *\nDisallow: /private\n")}
    with ReplayServer(REPLAY, overrides=pages) as site:
        found = run(config_dir, db_url, "sources", "find", f"{site.url}/careers")
        assert found.exit_code == 0
        assert found.output.splitlines() == [
            "greenhouse:acmeai  (2 links; add it: jobtrend sources add greenhouse:acmeai)",
            "ashby:acme-labs  (1 link; add it: jobtrend sources add ashby:acme-labs)"]
        assert [r.path for r in site.requests] == ["/robots.txt", "/careers"]
        assert site.requests[-1].user_agent == TEST_USER_AGENT
        jsonld = run(config_dir, db_url, "sources", "find", f"{site.url}/job")
        assert jsonld.output.startswith("jsonld: the page has schema.org JobPosting markup")
        none = run(config_dir, db_url, "sources", "find", f"{site.url}/plain")
        assert none.exit_code == 1 and none.output.startswith("Error: no Ashby, Greenhouse or Lever board")
        forbidden = run(config_dir, db_url, "sources", "find", f"{site.url}/private/jobs")
        assert forbidden.exit_code == 1 and "robots.txt of 127.0.0.1" in forbidden.output
        assert site.hits("/private/jobs") == 0


def test_find_on_a_hostile_page_says_why_in_one_line_and_stays_on_its_host(config_dir, db_url):
    """A redirect to another host is not followed (the crawl's guard), a body over crawl.download_maxsize is cut
    off, JSON-LD nested past the recursion limit and NUL bytes are read as text: one line each, no traceback."""
    with (config_dir / "jobtrend.toml").open("a") as toml:
        toml.write("download_maxsize = 100000\n")
    nested = "[" * 20_000 + "]" * 20_000  # far past the recursion limit, within download_maxsize
    pages = {"/robots.txt": ReplayResponse(404, "no robots"),
             "/away": ReplayResponse(302, "", {"Location": "http://jobs.example.invalid/careers"}),
             "/huge": ReplayResponse(200, "<a href='https://jobs.ashbyhq.com/big'>x</a>" + " " * 200_000,
                                     {"Content-Type": "text/html"}),
             "/nested": ReplayResponse(200, f'<script type="application/ld+json">{nested}</script>'
                                            "<a href='https://jobs.lever.co/deep'>x</a>",
                                       {"Content-Type": "text/html"}),
             "/nul": ReplayResponse(200, "\x00<a href='https://jobs.ashbyhq.com/nul\x00co'>x</a>"
                                         "<a href='https://jobs.ashbyhq.com/clean'>y</a>\x00",
                                    {"Content-Type": "text/html"})}
    with ReplayServer(REPLAY, overrides=pages) as site:
        away = run(config_dir, db_url, "sources", "find", f"{site.url}/away")
        assert away.exit_code == 1 and away.output.startswith(f"Error: cannot read {site.url}/away: redirected")
        assert "(redirect_off_host)" in away.output and len(away.output.splitlines()) == 1
        huge = run(config_dir, db_url, "sources", "find", f"{site.url}/huge")
        assert huge.exit_code == 1 and "larger than crawl.download_maxsize (too_large)" in huge.output
        nested_page = run(config_dir, db_url, "sources", "find", f"{site.url}/nested")
        assert nested_page.exit_code == 0 and nested_page.output.startswith("lever:deep")
        nul = run(config_dir, db_url, "sources", "find", f"{site.url}/nul")
        assert nul.exit_code == 0 and nul.output.startswith("ashby:clean") and "\x00" not in nul.output
    assert not (config_dir / "sources.toml").read_text().count("deep")  # find only reports; nothing written
