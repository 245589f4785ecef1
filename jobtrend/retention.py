"""Thinning out the service's own history, so a scheduler that runs for years keeps a database of bounded size.

Two tables grow with every run and nothing else reads their old rows:

- ``outbox``: every email and webhook ever queued, a weekly report's HTML and inline charts included (about
  100 kB per recipient per week). A **sent** row older than the retention period keeps its ``dedupe_key``,
  recipient, subject and times (so nothing already sent can be queued and sent again) and loses its
  ``body``, ``html`` and ``attachments``. Pending and failed rows are never touched.
- ``job_runs``: one row per scheduled or manual run (the deliver job alone adds 288 a day). Finished runs that
  started before the retention period are deleted, except the latest run of each job, which
  ``jobtrend status`` and ``jobtrend scheduler status`` show. Running rows are never deleted.

Postings, crawl runs, mentions, classifications, trend points, alerts and reports are the product's data and
are kept for ever: this module never touches them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, null, select, update

from jobtrend.models import JobRun, Outbox
from jobtrend.weeks import utcnow

PRUNED_BODY = ""  # what a pruned outbox row keeps as its body (the column is NOT NULL)


@dataclass(frozen=True)
class PruneResult:
    """How many rows a prune thinned out (or, with ``dry_run``, would have)."""

    cutoff: dt.datetime
    outbox_emptied: int
    job_runs_deleted: int


def cutoff_for(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The moment before which history is pruned: ``days`` days before ``now``."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return (now or utcnow()) - dt.timedelta(days=days)


def _outbox_condition(cutoff: dt.datetime):
    sent_before = func.coalesce(Outbox.sent_at, Outbox.created_at) < cutoff
    not_pruned_yet = Outbox.body != PRUNED_BODY  # every message queued has a body (text or webhook JSON)
    return and_(Outbox.status == "sent", sent_before, not_pruned_yet)


def _job_runs_condition(cutoff: dt.datetime):
    latest_of_each_job = select(func.max(JobRun.id)).group_by(JobRun.job).scalar_subquery()
    return and_(JobRun.status != "running", JobRun.started_at < cutoff, JobRun.id.not_in(latest_of_each_job))


def prune_history(engine: Engine, days: int, *, now: dt.datetime | None = None,
                  dry_run: bool = False) -> PruneResult:
    """Empty the content of sent outbox rows and delete finished job runs older than ``days`` days, in one
    transaction; with ``dry_run`` only count them."""
    cutoff = cutoff_for(days, now)
    outbox_where, runs_where = _outbox_condition(cutoff), _job_runs_condition(cutoff)
    with engine.begin() as conn:
        if dry_run:
            emptied = conn.scalar(select(func.count()).select_from(Outbox).where(outbox_where))
            deleted = conn.scalar(select(func.count()).select_from(JobRun).where(runs_where))
        else:
            emptied = conn.execute(update(Outbox).where(outbox_where)
                                   .values(body=PRUNED_BODY, html=None, attachments=null())).rowcount
            deleted = conn.execute(delete(JobRun).where(runs_where)).rowcount
    return PruneResult(cutoff=cutoff, outbox_emptied=emptied, job_runs_deleted=deleted)
