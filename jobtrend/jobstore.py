"""The scheduler's job store read without a scheduler: the rows APScheduler keeps in ``apscheduler_jobs``.

`jobtrend status` and `jobtrend scheduler status` list the stored jobs and their next run times from here (read
only, so it works while a scheduler runs elsewhere); the scheduler reconciles its store on start with the same
reader. The table is APScheduler's own (``SQLAlchemyJobStore``): one row per job, its state pickled.
"""

from __future__ import annotations

import datetime as dt
import pickle

from sqlalchemy import Engine, MetaData, Table, inspect, select

from jobtrend.db import open_engine

JOBS_TABLE = "apscheduler_jobs"


def jobs_table(engine: Engine) -> Table | None:
    if not inspect(engine).has_table(JOBS_TABLE):
        return None
    return Table(JOBS_TABLE, MetaData(), autoload_with=engine)


class StoredJob:
    """One row of ``apscheduler_jobs``, read without a scheduler: id, next run time (UTC), the trigger's repr
    (with its time zone) and its short description."""

    def __init__(self, id: str, next_run_time: dt.datetime | None, trigger: str,  # noqa: A002
                 description: str):
        self.id, self.next_run_time, self.trigger, self.description = id, next_run_time, trigger, description


def stored_rows(engine: Engine, table: Table) -> list[StoredJob]:
    result = []
    with engine.connect() as conn:
        for row in conn.execute(select(table.c.id, table.c.next_run_time, table.c.job_state)
                                .order_by(table.c.next_run_time, table.c.id)):
            try:
                trigger = pickle.loads(row.job_state)["trigger"]
                shown = (repr(trigger), str(trigger))
            except Exception:  # noqa: BLE001 - an unreadable row is listed, not fatal
                shown = ("(unreadable)", "(unreadable)")
            when = None if row.next_run_time is None else dt.datetime.fromtimestamp(row.next_run_time, dt.UTC)
            result.append(StoredJob(row.id, when, *shown))
    return result


def stored_jobs(database_url: str) -> list[StoredJob]:
    """The jobs in ``apscheduler_jobs``, soonest first (paused jobs, without a next run time, last); read-only,
    so it works while a scheduler runs elsewhere. No table yet: no jobs."""
    with open_engine(database_url) as engine:
        table = jobs_table(engine)
        rows = [] if table is None else stored_rows(engine, table)
    return sorted(rows, key=lambda j: (j.next_run_time is None, j.next_run_time or dt.datetime.min, j.id))
