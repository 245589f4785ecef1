"""A source that suddenly yields nothing never closes its postings at once, whatever came before, on SQLite and
PostgreSQL.

The zero_yield rule (``jobtrend.health``) flagged an empty ``ok`` crawl only after an ``ok`` one: a board that
had failed (``failing``, ``gone``) or had never ended ``ok`` (``new``: its postings stored by partial crawls, or
before health existed) and then answered with an empty list was taken for an ``empty`` board, and every one of
its open postings was closed. Now an empty crawl of a source that has open postings is ``zero_yield`` whatever
the previous state; the second such crawl in a row closes them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crawler.spiders.source import SourceResult
from jobtrend.models import Source
from tests.crawler.extensions.test_crawl_run import crawl, ok, open_ids


def health(engine, key: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(Source.health).where(Source.key == key)).scalar_one()


@pytest.mark.parametrize("before", [
    SourceResult("failed", "http_500"),  # failing
    SourceResult("failed", "http_404"),  # gone
    SourceResult("partial", "cut_short:shutdown"),  # health stays what it was
])
def test_an_empty_answer_after_a_failure_closes_nothing_until_confirmed(db_url, engine, before):
    crawl(db_url, {"acme": ["1", "2"], "beta": ["9"]}, {"acme": ok("1", "2"), "beta": ok("9")})
    crawl(db_url, {}, {"acme": before, "beta": ok("9")})
    crawl(db_url, {}, {"acme": ok(), "beta": ok("9")})
    assert health(engine, "acme") == "zero_yield"
    assert open_ids(engine, "acme") == {"1", "2"}
    crawl(db_url, {}, {"acme": ok(), "beta": ok("9")})  # confirmed: the board is empty
    assert open_ids(engine, "acme") == set()


def test_an_empty_answer_for_a_source_that_never_ended_ok_closes_nothing(db_url, engine):
    crawl(db_url, {"acme": ["1", "2"]}, {"acme": SourceResult("partial", "store_error", {"1", "2"})})
    assert health(engine, "acme") == "new"  # its postings are stored, it never ended ok
    crawl(db_url, {}, {"acme": ok()})
    assert health(engine, "acme") == "zero_yield"
    assert open_ids(engine, "acme") == {"1", "2"}


def test_a_board_empty_from_the_start_is_empty(db_url, engine):
    crawl(db_url, {}, {"acme": ok()})
    assert health(engine, "acme") == "empty"
