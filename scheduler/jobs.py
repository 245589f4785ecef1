"""The scheduled jobs: one function per pipeline step, and :func:`run_job`, which records each run in ``job_runs``.

Every job takes the :class:`~jobtrend.config.Config` and returns a small dict of counts (stored as
``job_runs.details``). :func:`run_job` is what the scheduler calls, by reference (``scheduler.jobs:run_job``)
with plain arguments ``(name, config_dir)``: the job store pickles the call, so the configuration is loaded
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
from pathlib import Path
from typing import Any

from jobtrend.config import SCHEDULER_JOBS, Config, load_config
from jobtrend.locks import JobLock, JobLocked
from jobtrend.messages import error_line
from jobtrend.progress import bars_off

logger = logging.getLogger(__name__)

CRAWL_COMMAND = (sys.executable, "-m", "crawler.run")

_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_stopping = threading.Event()
_lock_guard: Callable[[], bool] | None = None  # set by a running scheduler: does it still hold its lock?


class CrawlFailed(RuntimeError):
    """The crawl child process exited with an error status."""


class CrawlTimeout(RuntimeError):
    """The crawl child process ran longer than ``scheduler.crawl_timeout_seconds`` and was killed."""


# --- the jobs --------------------------------------------------------------------------------------------


def crawl(config: Config) -> dict[str, Any]:
    """Crawl every enabled source in a child process; counts from the summary it prints as JSON."""
    env = dict(os.environ, JOBTREND_CONFIG_DIR=str(config.config_dir), JOBTREND_DATABASE_URL=config.database_url)
    timeout = config.scheduler.crawl_timeout_seconds
    stdout = _run_child(list(CRAWL_COMMAND), env=env, timeout=timeout)
    try:
        summary = json.loads(stdout)
    except ValueError:
        return {"summary": "unreadable"}
    sources = summary.get("sources", {}).values()
    return {"sources": len(sources),
            "sources_not_ok": sum(1 for s in sources if s.get("status") != "ok"),
            "seen": sum(s.get("seen") or 0 for s in sources),
            "new": sum(s.get("new") or 0 for s in sources),
            "updated": sum(s.get("updated") or 0 for s in sources),
            "elapsed_s": round(summary.get("elapsed_s") or 0, 1)}


def analyze(config: Config) -> dict[str, Any]:
    """Framework mentions, then roles (needs the role model), then duplicate links, as `jobtrend analyze` and
    `jobtrend dedupe` do."""
    from analysis.classifier import RoleModel
    from jobtrend.cli.classifier import run_classify
    from jobtrend.cli.dedupe import run_dedupe
    from jobtrend.cli.pipeline import run_analysis

    mentions = run_analysis(config)
    classified = run_classify(config, RoleModel.load(config.model_path))  # ModelError when there is no model
    deduped = run_dedupe(config)
    return {"analyzed": mentions.analyzed, "mentions": mentions.mentions, "classified": classified.classified,
            "ai_roles": classified.ai_roles, "duplicates": deduped.duplicates, "duplicates_changed": deduped.changed}


def trends(config: Config) -> dict[str, Any]:
    """Recompute the trend points of the weeks touched since the last run."""
    from analysis.trends import compute_trends

    with _engine(config) as engine:
        result = compute_trends(engine)
    return {"weeks": len(result.weeks), "rows": result.rows}


ALERT_WEEKS = 2  # only alerts of the current week and the two before it: a first run does not notify history


def alerts(config: Config) -> dict[str, Any]:
    """Evaluate config/alerts.toml over the recent weeks; store new alerts and queue their notifications."""
    from analysis.alerts import evaluate_alerts, load_alert_rules, rules_path

    rules = load_alert_rules(rules_path(config.config_dir), frameworks=[f.slug for f in config.frameworks])
    if not rules:
        return {"rules": 0, "fired": 0, "new": 0}
    with _engine(config) as engine:
        fired = evaluate_alerts(engine, rules, weeks=ALERT_WEEKS, notify_settings=config.notify)
    return {"rules": len(rules), "fired": len(fired), "new": sum(1 for a in fired if a.new)}


def deliver(config: Config) -> dict[str, Any]:
    """Send the outbox rows that are due."""
    from analysis.notify import deliver_pending

    with _engine(config) as engine:
        result = deliver_pending(engine, config.notify)
    return {"sent": result.sent, "retried": result.retried, "failed": result.failed}


def report(config: Config) -> dict[str, Any]:
    """Build, queue (for every configured recipient; none: nothing queued) and store the report of the last
    complete week, once: a week already in ``reports`` is skipped."""
    from sqlalchemy import select

    from analysis.report import build_report, queue_report, store_report
    from jobtrend.models import Report
    from jobtrend.weeks import iso_week_label, last_complete_week

    week = last_complete_week()
    with _engine(config) as engine:
        with engine.connect() as conn:
            if conn.scalar(select(Report.id).where(Report.period_start == week)) is not None:
                return {"week": iso_week_label(week), "stored": False, "queued": 0}
        built = build_report(engine, week)
        # Queue first: the outbox's dedupe key makes queueing twice a no-op, so a run that dies between the
        # two steps queues nothing twice and is completed by the next run (the week is not stored yet).
        queued = queue_report(engine, config.notify, built)
        stored = store_report(engine, built)
    return {"week": built.label, "stored": stored, "queued": queued}


def prune(config: Config) -> dict[str, Any]:
    """Thin out the service's own history older than ``[retention] days`` (:mod:`jobtrend.retention`)."""
    from jobtrend.retention import prune_history

    with _engine(config) as engine:
        result = prune_history(engine, config.retention.days)
    return {"outbox_emptied": result.outbox_emptied, "job_runs_deleted": result.job_runs_deleted}


JOBS: dict[str, Callable[[Config], dict[str, Any]]] = {
    "crawl": crawl, "analyze": analyze, "trends": trends, "alerts": alerts, "deliver": deliver, "report": report,
    "prune": prune,
}
assert tuple(JOBS) == SCHEDULER_JOBS


# --- running and recording ------------------------------------------------------------------------------


def run_job(name: str, config: Config | str | Path, *, via: str = "scheduler") -> str:
    """Run job ``name`` and record it in ``job_runs``; return the status ("ok", "failed" or "skipped").

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


def _run_recorded(name: str, func: Callable[[Config], dict[str, Any]], config: Config, via: str) -> str:
    """Run one job between a ``running`` job_runs row and its outcome (the job's lock is held)."""
    try:
        run_id = _record_start(config, name, via)
    except Exception:
        logger.exception("job %s: cannot record its start in job_runs; not run", name)
        return "failed"
    logger.info("job %s started (job_runs id %s)", name, run_id)
    try:
        with bars_off():  # a job logs; a progress bar redrawn among the log lines would garble them
            details = func(config)
    except BaseException as exc:  # noqa: BLE001 - a job's failure is recorded, never raised into the scheduler
        if not isinstance(exc, Exception):
            logger.error("job %s interrupted: %s", name, error_line(exc))
        else:
            logger.exception("job %s failed", name)
        _record_end(config, run_id, "failed", error=error_line(exc))
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt / SystemExit: recorded, then let the process stop
        return "failed"
    logger.info("job %s ok: %s", name, details)
    _record_end(config, run_id, "ok", details=details)
    return "ok"



class _engine:
    """``with _engine(config) as engine``: a read-write engine, disposed afterwards."""

    def __init__(self, config: Config):
        from jobtrend.db import make_engine

        self.engine = make_engine(config.database_url)

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc):
        self.engine.dispose()


def _record_start(config: Config, name: str, via: str) -> int:
    from jobtrend.db import session_factory
    from jobtrend.models import JobRun

    with _engine(config) as engine, session_factory(engine).begin() as session:
        row = JobRun(job=name, status="running", details={"via": via, "host": socket.gethostname(),
                                                          "pid": os.getpid()})
        session.add(row)
        session.flush()
        return row.id


def _record_end(config: Config, run_id: int, status: str, *, error: str | None = None,
                details: dict | None = None) -> None:
    from sqlalchemy import update

    from jobtrend.models import JobRun
    from jobtrend.weeks import utcnow

    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    if details is not None:
        values["details"] = _plain(details)
    try:
        with _engine(config) as engine, engine.begin() as conn:
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


def clear_stop() -> None:
    """A scheduler is starting in this process: jobs may run again."""
    _stopping.clear()
