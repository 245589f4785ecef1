"""The scheduler's heartbeat: `jobtrend status` and `jobtrend scheduler status` say whether a scheduler is running
(pid, host, since when) or since when it is not, flag the jobs whose run time passed while none runs, and show
each job's cron expression whole."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from jobtrend.cli import main
from jobtrend.config import SCHEDULER_JOBS, load_config
from jobtrend.db import make_engine, session_factory
from jobtrend.jobstore import jobs_table
from jobtrend.models import SchedulerHeartbeat
from scheduler.service import build_scheduler
from tests.scheduler.test_service import JOBTREND, TIMEOUT, wait_for, write_config

HOST = socket.gethostname()


@pytest.fixture
def config_dir(db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOBTREND_CONFIG_DIR", raising=False)
    yearly = "".join(f'{job} = "0 3 1 1 *"\n' for job in SCHEDULER_JOBS)  # no run time passes during a test
    return write_config(tmp_path / "config", db_url, f"[scheduler]\nheartbeat_seconds = 1\n[scheduler.jobs]\n{yearly}")


def heartbeat(url: str) -> SchedulerHeartbeat | None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return session.scalars(select(SchedulerHeartbeat)).first()
    finally:
        engine.dispose()


def cli(config_dir, *args: str):
    result = CliRunner().invoke(main, ["--config-dir", str(config_dir), *args])
    assert result.exit_code == 0, result.output
    return result.output


def start_scheduler(config_dir, *options: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("JOBTREND_DATABASE_URL",)}
    env["JOBTREND_CONFIG_DIR"] = str(config_dir)
    return subprocess.Popen([str(JOBTREND), "scheduler", "run", *options], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_status_tells_a_running_scheduler_from_a_stopped_one_and_flags_overdue_jobs(config_dir, db_url):
    assert "scheduler not running (never started against this database)" in cli(config_dir, "scheduler", "status")
    proc = start_scheduler(config_dir)
    try:
        beat = wait_for(lambda: heartbeat(db_url), what="the heartbeat")
        first_beat = beat.beat_at
        wait_for(lambda: heartbeat(db_url).beat_at > first_beat, what="a second beat")
        running = f"running (pid {proc.pid} on {HOST}, since "
        assert running in cli(config_dir, "scheduler", "status")
        assert f"scheduler  {running}" in cli(config_dir, "status")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    stopped = heartbeat(db_url)
    assert stopped.pid == proc.pid and stopped.stopped_at is not None
    output = cli(config_dir, "scheduler", "status")
    assert f"scheduler not running since {stopped.stopped_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC (was pid " \
           f"{proc.pid} on {HOST})" in output
    assert "OVERDUE" not in output  # every next run time is still ahead

    past = time.time() - 3600
    engine = make_engine(db_url)
    table = jobs_table(engine)
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == "crawl").values(next_run_time=past))
    engine.dispose()
    output = cli(config_dir, "scheduler", "status")
    [crawl_line] = [line for line in output.splitlines() if line.startswith("crawl ")]
    assert crawl_line.rstrip().endswith("OVERDUE")
    assert "no scheduler is running: start one with `jobtrend scheduler run`" in output
    [crawl_status] = [line for line in cli(config_dir, "status").splitlines() if line.strip().startswith("crawl ")]
    assert "OVERDUE" in crawl_status


def test_a_heartbeat_older_than_three_beats_means_not_running(config_dir, db_url):
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as session:
        session.add(SchedulerHeartbeat(id=1, pid=4242, host="elsewhere", started_at=long_ago, beat_at=long_ago,
                                       interval_seconds=30))
    engine.dispose()
    output = cli(config_dir, "status")
    assert (f"scheduler  not running since {long_ago:%Y-%m-%d %H:%M} UTC (was pid 4242 on elsewhere, no heartbeat: "
            "killed or its host is down)") in output
    assert "running (pid" not in output


def test_the_heartbeat_beats_every_interval_and_records_the_stop(config_dir, db_url):
    sched = build_scheduler(load_config(config_dir), background=True)
    sched.start()
    try:
        started = wait_for(lambda: heartbeat(db_url), what="the heartbeat")
        assert (started.pid, started.host, started.interval_seconds, started.stopped_at) == (os.getpid(), HOST, 1,
                                                                                            None)
        wait_for(lambda: heartbeat(db_url).beat_at > started.beat_at, what="a beat")
    finally:
        sched.shutdown(wait=True)
    stopped = heartbeat(db_url)
    assert stopped.started_at == started.started_at and stopped.stopped_at is not None


def test_scheduler_status_shows_each_cron_expression_whole(config_dir, db_url):
    write_config(config_dir, db_url, '[scheduler.jobs]\nreport = "15 7,19 * * mon-fri"\n')
    sched = build_scheduler(load_config(config_dir), background=True)
    sched.start()
    sched.shutdown(wait=True)
    output = cli(config_dir, "scheduler", "status")
    assert "15 7,19 * * mon-fri" in output and "0 */6 * * *" in output
    assert "..." not in output
