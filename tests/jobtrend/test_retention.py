"""Pruning the service's history (`jobtrend prune`, the scheduler's prune job), on SQLite and PostgreSQL: sent
outbox rows lose their content but keep their dedupe key, old finished job runs go except each job's latest,
and nothing else is touched."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select, update

from analysis.notify import enqueue
from jobtrend.config import ConfigError, load_config
from jobtrend.models import JobRun, Outbox
from jobtrend.retention import prune_history
from jobtrend.weeks import utcnow
from scheduler.jobs import run_job
from tests.jobtrend.test_config import invoke_cli, write_config

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=120)
RECENT = NOW - dt.timedelta(days=10)
IMAGE = [{"cid": "shares", "mime": "image/png", "data": "iVBORw0KGgo="}]


def _message(engine, key: str, *, status: str, at: dt.datetime, channel: str = "email") -> int:
    if channel == "email":
        enqueue(engine, channel="email", recipient="a@example.org", subject=f"report {key}", body="text part",
                html="<p>html</p>", attachments=IMAGE, dedupe_key=key)
    else:
        enqueue(engine, channel="webhook", recipient="http://127.0.0.1:9/hook", subject=f"alert {key}",
                body='{"a": 1}', dedupe_key=key)
    with engine.begin() as conn:
        conn.execute(update(Outbox).where(Outbox.dedupe_key == key).values(
            status=status, created_at=at, sent_at=at if status == "sent" else None))
        return conn.scalar(select(Outbox.id).where(Outbox.dedupe_key == key))


def _run(engine, job: str, *, at: dt.datetime, status: str = "ok") -> int:
    with engine.begin() as conn:
        return conn.execute(insert(JobRun).returning(JobRun.id), {
            "job": job, "started_at": at, "finished_at": None if status == "running" else at,
            "status": status, "details": {"n": 1}}).scalar_one()


@pytest.fixture
def history(engine):
    messages = {
        "old_sent_email": _message(engine, "k-old-email", status="sent", at=OLD),
        "old_sent_webhook": _message(engine, "k-old-hook", status="sent", at=OLD, channel="webhook"),
        "recent_sent": _message(engine, "k-recent", status="sent", at=RECENT),
        "old_pending": _message(engine, "k-pending", status="pending", at=OLD),
        "old_failed": _message(engine, "k-failed", status="failed", at=OLD),
    }
    runs = {
        "old_deliver_1": _run(engine, "deliver", at=OLD),
        "old_deliver_2": _run(engine, "deliver", at=OLD + dt.timedelta(minutes=5), status="failed"),
        "recent_deliver": _run(engine, "deliver", at=RECENT),
        "old_report_latest": _run(engine, "report", at=OLD),  # the report job's only run: kept
        "old_crawl_running": _run(engine, "crawl", at=OLD, status="running"),
    }
    return messages, runs


def _outbox(engine) -> dict[int, Outbox]:
    with engine.connect() as conn:
        return {row.id: row for row in conn.execute(select(Outbox))}


def test_prune_empties_old_sent_messages_and_deletes_old_runs(engine, history):
    messages, runs = history
    before = _outbox(engine)
    result = prune_history(engine, 90, now=NOW)
    assert (result.outbox_emptied, result.job_runs_deleted) == (2, 2)
    after = _outbox(engine)
    assert set(after) == set(before)  # no outbox row is deleted: every dedupe key stays
    for name in ("old_sent_email", "old_sent_webhook"):
        row = after[messages[name]]
        assert row.body == "" and row.html is None and row.attachments is None
        assert (row.recipient, row.subject, row.dedupe_key, row.sent_at) == (
            before[row.id].recipient, before[row.id].subject, before[row.id].dedupe_key, before[row.id].sent_at)
    for name in ("recent_sent", "old_pending", "old_failed"):
        assert after[messages[name]] == before[messages[name]]
    with engine.connect() as conn:
        kept = set(conn.scalars(select(JobRun.id)))
    assert kept == {runs["recent_deliver"], runs["old_report_latest"], runs["old_crawl_running"]}


def test_a_pruned_message_is_never_queued_again(engine, history):
    prune_history(engine, 90, now=NOW)
    again = enqueue(engine, channel="email", recipient="a@example.org", subject="report k-old-email",
                    body="text part", dedupe_key="k-old-email")
    assert again is False
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "pending")) == 1


def test_prune_twice_changes_nothing_the_second_time(engine, history):
    prune_history(engine, 90, now=NOW)
    outbox, second = _outbox(engine), prune_history(engine, 90, now=NOW)
    assert (second.outbox_emptied, second.job_runs_deleted) == (0, 0) and _outbox(engine) == outbox


def test_dry_run_counts_and_changes_nothing(engine, history):
    before = _outbox(engine)
    counted = prune_history(engine, 90, now=NOW, dry_run=True)
    assert (counted.outbox_emptied, counted.job_runs_deleted) == (2, 2) and _outbox(engine) == before
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(JobRun)) == 5


def test_a_longer_retention_keeps_more(engine, history):
    result = prune_history(engine, 200, now=NOW)
    assert (result.outbox_emptied, result.job_runs_deleted) == (0, 0)


def test_prune_command_reads_the_retention_setting(db_url, tmp_path):
    config_dir = write_config(tmp_path / "config", main=f'[database]\nurl = "{db_url}"\n\n[retention]\ndays = 5\n')
    from jobtrend.db import make_engine

    engine = make_engine(db_url)
    _message(engine, "k1", status="sent", at=utcnow() - dt.timedelta(days=7))
    engine.dispose()
    dry = invoke_cli(config_dir, ["prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would empty 1 sent outbox rows" in dry.output and "(5 days)" in dry.output
    done = invoke_cli(config_dir, ["prune"])
    assert done.exit_code == 0 and "emptied 1 sent outbox rows" in done.output
    longer = invoke_cli(config_dir, ["prune", "--days", "30"])
    assert longer.exit_code == 0 and "emptied 0 sent outbox rows" in longer.output and "(30 days)" in longer.output


def test_the_scheduler_prune_job_is_recorded(db_url, tmp_path):
    config = load_config(write_config(tmp_path / "config", main=f'[database]\nurl = "{db_url}"\n'))
    assert config.retention.days == 90 and config.scheduler.jobs["prune"] == "30 3 * * *"
    assert run_job("prune", config) == "ok"
    from jobtrend.db import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        run = conn.execute(select(JobRun).where(JobRun.job == "prune")).one()
    engine.dispose()
    assert run.status == "ok" and run.details == {"outbox_emptied": 0, "job_runs_deleted": 0}


@pytest.mark.parametrize("table, message", [
    ("[retention]\ndays = 0\n", "retention.days"),
    ('[retention]\ndays = "90"\n', "retention.days"),
    ("[retention]\nkeep = 3\n", "retention.keep"),
])
def test_bad_retention_settings_are_named(tmp_path, table, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path / "config", main='[database]\nurl = "sqlite:///x.db"\n' + table))
