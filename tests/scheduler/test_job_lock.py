"""One run of a job at a time per database: the scheduler and `jobtrend scheduler run-job` take the job's lock, a
second run of the same job is skipped (no job_runs row, a clear CLI error), other jobs go on, and a process killed
with SIGKILL while holding the lock blocks nobody. On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from jobtrend.cli import main
from jobtrend.config import load_config
from jobtrend.db import make_engine
from jobtrend.locks import JobLock, JobLocked, SchedulerLock, advisory_key
from jobtrend.models import JobRun
from scheduler.jobs import run_job
from tests.scheduler.test_service import TIMEOUT, write_config

HOLD = """
import sys, time
from jobtrend.locks import JobLock
lock = JobLock(sys.argv[1], sys.argv[2])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def config(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    return load_config(write_config(tmp_path / "config", db_url))


def _job_runs(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [(r.job, r.status) for r in conn.execute(select(JobRun.job, JobRun.status).order_by(JobRun.id))]
    engine.dispose()
    return rows


def test_a_job_running_elsewhere_is_skipped_and_other_jobs_go_on(config):
    url = config.database_url
    with JobLock(url, "trends"):
        assert run_job("trends", config) == "skipped"
        assert run_job("prune", config) == "ok"
    assert _job_runs(url) == [("prune", "ok")]  # the skipped run left no row
    assert run_job("trends", config) == "ok"  # released: it runs again
    assert _job_runs(url) == [("prune", "ok"), ("trends", "ok")]


def test_run_job_command_refuses_a_job_that_is_already_running(config):
    with JobLock(config.database_url, "trends"):
        result = CliRunner().invoke(main, ["--config-dir", str(config.config_dir), "scheduler", "run-job", "trends"])
    assert result.exit_code == 1
    assert "job trends not started: it is already running against this database" in result.output
    assert _job_runs(config.database_url) == []


def test_a_crawl_by_hand_waits_for_no_one_and_crawls_nothing_while_the_scheduler_crawls(config):
    with JobLock(config.database_url, "crawl"):  # as the scheduler's crawl job holds it
        # --api-base: were the lock not honoured, the crawl would reach only a closed port on this machine
        result = CliRunner().invoke(main, ["--config-dir", str(config.config_dir), "crawl",
                                           "--api-base", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "job crawl is already running against this database" in result.output
    engine = make_engine(config.database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM crawl_runs")) == 0
    engine.dispose()


def test_the_lock_of_a_killed_process_is_free_again(config):
    url = config.database_url
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url, "crawl"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert run_job("crawl", config) == "skipped"
    finally:
        holder.kill()  # SIGKILL: the server or the kernel frees the lock
        holder.wait(TIMEOUT)
    with JobLock(url, "crawl"):
        pass


def test_job_locks_are_apart_from_each_other_and_from_the_scheduler_lock(config):
    url = config.database_url
    with SchedulerLock(url), JobLock(url, "crawl"), JobLock(url, "deliver"):
        try:
            JobLock(url, "crawl").acquire()
        except JobLocked as exc:
            assert "job crawl is already running against this database" in str(exc)
        else:
            raise AssertionError("a second crawl lock was granted")
    assert len({advisory_key(f"job-{name}") for name in ("crawl", "deliver", "trends")}) == 3
