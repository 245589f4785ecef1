"""PostgreSQL: a scheduler whose advisory-lock connection is cut (a server restart, a network cut) notices before
its next job: it takes the lock again when it is free, and stops when another scheduler took it meanwhile, so
two schedulers never run jobs against one database."""

from __future__ import annotations

import pytest
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, text

from jobtrend.db import make_engine
from jobtrend.locks import SchedulerLock, SchedulerLocked
from jobtrend.models import JobRun
from scheduler.service import build_scheduler
from tests.scheduler.test_service import config, wait_for  # noqa: F401  (the config fixture)

pytestmark = pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)


def _ok_runs(url: str, job: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = len(conn.execute(select(JobRun.id).where(JobRun.job == job, JobRun.status == "ok")).all())
    engine.dispose()
    return count


def _cut_lock_connection(sched) -> None:
    """End the session holding the scheduler's advisory lock from outside, as a server restart would."""
    pid = sched.jobtrend_lock._conn.scalar(text("SELECT pg_backend_pid()"))
    engine = make_engine(sched.jobtrend_config.database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()


def _lock_is_free(url: str) -> bool:
    try:
        with SchedulerLock(url):
            return True
    except SchedulerLocked:
        return False


def test_a_cut_lock_connection_is_noticed_and_the_free_lock_taken_again(config):  # noqa: F811
    url = config.database_url
    sched = build_scheduler(config, background=True, triggers={"trends": IntervalTrigger(seconds=1)})
    sched.start()
    try:
        wait_for(lambda: _ok_runs(url, "trends") >= 1, what="a first trends run")
        sched.pause()
        _cut_lock_connection(sched)
        assert _lock_is_free(url)  # the lock went with the session
        sched.resume()
        before = _ok_runs(url, "trends")
        wait_for(lambda: _ok_runs(url, "trends") >= before + 2, what="trends runs after the cut")
        assert not _lock_is_free(url) and sched.state != STATE_STOPPED and not sched.jobtrend_lock_lost
    finally:
        sched.shutdown(wait=True)
    assert _lock_is_free(url)


def test_a_scheduler_whose_lock_another_took_stops_without_running_a_job(config):  # noqa: F811
    url = config.database_url
    sched = build_scheduler(config, background=True, triggers={"trends": IntervalTrigger(seconds=1)})
    sched.start()
    other = SchedulerLock(url)
    try:
        wait_for(lambda: _ok_runs(url, "trends") >= 1, what="a first trends run")
        sched.pause()
        _cut_lock_connection(sched)
        other.acquire()  # a second scheduler starts while the first one's connection is gone
        before = _ok_runs(url, "trends")
        sched.resume()
        wait_for(lambda: sched.state == STATE_STOPPED, what="the first scheduler to stop")
        assert sched.jobtrend_lock_lost and _ok_runs(url, "trends") == before
        assert not _lock_is_free(url)  # the other one still holds it
    finally:
        if sched.state != STATE_STOPPED:
            sched.shutdown(wait=True)
        other.release()
