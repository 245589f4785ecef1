"""`jobtrend scheduler run|status|run-job`: the scheduled service (scheduler/service.py) and its records."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from zoneinfo import ZoneInfo

import click

from jobtrend.app.status import job_runs, mark_overdue, scheduled_jobs, scheduler_state
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.status import scheduler_line
from jobtrend.config import SCHEDULER_JOBS
from jobtrend.locks import SchedulerLocked
from jobtrend.logs import FORMATS, use_format
from jobtrend.output import render
from scheduler.jobs import run_job
from scheduler.service import build_scheduler, run_forever

RUN_COLUMNS = ("id", "job", "status", "started_at", "finished_at", "error", "details")
CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")


@click.group()
def scheduler() -> None:
    """Run the pipeline on a schedule: crawl, analyze, trends, alerts, deliver, weekly report.

    Schedules are cron expressions in [scheduler.jobs] of jobtrend.toml; see docs/operations.md.

    \b
    Example:
        jobtrend scheduler run            # serve until SIGTERM / Ctrl-C
        jobtrend scheduler status         # jobs, next run times, the last runs
        jobtrend scheduler run-job trends # run one job now
    """


def _when(moment: dt.datetime | None, tz) -> str:
    if moment is None:
        return "paused"
    return moment.astimezone(tz).isoformat(sep=" ", timespec="seconds")


@scheduler.command()
@click.option("-q", "--quiet", is_flag=True,
              help="Print nothing but errors: no start and stop lines, and log at ERROR level only.")
@click.option("--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Log lines as text, or as one JSON object per line (time, level, logger, message, "
                   "traceback) for a log collector; the start and stop lines are JSON objects too.")
@pass_app
def run(app: AppContext, quiet: bool, log_format: str) -> None:
    """Start the scheduler in the foreground; SIGTERM or Ctrl-C stops it after the running job finishes.

    Only one scheduler may run against a database (a lock: a PostgreSQL advisory lock, or a lock file next to
    the SQLite file); a second one exits with status 1. Jobs are stored in the apscheduler_jobs table, so a
    restart keeps the schedule. While it runs it writes a heartbeat (pid, host, start, a beat every
    scheduler.heartbeat_seconds) that `jobtrend status` and `jobtrend scheduler status` read. It logs to
    [logging] file (data/logs/jobtrend.log by default), tracebacks included, and so does its crawl; the console
    names the file instead of printing tracebacks (docs/operations.md).

    \b
    Example:
        jobtrend scheduler run
        jobtrend -v scheduler run     # log each job's start and result
        jobtrend scheduler run --quiet --log-format json   # under systemd, into a log collector
    """
    if quiet:
        logging.getLogger().setLevel(logging.ERROR)
    use_format(log_format)
    app.service = True  # the log file of [logging] (docs/operations.md)
    config = app.db_config
    say = _announcer(quiet, log_format)
    sched = build_scheduler(config, on_started=lambda started: say("scheduler started",
                                                                   _start_lines(started, config)))
    try:
        run_forever(sched)
    except SchedulerLocked as exc:
        raise click.ClickException(str(exc)) from None
    say("scheduler stopped", {})


def _start_lines(sched, config) -> dict:
    tz = ZoneInfo(config.scheduler.timezone)
    return {"pid": os.getpid(), "timezone": config.scheduler.timezone,
            "jobs": [{"job": job.id, "next_run": _when(job.next_run_time, tz), "cron": cron_text(str(job.trigger))}
                     for job in sched.get_jobs()]}


def _announcer(quiet: bool, log_format: str):
    """How `scheduler run` says it started and stopped: text lines, a JSON object per event, or nothing."""
    def say(event: str, facts: dict) -> None:
        if quiet:
            return
        if log_format == "json":
            click.echo(json.dumps({"event": event.replace(" ", "_"), **facts}))
            return
        if not facts:
            click.echo(event)
            return
        click.echo(f"{event} (pid {facts['pid']}, time zone {facts['timezone']})")
        click.echo(render(("job", "next run", "cron"), [tuple(job.values()) for job in facts["jobs"]]))
        click.echo("stop with SIGTERM or Ctrl-C")
    return say


@scheduler.command()
@click.option("--runs", type=click.IntRange(min=0), default=10, show_default=True, help="Recent job_runs to list.")
@pass_app
def status(app: AppContext, runs: int) -> None:
    """List the stored jobs with their next run time, and the latest job_runs.

    Reads the database only, so it works while the scheduler runs (here or on another machine).

    \b
    Example:
        jobtrend scheduler status
        jobtrend scheduler status --runs 30
    """
    config = app.db_config
    tz = ZoneInfo(config.scheduler.timezone)
    state = scheduler_state(config)
    click.echo(f"scheduler {scheduler_line(state)}")
    jobs = mark_overdue([{"id": j.id, "next_run_time": j.next_run_time, "cron": cron_text(j.description)}
                         for j in scheduled_jobs(config)], state["running"])
    if jobs:
        click.echo(render(("job", "next run", "cron", ""),
                          [(j["id"], _when(j["next_run_time"], tz), j["cron"], "OVERDUE" if j["overdue"] else "")
                           for j in jobs]))
        if any(j["overdue"] for j in jobs):
            click.echo("OVERDUE: its run time has passed and no scheduler is running: start one with "
                       "`jobtrend scheduler run`")
    else:
        click.echo("no jobs stored: the scheduler has never run against this database (`jobtrend scheduler run`)")
    if not runs:
        return
    rows = job_runs(config, limit=runs)
    click.echo("")
    if not rows:
        click.echo("no job runs yet")
        return
    click.echo(render(RUN_COLUMNS, [(r.id, r.job, r.status, _when(r.started_at, tz),
                                     _when(r.finished_at, tz) if r.finished_at else "", r.error or "",
                                     _details(r.details)) for r in rows]))


def cron_text(trigger: str) -> str:
    """A stored cron trigger as its crontab text, "0 */6 * * *" (APScheduler shows it as "cron[month='*', ...]",
    too long for a table cell); any other trigger as it is."""
    fields = dict(re.findall(r"(\w+)='([^']*)'", trigger)) if trigger.startswith("cron[") else {}
    if not fields:
        return trigger
    return " ".join(fields.get(name, "*") for name in CRON_FIELDS)


def _details(details) -> str:
    if not details:
        return ""
    return ", ".join(f"{k}={v}" for k, v in details.items() if k not in ("via", "host", "pid")) or (
        f"pid {details.get('pid')} on {details.get('host')}")


@scheduler.command("run-job")
@click.argument("name", type=click.Choice(SCHEDULER_JOBS))
@pass_app
def run_job_command(app: AppContext, name: str) -> None:
    """Run one scheduled job now, recorded in job_runs like a scheduled run; exit status 1 when it fails (a crawl
    fails when no source ended ok; some sources failing make it partial, exit status 0).

    It does not take the scheduler lock: it can run while the scheduler serves. It takes the job's own lock, so
    a job the scheduler (or another run-job) is running is not started twice: it exits 1 saying so.

    \b
    Example:
        jobtrend scheduler run-job deliver
        jobtrend -v scheduler run-job crawl
    """
    app.service = True  # the log file of [logging], as the scheduler's own runs
    config = app.db_config
    outcome = run_job(name, config, via="cli")
    if outcome == "skipped":
        raise click.ClickException(f"job {name} not started: it is already running against this database (the "
                                   "scheduler or another run-job; `jobtrend scheduler status` shows it)")
    row = next(iter(job_runs(config, limit=1, job=name)), None)
    if row is not None:
        facts = "; ".join(part for part in (_details(row.details), row.error or "") if part)
        click.echo(f"{name}: {row.status}" + (f" ({facts})" if facts else ""))
    if outcome not in ("ok", "partial"):  # partial: some sources failed, as `jobtrend crawl` exits 0
        raise click.ClickException(f"job {name} {outcome}" + (f": {row.error}" if row is not None and row.error
                                                              else ""))
