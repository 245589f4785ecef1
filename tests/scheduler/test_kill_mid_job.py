"""Killing the scheduler (SIGKILL) in the middle of a job, then starting it again: the schedule is kept, the killed
run is recorded as failed, and the email the killed job was sending is not sent a second time.

The SMTP server (aiosmtpd on 127.0.0.1) receives the message and then holds back its "250 OK", so the deliver job
is killed after the mail went out but before it could mark the outbox row sent: the worst moment.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from analysis.notify import enqueue
from jobtrend.config import SCHEDULER_JOBS
from jobtrend.db import make_engine, migrate, session_factory
from jobtrend.jobstore import stored_jobs
from jobtrend.models import JobRun, Outbox
from tests.local_servers import free_port
from tests.scheduler.test_service import TIMEOUT, wait_for, write_config

CHILD = """
import sys
from apscheduler.triggers.interval import IntervalTrigger
from jobtrend.config import load_config
from scheduler.service import build_scheduler, run_forever
scheduler = build_scheduler(load_config(sys.argv[1]), triggers={"deliver": IntervalTrigger(seconds=1)})
print("started", flush=True)
run_forever(scheduler)
"""


class SlowInbox:
    """Keeps each message, then waits before answering, as a slow mail server does."""

    def __init__(self):
        self.messages: list[bytes] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)
        self.received.set()
        await asyncio.sleep(20)
        return "250 Message accepted for delivery"


@pytest.fixture
def slow_smtp():
    port = free_port()
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def start_scheduler(config_dir) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("JOBTREND_DATABASE_URL", "JOBTREND_CONFIG_DIR")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(config_dir)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout.readline().strip() == "started"
    return proc


def deliver_runs(url: str) -> list[JobRun]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(JobRun).where(JobRun.job == "deliver").order_by(JobRun.id)))
    finally:
        engine.dispose()


def test_kill_during_delivery_then_restart_keeps_schedule_and_sends_nothing_twice(tmp_path, slow_smtp):
    port, inbox = slow_smtp
    url = f"sqlite:///{tmp_path / 'jobtrend.db'}"
    migrate(url)
    config_dir = write_config(tmp_path / "config", url, extra=(
        f'\n[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "bot@example.org"\n'
        'recipients = ["me@example.org"]\ntimeout = 60\n'))
    engine = make_engine(url)
    assert enqueue(engine, channel="email", recipient="me@example.org", subject="Weekly report",
                   body="text", dedupe_key="report:2026-W19")

    first = start_scheduler(config_dir)
    try:
        assert inbox.received.wait(TIMEOUT), "the deliver job never sent the mail"
        jobs_before = {job.id for job in stored_jobs(url)}
        first.kill()  # SIGKILL while the job waits for the server's answer
        first.wait(TIMEOUT)
    finally:
        first.kill()
    [killed] = deliver_runs(url)
    assert killed.status == "running"  # what a SIGKILL leaves behind

    second = start_scheduler(config_dir)
    try:
        wait_for(lambda: sum(r.status == "ok" for r in deliver_runs(url)) >= 3, what="three deliver runs")
    finally:
        second.terminate()
        second.wait(TIMEOUT)
    runs = deliver_runs(url)
    assert runs[0].id == killed.id and runs[0].status == "failed"  # marked stale on the restart
    assert {job.id for job in stored_jobs(url)} == jobs_before and len(jobs_before) == len(SCHEDULER_JOBS)
    time.sleep(0.5)
    assert len(inbox.messages) == 1  # the restarted deliverer did not send it again
    with session_factory(engine)() as session:
        [row] = session.scalars(select(Outbox))
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > row.created_at
    engine.dispose()
