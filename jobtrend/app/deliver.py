"""``deliver``: send the outbox rows that are due (emails by SMTP, webhooks by JSON POST), and list the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from analysis.notify import DeliveryResult, deliver_pending, pending_rows
from jobtrend.config import Config
from jobtrend.db import open_engine, session_factory
from jobtrend.models import Outbox


def deliver(config: Config, *, limit: int = 100) -> DeliveryResult:
    """Send at most ``limit`` due rows; each is sent, retried later with backoff, or failed for good."""
    with open_engine(config.database_url) as engine:
        return deliver_pending(engine, config.notify, limit=limit)


def due_messages(config: Config, *, limit: int = 100) -> list[Any]:
    """The rows ``deliver`` would send now, oldest first."""
    with open_engine(config.database_url) as engine:
        return list(pending_rows(engine, limit=limit))


def outbox(config: Config, *, status: str | None = None, limit: int = 50) -> list[Outbox]:
    """Outbox rows, newest first (``status``: only those), detached from the session."""
    query = select(Outbox).order_by(Outbox.id.desc()).limit(limit)
    if status:
        query = query.where(Outbox.status == status)
    with open_engine(config.database_url) as engine, session_factory(engine)() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows
