"""The scheduler process: APScheduler 3 with its jobs persisted in the database, one instance per database.

:func:`build_scheduler` returns a scheduler (blocking for the service, background for tests) whose jobs are
the enabled entries of ``[scheduler.jobs]``, each calling :func:`scheduler.jobs.run_job` with ``(name,
config_dir)``. Jobs live in the ``apscheduler_jobs`` table (:class:`SQLAlchemyJobStore`), under fixed ids (the
job names), added with ``replace_existing=True``: a restart never duplicates them, and a job whose cron
expression is unchanged keeps its stored next run time, so a run missed while the scheduler was down still
starts if it is less than ``misfire_grace_seconds`` late (``coalesce``: several missed runs start once).

Starting takes a lock (:class:`jobtrend.locks.SchedulerLock`), released on shutdown, so two schedulers never
run against one database: PostgreSQL: ``pg_try_advisory_lock(LOCK_KEY)`` on a connection held open while the
scheduler runs; SQLite: ``fcntl.flock`` on ``.<database file>.locks/scheduler.lock``. Both are released by the server
or the kernel when the process dies, even by ``kill -9``. Each job also holds its own lock while it runs
(:class:`jobtrend.locks.JobLock`), so ``jobtrend scheduler run-job`` never runs a job the scheduler is running.
Holding the lock, the scheduler marks its dead predecessor's unfinished ``job_runs`` rows failed
(:func:`mark_stale_runs`), then writes its heartbeat (:class:`scheduler.heartbeat.Heartbeat`: pid, host, start
time, a beat every ``heartbeat_seconds``) until it stops, so `jobtrend status` can tell it is running.

The pipeline jobs (crawl, analyze, trends, alerts, report) share one worker thread, so they run one after the
other in the order they fall due, never concurrently; ``deliver`` has its own thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import delete, select, update

from jobtrend.config import SCHEDULER_JOBS, Config, SchedulerSettings
from jobtrend.db import make_engine, open_engine
from jobtrend.jobstore import JOBS_TABLE, jobs_table, stored_rows
from jobtrend.locks import SchedulerLock, SchedulerLocked
from jobtrend.models import JobRun
from jobtrend.processes import process_alive
from jobtrend.weeks import monday_of, utcnow
from scheduler import jobs
from scheduler.heartbeat import Heartbeat

logger = logging.getLogger(__name__)

# The weekly report may start this late: a Monday run missed while the scheduler was down (or busy past
# misfire_grace_seconds) runs when it is back, within the week, and reports the week that ended last Sunday.
REPORT_MISFIRE_GRACE = int(dt.timedelta(days=6).total_seconds())
DELIVER_EXECUTOR = "outbox"


# --- the scheduler --------------------------------------------------------------------------------------


class _LockedScheduler:
    """Mixed into an APScheduler class: ``start()`` takes the database's lock first (raising
    :class:`~jobtrend.locks.SchedulerLocked`), tidies the job store and ``job_runs``, then starts;
    ``shutdown()`` stops, waiting for running jobs by default, then releases the lock."""

    jobtrend_config: Config
    jobtrend_lock: SchedulerLock
    jobtrend_heartbeat: Heartbeat
    jobtrend_lock_lost: bool = False

    def start(self, *args, **kwargs):
        self.jobtrend_lock.acquire()
        try:
            jobs.clear_stop()
            jobs.set_lock_guard(self._still_locked)
            mark_stale_runs(self.jobtrend_config.database_url)
            _reconcile_store(self, self.jobtrend_config.database_url)
            if jobs.stop_requested():  # SIGTERM while starting: do not start at all
                self.jobtrend_lock.release()
                return
            super().start(*args, **kwargs)  # the heartbeat starts with it (EVENT_SCHEDULER_STARTED)
        except BaseException:
            if self.state == STATE_STOPPED:  # a blocking scheduler's start() returns after shutdown
                self.jobtrend_heartbeat.stop()
                self.jobtrend_lock.release()
            raise

    def shutdown(self, wait: bool = True):
        try:
            super().shutdown(wait)
        finally:
            jobs.set_lock_guard(None)
            self.jobtrend_heartbeat.stop()
            self.jobtrend_lock.release()

    def _still_locked(self) -> bool:
        """Called before each scheduled job: whether this scheduler still holds the database's lock. When
        another scheduler took it (a PostgreSQL connection lost and the lock taken meanwhile), this one stops:
        :func:`run_forever` then raises :class:`~jobtrend.locks.SchedulerLocked`."""
        state = self.jobtrend_lock.verify()
        if state == "held":
            return True
        if state == "lost":
            logger.error("another scheduler took this database's lock while this one's connection was gone: "
                         "stopping this scheduler")
            self.jobtrend_lock_lost = True
            jobs.request_stop()
            threading.Thread(target=self.shutdown, name="jobtrend-lock-lost", daemon=True).start()
        return False


class JobtrendBlockingScheduler(_LockedScheduler, BlockingScheduler):
    """The service's scheduler: ``start()`` blocks until ``shutdown()`` (from a signal handler)."""


class JobtrendBackgroundScheduler(_LockedScheduler, BackgroundScheduler):
    """The same in a background thread (tests, or embedding)."""


def report_timing_warning(settings: SchedulerSettings, now: dt.datetime | None = None) -> str | None:
    """A warning when the report job, in ``settings.timezone``, runs before the ISO week it should report has
    ended in UTC (a time zone east of UTC with an early Monday run): weeks are UTC weeks, so such a run reports
    the week before, a week late every week. None when the timing is fine or the report job is disabled."""
    cron = settings.jobs.get("report")
    if not cron:
        return None
    trigger = CronTrigger.from_crontab(cron, timezone=settings.timezone)
    when = (now or dt.datetime.now(dt.UTC)).astimezone(trigger.timezone)
    for _ in range(14):  # two weeks of runs at most: a weekly cron shows itself twice
        when = trigger.get_next_fire_time(None, when)
        if when is None:
            return None
        local_week, utc_week = monday_of(when.date()), monday_of(when.astimezone(dt.UTC))
        if utc_week < local_week:
            monday_utc = dt.datetime.combine(local_week, dt.time(), tzinfo=dt.UTC).astimezone(trigger.timezone)
            return (f"the report job runs at {when:%a %H:%M} {settings.timezone}, which is "
                    f"{when.astimezone(dt.UTC):%a %H:%M} UTC, before the ISO week ends in UTC (weeks are UTC "
                    f"weeks): each report would cover the week before the one just ended. Schedule it after "
                    f"Monday 00:00 UTC, {monday_utc:%a %H:%M} in {settings.timezone}")
        when += dt.timedelta(seconds=1)
    return None


def build_scheduler(config: Config, *, background: bool = False,
                    triggers: dict[str, BaseTrigger] | None = None,
                    on_started: Callable[[BaseScheduler], None] | None = None) -> BaseScheduler:
    """A scheduler, not started, holding the enabled jobs of ``config.scheduler``.

    ``triggers`` (for tests) replaces the cron trigger of the named jobs, e.g. ``{"trends":
    IntervalTrigger(seconds=1)}``; a job named there runs even if the configuration disables it.
    ``on_started`` is called with the scheduler once it has started, before its first heartbeat: whoever sees
    the heartbeat (and may stop the scheduler at once) sees a scheduler that has already announced its jobs.
    """
    settings = config.scheduler
    scheduler_cls = JobtrendBackgroundScheduler if background else JobtrendBlockingScheduler
    scheduler = scheduler_cls(timezone=settings.timezone)
    scheduler.add_jobstore(SQLAlchemyJobStore(engine=make_engine(config.database_url), tablename=JOBS_TABLE),
                           "default")
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), "default")
    scheduler.add_executor(ThreadPoolExecutor(max_workers=1), DELIVER_EXECUTOR)
    scheduler.jobtrend_config = config
    scheduler.jobtrend_lock = SchedulerLock(config.database_url)
    scheduler.jobtrend_heartbeat = Heartbeat(config.database_url, settings.heartbeat_seconds)

    def started(_event) -> None:
        if on_started is not None:
            on_started(scheduler)
        scheduler.jobtrend_heartbeat.start()

    scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
    plan: dict[str, BaseTrigger] = {name: CronTrigger.from_crontab(cron, timezone=settings.timezone)
                                    for name, cron in settings.enabled_jobs().items()}
    plan.update(triggers or {})
    if warning := report_timing_warning(settings):
        logger.warning("%s", warning)
    for name in SCHEDULER_JOBS:
        if name not in plan:
            continue
        scheduler.add_job(jobs.run_job, plan[name], args=(name, str(config.config_dir.resolve())), id=name,
                          name=f"jobtrend {name}", replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=max(settings.misfire_grace_seconds, REPORT_MISFIRE_GRACE)
                          if name == "report" else settings.misfire_grace_seconds,
                          executor=DELIVER_EXECUTOR if name == "deliver" else "default")
    return scheduler


def _reconcile_store(scheduler: BaseScheduler, database_url: str) -> None:
    """Before the pending jobs are written to the store: drop stored jobs that are no longer scheduled, and give
    each pending job whose trigger did not change the next run time it had (so a missed run is not lost)."""
    pending = {job.id: job for job in scheduler.get_jobs()}
    with open_engine(database_url) as engine:
        table = jobs_table(engine)
        if table is None:
            return
        stored = {row.id: row for row in stored_rows(engine, table)}
        gone = [job_id for job_id in stored if job_id not in pending]
        if gone:
            with engine.begin() as conn:
                conn.execute(delete(table).where(table.c.id.in_(gone)))
            logger.info("removed unscheduled jobs from %s: %s", JOBS_TABLE, ", ".join(gone))
        for job_id, job in pending.items():
            row = stored.get(job_id)
            if row is not None and row.next_run_time is not None and row.trigger == repr(job.trigger):
                scheduler.modify_job(job_id, next_run_time=row.next_run_time.astimezone(scheduler.timezone))


def mark_stale_runs(database_url: str) -> int:
    """Mark ``job_runs`` rows left 'running' by a dead run as failed; return how many.

    Call it holding the scheduler lock: then no other scheduler is alive, so every 'running' row a scheduler
    wrote is stale. A row from `jobtrend scheduler run-job` counts as stale only when it was started on this
    host by a process that no longer exists.
    """
    with open_engine(database_url) as engine:
        with engine.connect() as conn:
            rows = conn.execute(select(JobRun.id, JobRun.details).where(JobRun.status == "running")).all()
        stale = [row.id for row in rows if _is_stale(row.details or {})]
        if stale:
            with engine.begin() as conn:
                conn.execute(update(JobRun).where(JobRun.id.in_(stale), JobRun.status == "running").values(
                    status="failed", finished_at=utcnow(),
                    error="Interrupted: the process running this job stopped before it finished "
                          "(killed or crashed); marked failed by the next scheduler start"))
            logger.warning("marked %d job_runs rows left running by a dead process as failed", len(stale))
        return len(stale)


def _is_stale(details: dict[str, Any]) -> bool:
    if details.get("via", "scheduler") == "scheduler":
        return True
    return process_alive(details.get("host"), details.get("pid")) is False


def run_forever(scheduler: BaseScheduler) -> None:
    """Start a blocking scheduler and serve until SIGTERM or SIGINT, which stop it gracefully: no new job
    starts, a running crawl is asked to stop, the running job finishes, then the lock is released.

    Raises :class:`~jobtrend.locks.SchedulerLocked` when another scheduler runs against the database.
    """
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        if stopping:
            logger.warning("already stopping; waiting for the running job to finish")
            return
        stopping = True
        logger.warning("received %s: stopping after the running job", signal.Signals(signum).name)
        jobs.request_stop()
        if scheduler.state != STATE_STOPPED:
            scheduler.shutdown(wait=True)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        scheduler.jobtrend_lock.release()
    if scheduler.jobtrend_lock_lost:
        raise SchedulerLocked("this scheduler stopped: another jobtrend scheduler took the database's lock while "
                              "this one's connection to it was gone")
