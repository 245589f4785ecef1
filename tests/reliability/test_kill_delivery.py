"""SIGKILL during the delivery of 20 queued emails (`jobtrend deliver` in a child process, aiosmtpd on 127.0.0.1),
then delivery again, on SQLite and PostgreSQL: every message arrives, and none twice.

The SMTP server holds back its answer for the 8th message, so the deliverer is killed with 7 messages sent and
recorded, one in flight and 12 waiting, at one of two moments:

- ``before_accept``: the server has not taken the message yet (it stalls on ``RCPT``). Every message then
  arrives exactly once.
- ``after_accept``: the server has taken the message but the deliverer never heard its "250" (the worst moment).
  The in-flight message is sent again after the restart: delivery is at least once, by design
  (analysis/notify.py), and the second copy carries the same ``Message-ID`` and ``Date``, so mail systems drop it.
  Counted by ``Message-ID``, every message arrives exactly once.

The in-flight row stays claimed for ``CLAIM_SECONDS`` (15 minutes): the restarted `jobtrend deliver` sends the 12
waiting rows and leaves it alone; a delivery 15 minutes later (``now`` advanced) sends it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from analysis.notify import CLAIM_SECONDS, deliver_pending, enqueue, message_id
from jobtrend.config import REPO_ROOT, load_config
from jobtrend.db import session_factory
from jobtrend.models import Outbox
from jobtrend.weeks import utcnow
from tests.local_servers import free_port
from tests.scheduler.test_service import write_config

MESSAGES = 20
HOLD_AT = 8  # the message the server stalls on
SENDER = "bot@example.org"
TIMEOUT = 60
JOBTREND = str(Path(sys.executable).parent / "jobtrend")


class StallingInbox:
    """Keeps every message it accepts; stalls on the ``HOLD_AT``-th one before or after accepting it, until
    released."""

    def __init__(self, moment: str):
        self.moment = moment
        self.messages: list[email.message.EmailMessage] = []
        self.recipients = 0
        self.holding = threading.Event()
        self.released = threading.Event()

    async def stall(self) -> None:
        self.holding.set()
        while not self.released.is_set():
            await asyncio.sleep(0.05)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        envelope.rcpt_tos.append(address)
        self.recipients += 1
        if self.moment == "before_accept" and self.recipients == HOLD_AT:
            await self.stall()
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))
        if self.moment == "after_accept" and len(self.messages) == HOLD_AT:
            await self.stall()
        return "250 Message accepted for delivery"


def outbox(engine) -> list[Outbox]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("moment", ["before_accept", "after_accept"])
def test_kill_during_delivery_then_deliver_again_sends_every_message_once(db_url, engine, tmp_path, moment):
    port = free_port()
    inbox = StallingInbox(moment)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config_dir = write_config(tmp_path / "config", db_url, extra=(
            f'\n[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "{SENDER}"\n'
            'recipients = ["me@example.org"]\ntimeout = 60\n'))
        keys = [f"report-2026-W{i:02d}" for i in range(1, MESSAGES + 1)]
        for i, key in enumerate(keys):
            assert enqueue(engine, channel="email", recipient="me@example.org", subject=f"Report {i}",
                           body=f"report {i}", dedupe_key=key)
        env = {k: v for k, v in os.environ.items() if k != "JOBTREND_DATABASE_URL"} | {
            "JOBTREND_CONFIG_DIR": str(config_dir)}

        killed = subprocess.Popen([JOBTREND, "deliver"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            assert inbox.holding.wait(TIMEOUT), "the deliverer never reached the stalled message"
            wait_for(lambda: sum(r.status == "sent" for r in outbox(engine)) == HOLD_AT - 1, "7 rows marked sent")
            killed.send_signal(signal.SIGKILL)
            assert killed.wait(TIMEOUT) == -signal.SIGKILL
        finally:
            if killed.poll() is None:
                killed.kill()
                killed.wait()
        rows = outbox(engine)
        assert Counter((r.status, r.attempts) for r in rows) == {
            ("sent", 1): HOLD_AT - 1, ("pending", 1): 1, ("pending", 0): MESSAGES - HOLD_AT}
        [in_flight] = [r for r in rows if r.status == "pending" and r.attempts == 1]
        assert in_flight.dedupe_key == keys[HOLD_AT - 1]
        inbox.released.set()

        # delivery again at once: the waiting rows go out, the claimed one waits for its claim to expire
        again = subprocess.run([JOBTREND, "deliver"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                               timeout=TIMEOUT)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == f"sent {MESSAGES - HOLD_AT}, retried 0, failed 0"
        # 15 minutes later: the claimed row is sent; then there is nothing left to send
        later = utcnow() + dt.timedelta(seconds=CLAIM_SECONDS + 1)
        settings = load_config(config_dir).notify
        assert deliver_pending(engine, settings, now=later).sent == 1
        assert deliver_pending(engine, settings, now=later + dt.timedelta(hours=1)).sent == 0
    finally:
        inbox.released.set()
        controller.stop()

    rows = outbox(engine)
    assert {r.status for r in rows} == {"sent"}
    expected = {message_id(key, SENDER) for key in keys}
    received = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(received) == expected  # every message delivered
    if moment == "before_accept":
        assert set(received.values()) == {1}  # none twice
    else:
        twice = message_id(keys[HOLD_AT - 1], SENDER)
        assert received == dict.fromkeys(expected, 1) | {twice: 2}  # only the one in flight, as the same message
        first, second = [m for m in inbox.messages if m["Message-ID"] == twice]
        assert (first["Date"], first["Subject"], first.get_content()) == (
            second["Date"], second["Subject"], second.get_content())
