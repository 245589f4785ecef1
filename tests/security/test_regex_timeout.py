"""A career site's ``follow`` pattern runs on links the site chose: it is compiled by RE2 (jobtrend/patterns.py),
which matches in time linear in the link whatever the pattern, so no link can hang the crawl.

Before, ``follow = "(a+)+b"`` was compiled by Python's backtracking ``re``, and three long links of ``a`` on the
career page hung the crawl (2^n ways to fail per link). A pattern RE2 cannot run in linear time (backreferences,
lookaround) is a configuration error when the files load, as is one that does not compile at all. With RE2 no
match can time out, so no link is skipped for time: each is matched, and the ones it does not match are left.
"""

from __future__ import annotations

import pytest

from crawler.replay import ReplayServer
from crawler.spiders.jsonld import JsonLdSpider
from jobtrend.config import ConfigError, SourceConfig, load_sources
from jobtrend.patterns import compile_pattern, pattern_error
from tests.crawler.conftest import make_spider, read_database
from tests.security.hostile import crawl, job_page, write_config

HOST = "careers.redos.example"
KEY = f"https://{HOST}/jobs"
EVIL = "(a+)+b"
LONG = "a" * 5000  # with Python's re, 40 would already take hours


def sources(follow: str) -> str:
    """sources.toml with ``follow`` as a TOML literal string (no escapes)."""
    return f'[[sources]]\nkind = "jsonld"\nkey = "{KEY}"\nfollow = \'{follow}\'\n'


@pytest.mark.parametrize("pattern", [EVIL, "/jobs/[0-9]+$", r"(?i)/CAREERS/", r"(?P<id>\d+)$", r"\bml\b"])
def test_patterns_re2_runs_are_accepted(tmp_path, pattern):
    path = tmp_path / "sources.toml"
    path.write_text(sources(pattern))
    assert load_sources(path)[0].options["follow"] == pattern


@pytest.mark.parametrize(("pattern", "reason"), [(r"(a)\1", "invalid escape sequence"),
                                                 ("(?=jobs)", "invalid perl operator"),
                                                 ("(?!apply)", "invalid perl operator"),
                                                 ("/jobs/([", "missing ]"),
                                                 ("a{1001}", "invalid repetition size")])
def test_patterns_re2_refuses_are_configuration_errors(tmp_path, pattern, reason):
    path = tmp_path / "sources.toml"
    path.write_text(sources(pattern))
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert err.value.key == "sources[0].follow" and f"(RE2: {reason}" in str(err.value)


def test_the_spider_compiles_follow_with_re2():
    spider = make_spider(JsonLdSpider, [SourceConfig("jsonld", KEY, options={"follow": EVIL})])
    site = spider.open_site(spider.sources[0])
    assert type(site.follow) is type(compile_pattern("x"))
    assert site.follow.search(f"https://{HOST}/{LONG}") is None and site.follow.search(f"https://{HOST}/aab")
    assert pattern_error(EVIL) is None


LISTING = f"""<html><body><h1>Jobs</h1>
<a href="/{LONG}">one</a> <a href="/{LONG}c">two</a> <a href="/x/{LONG}">three</a>
<a href="/aab">a real job</a>
</body></html>"""

def test_long_links_against_a_backtracking_pattern_do_not_hang_the_crawl(db_url, tmp_path):
    site = tmp_path / "replay" / "sites" / HOST
    site.mkdir(parents=True)
    (site / "jobs.html").write_text(LISTING)
    (site / "aab.html").write_text(job_page("aab", "Redos"))
    config_dir = write_config(tmp_path / "config", sources(EVIL))
    with ReplayServer(tmp_path / "replay") as server:
        # the child's timeout only catches the hang the old code had: no assertion on time
        summary, _, _ = crawl(config_dir, db_url, tmp_path, kinds=["jsonld"], api_base=server.url, timeout=180)
        asked = {r.path for r in server.requests}
    run = summary["sources"][f"jsonld:{KEY}"]
    assert (run["status"], run["seen"]) == ("ok", 1), run
    assert f"/sites/{HOST}/aab" in asked and not [p for p in asked if LONG in p]
    postings, _ = read_database(db_url, 0)
    assert set(postings) == {(KEY, "aab")}
