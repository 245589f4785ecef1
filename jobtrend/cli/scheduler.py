"""`jobtrend scheduler run|status|run-job`: the scheduled service (scheduler/service.py) and its records."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import click
from apscheduler.events import EVENT_SCHEDULER_STARTED

from jobtrend.app.status import job_runs, scheduled_jobs
from jobtrend.cli import AppContext, pass_app
from jobtrend.config import SCHEDULER_JOBS
from jobtrend.locks import SchedulerLocked
from jobtrend.output import render
from scheduler.jobs import run_job
from scheduler.service import build_scheduler, run_forever

RUN_COLUMNS = ("id", "job", "status", "started_at", "finished_at", "error", "details")


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
@pass_app
def run(app: AppContext) -> None:
    """Start the scheduler in the foreground; SIGTERM or Ctrl-C stops it after the running job finishes.

    Only one scheduler may run against a database (a lock: a PostgreSQL advisory lock, or a lock file next to
    the SQLite file); a second one exits with status 1. Jobs are stored in the apscheduler_jobs table, so a
    restart keeps the schedule.

    \b
    Example:
        jobtrend scheduler run
        jobtrend -v scheduler run     # log each job's start and result
    """
    config = app.db_config
    sched = build_scheduler(config)
    tz = ZoneInfo(config.scheduler.timezone)

    def started(_event) -> None:
        lines = [(job.id, _when(job.next_run_time, tz), str(job.trigger)) for job in sched.get_jobs()]
        click.echo(f"scheduler started (pid {os.getpid()}, time zone {config.scheduler.timezone})")
        click.echo(render(("job", "next run", "trigger"), lines))
        click.echo("stop with SIGTERM or Ctrl-C")

    sched.add_listener(started, EVENT_SCHEDULER_STARTED)
    try:
        run_forever(sched)
    except SchedulerLocked as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("scheduler stopped")


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
    jobs = scheduled_jobs(config)
    if jobs:
        click.echo(render(("job", "next run", "trigger"),
                          [(j.id, _when(j.next_run_time, tz), j.description) for j in jobs]))
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


def _details(details) -> str:
    if not details:
        return ""
    return ", ".join(f"{k}={v}" for k, v in details.items() if k not in ("via", "host", "pid")) or (
        f"pid {details.get('pid')} on {details.get('host')}")


@scheduler.command("run-job")
@click.argument("name", type=click.Choice(SCHEDULER_JOBS))
@pass_app
def run_job_command(app: AppContext, name: str) -> None:
    """Run one scheduled job now, recorded in job_runs like a scheduled run; exit status 1 when it fails.

    It does not take the scheduler lock: it can run while the scheduler serves. It takes the job's own lock, so
    a job the scheduler (or another run-job) is running is not started twice: it exits 1 saying so.

    \b
    Example:
        jobtrend scheduler run-job deliver
        jobtrend -v scheduler run-job crawl
    """
    config = app.db_config
    outcome = run_job(name, config, via="cli")
    if outcome == "skipped":
        raise click.ClickException(f"job {name} not started: it is already running against this database (the "
                                   "scheduler or another run-job; `jobtrend scheduler status` shows it)")
    row = next(iter(job_runs(config, limit=1, job=name)), None)
    if row is not None:
        click.echo(f"{name}: {row.status} ({_details(row.details) or row.error or ''})")
    if outcome != "ok":
        raise click.ClickException(f"job {name} {outcome}" + (f": {row.error}" if row is not None and row.error
                                                              else ""))
