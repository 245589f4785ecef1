"""The scheduler service, with a real APScheduler: jobs run and are recorded in job_runs, failures are recorded
and do not stop the scheduler, one scheduler per database, the schedule survives a restart, signals stop it
cleanly, and a killed scheduler blocks nobody."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner
from sqlalchemy import select, text

from jobtrend.cli import main
from jobtrend.config import SCHEDULER_JOBS, ConfigError, load_config
from jobtrend.db import make_engine, migrate, session_factory
from jobtrend.jobstore import stored_jobs
from jobtrend.locks import SchedulerLock, SchedulerLocked
from jobtrend.models import JobRun
from scheduler.jobs import run_job
from scheduler.service import build_scheduler, mark_stale_runs

ROOT = Path(__file__).resolve().parents[2]
JOBTREND = ROOT / ".venv" / "bin" / "jobtrend"
SOURCES = '[[sources]]\nkind = "ashby"\nkey = "cohere"\ncompany = "Cohere"\n'
FRAMEWORKS = '[[frameworks]]\nslug = "pytorch"\nname = "PyTorch"\ncategory = "deep_learning"\naliases = ["pytorch"]\n'
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _no_env_database(monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    monkeypatch.delenv("JOBTREND_CONFIG_DIR", raising=False)


def write_config(directory: Path, url: str, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(f'[database]\nurl = "{url}"\n{extra}')
    (directory / "sources.toml").write_text(SOURCES)
    (directory / "frameworks.toml").write_text(FRAMEWORKS)
    return directory


def runs(url: str) -> list[JobRun]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(JobRun).order_by(JobRun.id)))
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float = TIMEOUT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def quick(*names: str) -> dict:
    return {name: IntervalTrigger(seconds=1) for name in names}


@pytest.fixture
def config(db_url, tmp_path):
    return load_config(write_config(tmp_path / "config", db_url))


def test_a_scheduled_job_runs_and_is_recorded(config):
    sched = build_scheduler(config, background=True, triggers=quick("trends"))
    sched.start()
    try:
        row = wait_for(lambda: [r for r in runs(config.database_url) if r.job == "trends" and r.status == "ok"],
                       what="an ok trends run")[0]
    finally:
        sched.shutdown(wait=True)
    assert row.finished_at is not None and row.error is None
    assert row.details == {"weeks": 0, "rows": 0}


def test_a_failing_job_is_recorded_and_the_scheduler_goes_on(config):
    (config.config_dir / "alerts.toml").write_text("[[rules]\nbroken")  # a syntax error: the job raises
    sched = build_scheduler(config, background=True, triggers=quick("alerts", "trends"))
    sched.start()
    try:
        failed = wait_for(lambda: [r for r in runs(config.database_url) if r.status == "failed"],
                          what="a failed alerts run")[0]
        wait_for(lambda: [r for r in runs(config.database_url)
                          if r.id > failed.id and r.job == "trends" and r.status == "ok"],
                 what="a later ok trends run")
        assert sched.running
    finally:
        sched.shutdown(wait=True)
    assert failed.job == "alerts"
    assert failed.error.startswith("ConfigError: ") and "alerts.toml" in failed.error
    assert "\n" not in failed.error and failed.finished_at is not None


def test_a_second_scheduler_is_refused_until_the_first_stops(config):
    first = build_scheduler(config, background=True)
    first.start()
    try:
        second = build_scheduler(config, background=True)
        with pytest.raises(SchedulerLocked, match="another jobtrend scheduler is running against this database"):
            second.start()
        assert not second.running
    finally:
        first.shutdown(wait=True)
    third = build_scheduler(config, background=True)
    third.start()
    third.shutdown(wait=True)


def test_restart_keeps_the_schedule_without_duplicates(config):
    first = build_scheduler(config, background=True)
    first.start()
    before = {job.id: job.next_run_time for job in first.get_jobs()}
    first.shutdown(wait=True)
    assert set(before) == {"crawl", "analyze", "trends", "alerts", "deliver", "report", "prune"}
    stored = {job.id: job.next_run_time for job in stored_jobs(config.database_url)}
    assert stored == before

    second = build_scheduler(config, background=True)
    second.start()
    try:
        after = {job.id: job.next_run_time for job in second.get_jobs()}
    finally:
        second.shutdown(wait=True)
    assert after == before  # same ids, same next run times (not recomputed from the restart time)
    engine = make_engine(config.database_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM apscheduler_jobs")) == len(SCHEDULER_JOBS)
    engine.dispose()


def test_a_disabled_job_leaves_the_store_and_a_changed_cron_is_rescheduled(config):
    first = build_scheduler(config, background=True)
    first.start()
    first.shutdown(wait=True)
    extra = '[scheduler]\ntimezone = "Europe/Berlin"\n[scheduler.jobs]\ncrawl = false\nreport = ""\n' \
            'deliver = "*/7 * * * *"\n'
    write_config(config.config_dir, config.database_url, extra)
    changed = load_config(config.config_dir)
    second = build_scheduler(changed, background=True)
    second.start()
    try:
        jobs = {job.id: job for job in second.get_jobs()}
    finally:
        second.shutdown(wait=True)
    assert set(jobs) == {"analyze", "trends", "alerts", "deliver", "prune"}
    assert "*/7" in str(jobs["deliver"].trigger)
    assert {j.id for j in stored_jobs(config.database_url)} == set(jobs)


def test_stale_running_rows_are_marked_failed_on_start(config):
    engine = make_engine(config.database_url)
    with session_factory(engine).begin() as session:
        session.add(JobRun(job="crawl", status="running", details={"via": "scheduler", "host": "x", "pid": 1}))
        session.add(JobRun(job="deliver", status="running",
                           details={"via": "cli", "host": socket.gethostname(), "pid": os.getpid()}))
    engine.dispose()
    sched = build_scheduler(config, background=True)
    sched.start()
    sched.shutdown(wait=True)
    by_job = {r.job: r for r in runs(config.database_url)}
    assert by_job["crawl"].status == "failed" and by_job["crawl"].error.startswith("Interrupted")
    assert by_job["deliver"].status == "running"  # a live run-job process is not touched
    assert mark_stale_runs(config.database_url) == 0



def test_crawl_timeout_and_failure_are_recorded(config, monkeypatch):
    import scheduler.jobs as jobs_module

    slow = write_config(config.config_dir, config.database_url, "[scheduler]\ncrawl_timeout_seconds = 1\n")
    monkeypatch.setattr(jobs_module, "CRAWL_COMMAND", (sys.executable, "-c", "import time; time.sleep(60)"))
    assert run_job("crawl", str(slow)) == "failed"
    monkeypatch.setattr(jobs_module, "CRAWL_COMMAND", (sys.executable, "-c", "raise SystemExit(3)"))
    assert run_job("crawl", str(slow)) == "failed"
    timeout, failed = runs(config.database_url)
    assert timeout.error.startswith("CrawlTimeout: the crawl ran longer than 1 s")
    assert failed.error.startswith("CrawlFailed: ") and "status 3" in failed.error


# --- the command line -------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_config(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobtrend.db'}"
    migrate(url)
    return load_config(write_config(tmp_path / "config", url))


def start_cli_scheduler(config) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("JOBTREND_DATABASE_URL",)}
    env["JOBTREND_CONFIG_DIR"] = str(config.config_dir)
    proc = subprocess.Popen([str(JOBTREND), "scheduler", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "stop with SIGTERM" in line:
            return proc
    proc.kill()
    raise AssertionError("the scheduler did not start:\n" + "".join(lines))


def lock_is_free(config) -> bool:
    try:
        with SchedulerLock(config.database_url):
            return True
    except SchedulerLocked:
        return False


def test_cli_scheduler_stops_on_sigterm_and_releases_the_lock(sqlite_config):
    proc = start_cli_scheduler(sqlite_config)
    try:
        assert not lock_is_free(sqlite_config)
        result = CliRunner().invoke(main, ["--config-dir", str(sqlite_config.config_dir), "scheduler", "run"])
        assert result.exit_code == 1
        assert "another jobtrend scheduler is running against this database" in result.output
        assert "stop it first" in result.output
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "scheduler stopped" in out
    assert lock_is_free(sqlite_config)


def test_a_killed_scheduler_does_not_block_the_next_one(sqlite_config):
    proc = start_cli_scheduler(sqlite_config)
    proc.kill()  # SIGKILL: no cleanup at all; the lock file stays, the flock goes with the process
    proc.wait(timeout=TIMEOUT)
    database = Path(sqlite_config.database_url.removeprefix("sqlite:///"))
    assert (database.parent / f".{database.name}.locks" / "scheduler.lock").exists()
    # A row such a scheduler leaves behind when killed mid-job stays 'running' until the next start.
    engine = make_engine(sqlite_config.database_url)
    with session_factory(engine).begin() as session:
        session.add(JobRun(job="crawl", status="running",
                           details={"via": "scheduler", "host": socket.gethostname(), "pid": proc.pid}))
    engine.dispose()
    sched = build_scheduler(sqlite_config, background=True)
    sched.start()
    sched.shutdown(wait=True)
    [row] = runs(sqlite_config.database_url)
    assert row.status == "failed" and row.finished_at is not None


def test_status_lists_jobs_and_runs_while_a_scheduler_runs(sqlite_config):
    runner = CliRunner()
    args = ["--config-dir", str(sqlite_config.config_dir), "scheduler"]
    result = runner.invoke(main, [*args, "status"])
    assert result.exit_code == 0, result.output
    assert "no jobs stored" in result.output
    result = runner.invoke(main, [*args, "run-job", "trends"])
    assert result.exit_code == 0, result.output
    assert "trends: ok" in result.output
    proc = start_cli_scheduler(sqlite_config)
    try:
        result = runner.invoke(main, [*args, "status"])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=TIMEOUT)
    assert result.exit_code == 0, result.output
    for job in SCHEDULER_JOBS:
        assert job in result.output
    assert "0 */6 * * *" in result.output and " ok " in result.output  # the cron text, whole


def test_run_job_failure_exits_1(sqlite_config):
    (sqlite_config.config_dir / "alerts.toml").write_text("not toml [")
    result = CliRunner().invoke(main, ["--config-dir", str(sqlite_config.config_dir), "scheduler", "run-job",
                                       "alerts"])
    assert result.exit_code == 1
    assert "job alerts failed: ConfigError:" in result.output


# --- configuration ----------------------------------------------------------------------------------------


def test_scheduler_defaults(tmp_path):
    settings = load_config(write_config(tmp_path / "c", "sqlite:///x.db")).scheduler
    assert settings.timezone == "UTC" and settings.misfire_grace_seconds == 3600
    assert settings.crawl_timeout_seconds == 3 * 3600
    assert settings.enabled_jobs()["report"] == "0 7 * * mon"


@pytest.mark.parametrize(("extra", "key", "expected"), [
    ('[scheduler]\ntimezone = "Mars/Olympus"\n', "scheduler.timezone", "IANA time zone"),
    ('[scheduler.jobs]\ncrawl = "0 */6 * *"\n', "scheduler.jobs.crawl", "Wrong number of fields"),
    ('[scheduler.jobs]\ntrends = "61 * * * *"\n', "scheduler.jobs.trends", "5-field cron expression"),
    ('[scheduler.jobs]\nreport = "0 7 * * 1"\n', "scheduler.jobs.report", "day-of-week names"),
    ('[scheduler.jobs]\nreport = true\n', "scheduler.jobs.report", "or false to disable"),
    ('[scheduler.jobs]\ncleanup = "* * * * *"\n', "scheduler.jobs.cleanup", "one of"),
    ('[scheduler]\nmisfire_grace_seconds = 0\n', "scheduler.misfire_grace_seconds", "at least 1"),
    ('[scheduler]\ncrawl_timeout_seconds = "3h"\n', "scheduler.crawl_timeout_seconds", "an integer"),
])
def test_bad_scheduler_settings_name_the_key(tmp_path, extra, key, expected):
    directory = write_config(tmp_path / "c", "sqlite:///x.db", extra)
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    assert info.value.key == key
    assert expected in str(info.value)


def test_disabled_jobs_and_time_zone(tmp_path):
    extra = '[scheduler]\ntimezone = "Europe/Berlin"\n[scheduler.jobs]\ncrawl = false\nreport = ""\n'
    settings = load_config(write_config(tmp_path / "c", "sqlite:///x.db", extra)).scheduler
    assert settings.timezone == "Europe/Berlin"
    assert list(settings.enabled_jobs()) == ["analyze", "trends", "alerts", "deliver", "prune"]


MONDAY_7 = '[scheduler]\ntimezone = "{tz}"\n[scheduler.jobs]\nreport = "{cron}"\n'


@pytest.mark.parametrize("tz, cron, warned", [
    ("UTC", "0 7 * * mon", False),
    ("Europe/Berlin", "0 7 * * mon", False),
    ("America/Los_Angeles", "0 7 * * mon", False),
    ("Asia/Tokyo", "0 7 * * mon", True),  # Sunday 22:00 UTC: the UTC week has not ended
    ("Asia/Tokyo", "0 10 * * mon", False),
    ("Pacific/Auckland", "0 7 * * mon", True),
    ("Asia/Tokyo", "", False),  # no report job
])
def test_a_report_run_before_the_utc_week_ends_is_warned_about(tmp_path, tz, cron, warned):
    from scheduler.service import report_timing_warning

    settings = load_config(write_config(tmp_path / "c", "sqlite:///x.db", MONDAY_7.format(tz=tz, cron=cron))).scheduler
    warning = report_timing_warning(settings, now=dt.datetime(2026, 11, 26, 3, tzinfo=dt.UTC))
    assert (warning is not None) == warned
    if warned:
        assert f"Mon 07:00 {tz}" in warning and "Schedule it after Monday 00:00 UTC" in warning


def test_a_report_missed_while_the_scheduler_was_down_runs_when_it_is_back(config):
    sched = build_scheduler(config, background=True)
    assert sched.get_job("report").misfire_grace_time == 6 * 86400  # the other jobs keep misfire_grace_seconds
    assert sched.get_job("trends").misfire_grace_time == config.scheduler.misfire_grace_seconds
    sched.start(paused=True)
    try:
        # as the stored schedule looks after the scheduler was down over Monday 07:00: two days late, far past
        # misfire_grace_seconds (an hour), within the report's six days
        sched.modify_job("report", next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
        sched.resume()
        wait_for(lambda: any(r.job == "report" and r.status != "running" for r in runs(config.database_url)),
                 what="the missed report run")
    finally:
        sched.shutdown(wait=True)
    assert [r.status for r in runs(config.database_url) if r.job == "report"] == ["ok"]
