"""Which ``running`` crawl_runs rows a new crawl marks ``failed`` / ``interrupted`` (crawler/extensions/crawl_run.py),
on SQLite and PostgreSQL: those of the sources it crawls whose process is gone, and no others."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

from sqlalchemy import select

from crawler.extensions.crawl_run import INTERRUPTED, STALE_AFTER, is_dead, mark_interrupted
from jobtrend.db import ensure_source, session_factory
from jobtrend.models import CrawlRun
from jobtrend.weeks import utcnow

HOST = socket.gethostname()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_row_is_dead_when_its_process_is_gone_or_unknown():
    now = utcnow()
    assert is_dead({"process": {"host": HOST, "pid": dead_pid()}}, now, now)
    assert is_dead(None, now, now) and is_dead({}, now, now)  # rows written before processes were recorded
    assert not is_dead({"process": {"host": HOST, "pid": os.getpid()}}, now, now)
    assert not is_dead({"process": {"host": HOST, "pid": os.getppid()}}, now, now)  # alive
    elsewhere = {"process": {"host": HOST + "-other", "pid": 1}}
    assert not is_dead(elsewhere, now - dt.timedelta(hours=1), now)  # another host: cannot tell yet
    assert is_dead(elsewhere, now - STALE_AFTER - dt.timedelta(minutes=1), now)


def test_only_dead_running_rows_of_the_crawled_sources_are_marked(engine):
    now = utcnow()
    with session_factory(engine).begin() as session:
        crawled, other = ensure_source(session, "ashby", "acme"), ensure_source(session, "ashby", "other")
        dead = {"process": {"host": HOST, "pid": dead_pid()}}
        alive = {"process": {"host": HOST, "pid": os.getpid()}}
        rows = [CrawlRun(source_id=crawled, status="running", started_at=now, stats=dead),
                CrawlRun(source_id=crawled, status="running", started_at=now, stats=alive),
                CrawlRun(source_id=crawled, status="ok", started_at=now, stats=dead),
                CrawlRun(source_id=other, status="running", started_at=now, stats=dead)]
        session.add_all(rows)
    with session_factory(engine).begin() as session:
        assert mark_interrupted(session, [crawled]) == 1
    with session_factory(engine)() as session:
        found = session.execute(select(CrawlRun.status, CrawlRun.error, CrawlRun.finished_at)
                                .order_by(CrawlRun.id)).all()
    assert [(r.status, r.error) for r in found] == [
        ("failed", INTERRUPTED), ("running", None), ("ok", None), ("running", None)]
    assert found[0].finished_at is not None
