"""Source health: the state machine, what it allows to close, and the table `jobtrend sources` prints."""

import pytest
from click.testing import CliRunner

from jobtrend.cli import main
from jobtrend.db import make_engine, session_factory
from jobtrend.health import health_rows, next_state, record_crawl
from jobtrend.models import Posting, Source
from jobtrend.weeks import utcnow


@pytest.mark.parametrize(("previous", "status", "error", "seen", "expected"), [
    ("new", "ok", None, 12, "ok"),
    ("new", "ok", None, 0, "empty"),
    ("empty", "ok", None, 0, "empty"),
    ("ok", "ok", None, 0, "zero_yield"),
    ("zero_yield", "ok", None, 0, "zero_yield"),
    ("zero_yield", "ok", None, 3, "ok"),
    ("ok", "failed", "http_404", 0, "gone"),
    ("ok", "failed", "http_410", 0, "gone"),
    ("gone", "ok", None, 4, "ok"),
    ("ok", "failed", "invalid_json", 0, "failing"),
    ("ok", "failed", "download_error:TimeoutError", 0, "failing"),
    ("ok", "partial", "cut_short:shutdown", 2, "ok"),
    ("gone", "partial", "no_response", 0, "gone"),
])
def test_next_state(previous, status, error, seen, expected):
    assert next_state(previous, status, error, seen) == expected


def _source(engine, key="acme"):
    with session_factory(engine).begin() as session:
        source = Source(kind="ashby", key=key, company="Acme")
        session.add(source)
        session.flush()
        return source.id


def _record(engine, source_id, status, error=None, seen=0):
    with session_factory(engine).begin() as session:
        may_close = record_crawl(session, source_id, status=status, error=error, seen=seen)
    with session_factory(engine)() as session:
        return may_close, session.get(Source, source_id)


def test_a_crawl_history_moves_health_and_decides_closing(engine):
    source_id = _source(engine)
    may_close, source = _record(engine, source_id, "ok", seen=5)
    assert may_close and source.health == "ok" and source.last_ok_at is not None
    first_ok = source.last_ok_at

    may_close, source = _record(engine, source_id, "ok", seen=0)
    assert not may_close and source.health == "zero_yield"  # flagged, nothing closed yet
    may_close, source = _record(engine, source_id, "ok", seen=0)
    assert may_close and source.health == "zero_yield"  # confirmed empty: closing goes ahead

    may_close, source = _record(engine, source_id, "failed", "http_404")
    assert not may_close and source.health == "gone" and source.consecutive_failures == 1
    assert source.last_error == "http_404" and source.last_ok_at >= first_ok
    gone_since = source.health_since
    may_close, source = _record(engine, source_id, "failed", "http_404")
    assert source.consecutive_failures == 2 and source.health_since == gone_since

    may_close, source = _record(engine, source_id, "partial", "cut_short:shutdown", seen=1)
    assert not may_close and source.health == "gone" and source.consecutive_failures == 2

    may_close, source = _record(engine, source_id, "ok", seen=7)
    assert may_close and source.health == "ok" and source.consecutive_failures == 0 and source.last_error is None


def test_health_rows_put_troubled_sources_first_and_count_open_postings(engine, db_url):
    healthy, broken = _source(engine, "healthy"), _source(engine, "broken")
    now = utcnow()
    with session_factory(engine).begin() as session:
        for i, closed in enumerate([None, None, now]):
            session.add(Posting(source_id=healthy, external_id=str(i), title="t", url="u", description_text="",
                                posted_at=now, posted_week=now.date(), content_hash="h", closed_at=closed))
    _record(engine, healthy, "ok", seen=2)
    _record(engine, broken, "failed", "invalid_json")
    with session_factory(engine)() as session:
        rows = health_rows(session)
    assert [(r[0], r[2], r[6], r[8]) for r in rows] == [
        ("ashby:broken", "failing", 0, "invalid_json"), ("ashby:healthy", "ok", 2, None)]
    result = CliRunner().invoke(main, ["sources", "--format", "csv"], env={"JOBTREND_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].startswith("ashby:broken,Acme,failing,")


def test_sources_command_on_a_new_database(db_url):
    engine = make_engine(db_url)
    _source(engine)
    engine.dispose()
    result = CliRunner().invoke(main, ["sources"], env={"JOBTREND_DATABASE_URL": db_url})
    assert result.exit_code == 0 and "new" in result.output
