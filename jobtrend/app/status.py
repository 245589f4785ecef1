"""``status``: one read-only pass over the database that says what the system is doing.

:func:`status` returns a :class:`Status` (plain data, JSON-ready through :meth:`Status.as_dict`); the command
line renders it as one screen of text (:mod:`jobtrend.cli.status`). Nothing here writes, and the database URL
is shown without its password.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from alembic.script import ScriptDirectory
from sqlalchemy import case, func, inspect, select, text
from sqlalchemy.engine import make_url

from analysis.classify import pending_count
from analysis.mentions import stale_count, taxonomy_version
from jobtrend.config import Config
from jobtrend.db import alembic_config, make_engine, open_engine, session_factory
from jobtrend.health import HEALTH_ORDER
from jobtrend.jobstore import StoredJob, stored_jobs
from jobtrend.models import Classification, CrawlRun, JobRun, Outbox, Posting, Report, SchedulerHeartbeat, Source
from jobtrend.output import plain
from jobtrend.redact import redact_url
from jobtrend.weeks import iso_week_label, utcnow

TROUBLED = ("gone", "failing", "zero_yield")
WORST_SOURCES = 5
STALE_BEATS = 3  # a heartbeat older than this many intervals: the scheduler is not running


@dataclasses.dataclass
class Status:
    """Everything `jobtrend status` shows; empty lists and None where there is nothing yet."""

    database: dict[str, Any]
    initialised: bool = False
    postings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    crawls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    worst_sources: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    model: dict[str, Any] = dataclasses.field(default_factory=dict)
    taxonomy: dict[str, Any] = dataclasses.field(default_factory=dict)
    last_report: dict[str, Any] | None = None
    outbox: dict[str, Any] = dataclasses.field(default_factory=dict)
    scheduler: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self), default=plain))



def model_version(path: Path) -> str | None:
    """The version stored in a saved role model, read from the archive's small header alone (the model's arrays
    are not loaded)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("header.npy") as member:
            header = json.loads(str(np.lib.format.read_array(member, allow_pickle=False)))
        return str(header["version"])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def status(config: Config) -> Status:
    """Read the status of the database and model named by ``config`` (a :class:`jobtrend.config.Config`)."""
    url = config.database_url
    status = Status(database={"url": redact_url(url), "dialect": make_url(url).get_backend_name(),
                              "revision": None, "head": _head_revision()})
    try:
        engine = make_engine(url, read_only=True)
    except FileNotFoundError:
        return status
    try:
        tables = set(inspect(engine).get_table_names())
        status.initialised = "postings" in tables
        if not status.initialised:
            return status
        with engine.connect() as conn:
            status.database["revision"] = conn.scalar(text("select version_num from alembic_version"))
            status.postings = _postings(conn)
            status.crawls = _crawls(conn)
            status.worst_sources = _worst_sources(conn)
            status.last_report = _last_report(conn)
            status.outbox = _outbox(conn)
            status.scheduler["last_runs"] = _last_runs(conn) if "job_runs" in tables else []
            status.scheduler["state"] = (_scheduler_state(conn) if SchedulerHeartbeat.__tablename__ in tables
                                         else {"running": False, "since": None})
        status.model, status.taxonomy = _model_and_taxonomy(engine, config)
    finally:
        engine.dispose()
    jobs = _stored_jobs(url) if "apscheduler_jobs" in tables else []
    status.scheduler["jobs"] = mark_overdue(jobs, status.scheduler["state"]["running"])
    return status


def _head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _postings(conn) -> list[dict]:
    week_ago = utcnow() - dt.timedelta(days=7)
    query = (select(Source.kind, func.count(Posting.id), func.sum(case((Posting.closed_at.is_(None), 1), else_=0)),
                    func.sum(case((Posting.first_seen_at >= week_ago, 1), else_=0)))
             .join(Source, Source.id == Posting.source_id).group_by(Source.kind).order_by(Source.kind))
    return [{"source_kind": kind, "total": total, "open": int(n_open or 0), "last_7_days": int(recent or 0)}
            for kind, total, n_open, recent in conn.execute(query)]


def _crawls(conn) -> list[dict]:
    last = dict(conn.execute(select(Source.kind, func.max(CrawlRun.started_at))
                             .join(Source, Source.id == CrawlRun.source_id).group_by(Source.kind)).all())
    health: dict[str, dict[str, int]] = {}
    for kind, state, n in conn.execute(select(Source.kind, Source.health, func.count()).where(Source.enabled)
                                       .group_by(Source.kind, Source.health)):
        health.setdefault(kind, {})[state] = n
    return [{"source_kind": kind, "last_crawl": last.get(kind), "sources": sum(health.get(kind, {}).values()),
             "health": dict(sorted(health.get(kind, {}).items(), key=lambda kv: HEALTH_ORDER.get(kv[0], 9)))}
            for kind in sorted(set(last) | set(health))]


def _worst_sources(conn) -> list[dict]:
    rows = conn.execute(select(Source.kind, Source.key, Source.health, Source.health_since,
                               Source.consecutive_failures, Source.last_error)
                        .where(Source.enabled, Source.health.in_(TROUBLED))).all()
    rows = sorted(rows, key=lambda r: (HEALTH_ORDER.get(r.health, 9), -(r.consecutive_failures or 0), r.kind, r.key))
    return [{"source": f"{r.kind}:{r.key}", "health": r.health, "since": r.health_since,
             "failures": r.consecutive_failures, "last_error": (r.last_error or "")[:80]}
            for r in rows[:WORST_SOURCES]]


def _last_report(conn) -> dict | None:
    row = conn.execute(select(Report.period_start, Report.generated_at).order_by(Report.period_start.desc())
                       .limit(1)).first()
    if row is None:
        return None

    return {"week": iso_week_label(row.period_start), "period_start": row.period_start,
            "generated_at": row.generated_at}


def _outbox(conn) -> dict:
    counts = dict(conn.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    oldest = conn.scalar(select(func.min(Outbox.created_at)).where(Outbox.status == "pending"))
    return {"pending": counts.get("pending", 0), "failed": counts.get("failed", 0), "sent": counts.get("sent", 0),
            "oldest_pending": oldest}


def _last_runs(conn) -> list[dict]:
    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    rows = conn.execute(select(JobRun.job, JobRun.started_at, JobRun.finished_at, JobRun.status, JobRun.error)
                        .join(latest, latest.c.id == JobRun.id).order_by(JobRun.job)).all()
    return [{"job": r.job, "started_at": r.started_at, "finished_at": r.finished_at, "status": r.status,
             "error": (r.error or "")[:80] or None} for r in rows]


def _scheduler_state(conn, now: dt.datetime | None = None) -> dict:
    """Whether a scheduler serves this database, from its heartbeat (:mod:`scheduler.heartbeat`): running (pid,
    host, since its start) while its last beat is younger than :data:`STALE_BEATS` intervals; otherwise not
    running since it stopped or last beat (``since`` None: no scheduler ever ran here)."""
    table = SchedulerHeartbeat.__table__
    beat = conn.execute(select(table).order_by(table.c.id.desc()).limit(1)).first()
    if beat is None:
        return {"running": False, "since": None}
    now = now or utcnow()
    fresh = now - beat.beat_at <= dt.timedelta(seconds=STALE_BEATS * beat.interval_seconds)
    running = beat.stopped_at is None and fresh
    return {"running": running, "pid": beat.pid, "host": beat.host, "started_at": beat.started_at,
            "beat_at": beat.beat_at, "since": beat.started_at if running else (beat.stopped_at or beat.beat_at),
            "stopped": beat.stopped_at is not None}


def scheduler_state(config: Config) -> dict:
    """The scheduler's state from its heartbeat (see :func:`_scheduler_state`); not running, ``since`` None, when
    the database has no heartbeat table yet."""
    with open_engine(config.database_url) as engine:
        if not inspect(engine).has_table(SchedulerHeartbeat.__tablename__):
            return {"running": False, "since": None}
        with engine.connect() as conn:
            return _scheduler_state(conn)


def mark_overdue(jobs: list[dict], running: bool, now: dt.datetime | None = None) -> list[dict]:
    """The stored jobs, each with ``overdue``: its next run time has passed while no scheduler runs."""
    now = now or utcnow()
    return [job | {"overdue": not running and job["next_run_time"] is not None and job["next_run_time"] < now}
            for job in jobs]


def _stored_jobs(url: str) -> list[dict]:
    return [{"id": j.id, "next_run_time": j.next_run_time, "trigger": j.trigger} for j in stored_jobs(url)]


def _model_and_taxonomy(engine, config) -> tuple[dict, dict]:
    path = Path(config.model_path)
    exists = path.exists()
    version = model_version(path) if exists else None
    with engine.connect() as conn:
        classified = dict(conn.execute(select(Classification.model_version, func.count())
                                       .group_by(Classification.model_version)).all())
    model = {"path": str(path), "version": version, "exists": exists,
             "classified_by_version": classified,
             "awaiting_classification": pending_count(engine, version) if version else None}
    taxonomy = taxonomy_version(config.frameworks)
    return model, {"version": taxonomy, "frameworks": len(config.frameworks),
                   "awaiting_analysis": stale_count(engine, taxonomy)}


def job_runs(config: Config, *, limit: int = 10, job: str | None = None) -> list[JobRun]:
    """The latest ``job_runs`` rows, newest first (``job``: of that job only), detached from the session."""
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job is not None:
        query = query.where(JobRun.job == job)
    with open_engine(config.database_url) as engine, session_factory(engine)() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows


def scheduled_jobs(config: Config) -> list[StoredJob]:
    """The jobs the scheduler stored, soonest first (none: it has never run against this database)."""
    return stored_jobs(config.database_url)
