"""The running scheduler's heartbeat: one ``scheduler_heartbeat`` row saying which process serves the database.

:class:`Heartbeat` replaces the row when the scheduler starts (pid, host, start time), updates ``beat_at`` every
``scheduler.heartbeat_seconds`` from a daemon thread, and sets ``stopped_at`` when the scheduler stops. `jobtrend
status` and `jobtrend scheduler status` read it (:func:`jobtrend.app.status.scheduler_state`): a beat older than
three intervals means the scheduler is gone even though it could not say so (``kill -9``, a power cut).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError

from jobtrend.db import open_engine, session_factory
from jobtrend.messages import error_message
from jobtrend.models import SchedulerHeartbeat
from jobtrend.weeks import utcnow

logger = logging.getLogger(__name__)

ROW_ID = 1  # one scheduler per database: one row


class Heartbeat:
    """Write this process's heartbeat into ``database_url`` every ``interval`` seconds between :meth:`start` and
    :meth:`stop`. A failed write is logged and tried again at the next beat; it never stops the scheduler."""

    def __init__(self, database_url: str, interval: float):
        self.database_url = database_url
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started: dt.datetime | None = None
        self._warned = False

    def start(self) -> None:
        self._started = now = utcnow()
        self._write_row(SchedulerHeartbeat(id=ROW_ID, pid=os.getpid(), host=socket.gethostname(), started_at=now,
                                           beat_at=now, interval_seconds=int(self.interval)))
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat_until_stopped, name="jobtrend-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and record the stop (the next `status` says "not running since ...")."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        self._thread = None
        self._update(beat_at=utcnow(), stopped_at=utcnow())

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._update(beat_at=utcnow())

    def _write_row(self, row: SchedulerHeartbeat) -> None:
        try:
            with open_engine(self.database_url) as engine, session_factory(engine).begin() as session:
                session.execute(delete(SchedulerHeartbeat))
                session.add(row)
        except SQLAlchemyError as exc:
            self._failed(exc)

    def _update(self, **values) -> None:
        """Update this scheduler's row (never a row a later scheduler wrote)."""
        mine = (SchedulerHeartbeat.id == ROW_ID, SchedulerHeartbeat.pid == os.getpid(),
                SchedulerHeartbeat.host == socket.gethostname(), SchedulerHeartbeat.started_at == self._started)
        try:
            with open_engine(self.database_url) as engine, engine.begin() as conn:
                conn.execute(update(SchedulerHeartbeat).where(*mine).values(**values))
        except SQLAlchemyError as exc:
            self._failed(exc)

    def _failed(self, exc: SQLAlchemyError) -> None:
        """Log a failed write: a warning the first time, then at debug level (no warning every beat)."""
        log = logger.debug if self._warned else logger.warning
        self._warned = True
        log("cannot write the scheduler's heartbeat (`jobtrend status` may call it not running): %s",
            error_message(getattr(exc, "orig", None) or exc))
