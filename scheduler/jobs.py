"""The scheduled jobs: one function per pipeline step, and :func:`run_job`, which records each run in ``job_runs``.

Every job calls one use case of :mod:`jobtrend.app` (the same call the command line makes) with the
:class:`~jobtrend.config.Config`, and returns the result's small dict of counts (stored as ``job_runs.details``).
:func:`run_job` is what the scheduler calls, by reference (``scheduler.jobs:run_job``) with plain arguments
``(name, config_dir)``: the job store pickles the call, so the configuration is loaded
again on every run (an edited jobtrend.toml takes effect at the next run, except the schedule itself).

The crawl runs in a child process (``python -m crawler.run``): the Twisted reactor cannot restart, and a
hung crawl is killed after ``scheduler.crawl_timeout_seconds``. The child gets its own session, so a Ctrl-C in
the terminal reaches only the scheduler, which forwards one SIGTERM (Scrapy's graceful stop) to the child
when it shuts down (:func:`request_stop`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import update

from jobtrend.app.alerts import SCHEDULED_WEEKS
from jobtrend.app.alerts import alerts as evaluate_alerts
from jobtrend.app.analyze import analyze as analyze_postings
from jobtrend.app.crawl import CrawlResult
from jobtrend.app.deliver import deliver as send_due
from jobtrend.app.prune import prune as prune_history
from jobtrend.app.report import scheduled_report
from jobtrend.app.trends import trends as compute_trends
from jobtrend.config import SCHEDULER_JOBS, Config, load_config
from jobtrend.db import open_engine, session_factory
from jobtrend.locks import JobLock, JobLocked
from jobtrend.logs import child_logging_env
from jobtrend.messages import error_line
from jobtrend.models import JobRun
from jobtrend.weeks import utcnow

logger = logging.getLogger(__name__)

# --slice auto: a full crawl that does not fit the crawl interval is spread over several runs (crawler/plan.py)
CRAWL_COMMAND = (sys.executable, "-m", "crawler.run", "--slice", "auto")

_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_stopping = threading.Event()
_lock_guard: Callable[[], bool] | None = None  # set by a running scheduler: does it still hold its lock?


class CrawlFailed(RuntimeError):
    """The crawl child process exited with an error status."""


class CrawlTimeout(RuntimeError):
    """The crawl child process ran longer than ``scheduler.crawl_timeout_seconds`` and was killed."""


@dataclass(frozen=True)
class JobOutcome:
    """What a job returns when it ran but did not simply succeed: ``status`` "partial" or "failed", its counts
    (kept in ``job_runs.details`` either way) and the one line stored as ``job_runs.error``."""

    status: str
    details: dict[str, Any]
    error: str | None = None


# --- the jobs --------------------------------------------------------------------------------------------


def crawl(config: Config) -> dict[str, Any] | JobOutcome:
    """Crawl every enabled source in a child process (holding the crawl lock: :func:`run_job` took it); counts
    from the summary it prints as JSON. As for `jobtrend crawl`: failed when no source ended ok (or the crawl
    could not record its sources), partial when some did not."""
    env = dict(os.environ, JOBTREND_CONFIG_DIR=str(config.config_dir), JOBTREND_DATABASE_URL=config.database_url,
               **child_logging_env())
    stdout = _run_child(list(CRAWL_COMMAND), env=env, timeout=config.scheduler.crawl_timeout_seconds)
    try:
        result = CrawlResult(json.loads(stdout))
    except ValueError:
        return JobOutcome("failed", {"summary": "unreadable"}, "the crawl's summary could not be read")
    if result.outcome == "ok":
        return result.counts()
    return JobOutcome(result.outcome, result.counts(), result.failure or result.reasons_line())


def analyze(config: Config) -> dict[str, Any]:
    """Mentions, roles and duplicate links (:func:`jobtrend.app.analyze.analyze`)."""
    return analyze_postings(config).counts()


def trends(config: Config) -> dict[str, Any]:
    """Recompute the trend points of the weeks touched since the last run."""
    return compute_trends(config).counts()


def alerts(config: Config) -> dict[str, Any]:
    """Evaluate alerts.toml over the current week and the two before it (a first run does not notify history);
    store new alerts and queue their notifications."""
    return evaluate_alerts(config, weeks=SCHEDULED_WEEKS).counts()


def deliver(config: Config) -> dict[str, Any]:
    """Send the outbox rows that are due."""
    result = send_due(config)
    return {"sent": result.sent, "retried": result.retried, "failed": result.failed}


def report(config: Config) -> dict[str, Any]:
    """Build, queue (for every configured recipient) and store the report of the last complete week. Whether it
    was sent is read from the outbox: a report previewed earlier with `jobtrend report` is still queued."""
    return scheduled_report(config).counts()


def prune(config: Config) -> dict[str, Any]:
    """Thin out the service's own history older than ``[retention] days`` (:mod:`jobtrend.retention`)."""
    result = prune_history(config)
    return {"outbox_emptied": result.outbox_emptied, "job_runs_deleted": result.job_runs_deleted}


JOBS: dict[str, Callable[[Config], dict[str, Any] | JobOutcome]] = {
    "crawl": crawl, "analyze": analyze, "trends": trends, "alerts": alerts, "deliver": deliver, "report": report,
    "prune": prune,
}
assert tuple(JOBS) == SCHEDULER_JOBS


# --- running and recording ------------------------------------------------------------------------------


def run_job(name: str, config: Config | str | Path, *, via: str = "scheduler") -> str:
    """Run job ``name`` and record it in ``job_runs``; return the status ("ok", "partial", "failed" or
    "skipped"). A job returning a :class:`JobOutcome` is recorded with its status, counts and error.

    The job's lock (:class:`jobtrend.locks.JobLock`) is held while it runs: when another process (the scheduler,
    or ``jobtrend scheduler run-job``) is running the same job against the same database, this run is skipped
    with a warning and no ``job_runs`` row.

    ``config`` is a Config or a configuration directory (loaded here). Nothing escapes: every exception is
    logged with its traceback and stored as one line (``Type: message``). ``via`` ("scheduler" or "cli") is
    kept in the running row's details, with the host and process id, so a scheduler starting after a crash
    can tell its predecessor's unfinished rows (:func:`scheduler.service.mark_stale_runs`).
    """
    if _stopping.is_set():
        logger.warning("job %s not started: the scheduler is stopping", name)
        return "skipped"
    guard = _lock_guard
    if via == "scheduler" and guard is not None and not guard():
        logger.warning("job %s not started: this scheduler does not hold the database's lock", name)
        return "skipped"
    try:
        if not isinstance(config, Config):
            config = load_config(config)
        func = JOBS[name]
    except Exception:
        logger.exception("job %s cannot run", name)
        return "failed"
    lock = JobLock(config.database_url, name)
    try:
        lock.acquire()
    except JobLocked as exc:
        logger.warning("job %s not started: %s", name, exc)
        return "skipped"
    except Exception:
        logger.exception("job %s: cannot take its lock; not run", name)
        return "failed"
    try:
        return _run_recorded(name, func, config, via)
    finally:
        lock.release()


def _run_recorded(name: str, func: Callable[[Config], dict[str, Any] | JobOutcome], config: Config,
                  via: str) -> str:
    """Run one job between a ``running`` job_runs row and its outcome (the job's lock is held)."""
    try:
        run_id = _record_start(config, name, via)
    except Exception:
        logger.exception("job %s: cannot record its start in job_runs; not run", name)
        return "failed"
    logger.info("job %s started (job_runs id %s)", name, run_id)
    try:
        details = func(config)  # no progress bars: a job logs
    except BaseException as exc:  # noqa: BLE001 - a job's failure is recorded, never raised into the scheduler
        if not isinstance(exc, Exception):
            logger.error("job %s interrupted: %s", name, error_line(exc))
        else:
            logger.exception("job %s failed", name)
        _record_end(config, run_id, "failed", error=error_line(exc))
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt / SystemExit: recorded, then let the process stop
        return "failed"
    if isinstance(details, JobOutcome):
        log = logger.error if details.status == "failed" else logger.warning
        log("job %s %s: %s", name, details.status, details.error)
        _record_end(config, run_id, details.status, error=details.error, details=details.details)
        return details.status
    logger.info("job %s ok: %s", name, details)
    _record_end(config, run_id, "ok", details=details)
    return "ok"


def _record_start(config: Config, name: str, via: str) -> int:
    with open_engine(config.database_url) as engine, session_factory(engine).begin() as session:
        row = JobRun(job=name, status="running", details={"via": via, "host": socket.gethostname(),
                                                          "pid": os.getpid()})
        session.add(row)
        session.flush()
        return row.id


def _record_end(config: Config, run_id: int, status: str, *, error: str | None = None,
                details: dict | None = None) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    if details is not None:
        values["details"] = _plain(details)
    try:
        with open_engine(config.database_url) as engine, engine.begin() as conn:
            conn.execute(update(JobRun).where(JobRun.id == run_id).values(**values))
    except Exception:
        logger.exception("job_runs %s: cannot record status %s", run_id, status)


def _plain(details: dict) -> dict:
    """Details as JSON-safe values (dates and other objects as strings)."""
    return json.loads(json.dumps(details, default=str))


# --- the crawl child process ----------------------------------------------------------------------------


def _run_child(cmd: list[str], *, env: dict[str, str], timeout: float) -> str:
    """Run ``cmd`` like ``subprocess.run(cmd, stdout=PIPE, timeout=timeout)`` (stderr, the crawl log, goes to
    ours), registered so :func:`request_stop` can forward a SIGTERM; return its stdout."""
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True) as proc:
        with _children_lock:
            _children.add(proc)
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise CrawlTimeout(f"the crawl ran longer than {timeout:g} s (scheduler.crawl_timeout_seconds) and "
                               "was killed") from None
        except BaseException:
            proc.kill()
            raise
        finally:
            with _children_lock:
                _children.discard(proc)
    if proc.returncode:
        raise CrawlFailed(f"`{' '.join(cmd[1:])}` exited with status {proc.returncode}; its log is in the "
                          "scheduler's output")
    return stdout


def request_stop() -> None:
    """The scheduler is stopping: start no queued job, and ask a running crawl to stop (one SIGTERM: Scrapy
    closes its spiders and records the partial crawl)."""
    _stopping.set()
    with _children_lock:
        children = list(_children)
    for proc in children:
        try:
            proc.send_signal(signal.SIGTERM)
            logger.warning("asked the crawl (pid %s) to stop", proc.pid)
        except ProcessLookupError:
            pass


def set_lock_guard(guard: Callable[[], bool] | None) -> None:
    """A starting scheduler registers the check of its lock (None when it stops): scheduled jobs run only while
    it holds."""
    global _lock_guard
    _lock_guard = guard


def stop_requested() -> bool:
    """Whether the scheduler of this process was asked to stop (:func:`request_stop`)."""
    return _stopping.is_set()


def clear_stop() -> None:
    """A scheduler is starting in this process: jobs may run again."""
    _stopping.clear()
