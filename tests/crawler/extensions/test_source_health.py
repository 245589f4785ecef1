"""Crawls keep each source's health: a 404 board is gone and keeps its postings open; a board that suddenly
lists nothing is flagged and closes nothing until a second empty crawl confirms it."""

from sqlalchemy import select

from crawler.spiders.source import SourceResult
from jobtrend.models import Source
from tests.crawler.extensions.test_crawl_run import crawl, ok, open_ids


def health(engine, key):
    with engine.connect() as conn:
        return conn.execute(select(Source.health, Source.consecutive_failures, Source.last_error)
                            .where(Source.key == key)).one()


def test_a_404_board_is_gone_and_nothing_is_closed(db_url, engine):
    crawl(db_url, {"acme": ["1", "2"], "beta": ["9"]}, {"acme": ok("1", "2"), "beta": ok("9")})
    crawl(db_url, {"beta": ["9"]}, {"acme": SourceResult("failed", "http_404"), "beta": ok("9")})
    assert tuple(health(engine, "acme")) == ("gone", 1, "http_404")
    assert open_ids(engine, "acme") == {"1", "2"}
    assert health(engine, "beta").health == "ok"


def test_a_board_that_empties_is_flagged_then_closed_on_confirmation(db_url, engine):
    crawl(db_url, {"acme": ["1", "2"], "beta": ["9"]}, {"acme": ok("1", "2"), "beta": ok("9")})
    crawl(db_url, {"beta": ["9"]}, {"acme": ok(), "beta": ok("9")})
    assert health(engine, "acme").health == "zero_yield"
    assert open_ids(engine, "acme") == {"1", "2"}
    crawl(db_url, {"beta": ["9"]}, {"acme": ok(), "beta": ok("9")})
    assert health(engine, "acme").health == "zero_yield"
    assert open_ids(engine, "acme") == set()
