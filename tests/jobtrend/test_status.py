"""`jobtrend status`: the one-screen summary on the demo database, an empty one and one never initialised."""

import json

import pytest
from sqlalchemy import insert, text

from jobtrend.app.status import status as collect
from jobtrend.cli.status import render
from jobtrend.config import load_config
from jobtrend.db import make_engine
from jobtrend.models import JobRun, Outbox
from jobtrend.redact import redact_url
from jobtrend.weeks import utcnow
from tests.jobtrend.test_config import invoke_cli
from tests.scheduler.test_service import FRAMEWORKS, SOURCES


def _config_dir(tmp_path, url, model_path):
    directory = tmp_path / "config"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(f'[database]\nurl = "{url}"\n\n[classifier]\nmodel = "{model_path}"\n')
    (directory / "sources.toml").write_text(SOURCES)
    (directory / "frameworks.toml").write_text(FRAMEWORKS)
    return directory


@pytest.fixture(autouse=True)
def _no_env_database(monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)


def _scalar(url, sql):
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def test_status_of_the_demo_database(demo_db_url, tmp_path, role_model_path, role_model):
    config_dir = _config_dir(tmp_path, demo_db_url, role_model_path)
    result = invoke_cli(config_dir, ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["initialised"] and status["database"]["revision"] == status["database"]["head"]
    by_kind = {p["source_kind"]: p for p in status["postings"]}
    assert sum(p["total"] for p in by_kind.values()) == _scalar(demo_db_url, "select count(*) from postings")
    assert by_kind["ashby"]["open"] == _scalar(
        demo_db_url, "select count(*) from postings p join sources s on s.id = p.source_id "
                     "where s.kind = 'ashby' and p.closed_at is null")
    crawls = {c["source_kind"]: c for c in status["crawls"]}
    assert crawls["greenhouse"]["last_crawl"] and crawls["greenhouse"]["health"].get("ok", 0) > 0
    assert status["model"]["version"] == role_model.version
    assert status["last_report"]["week"].startswith("20")
    text_result = invoke_cli(config_dir, ["status"])
    assert text_result.exit_code == 0
    screen = text_result.stdout
    assert "greenhouse" in screen and f"model      {role_model.version}" in screen
    assert f"report     {status['last_report']['week']}" in screen
    assert len(screen.splitlines()) <= 40


def test_status_of_an_empty_initialised_database(db_url, tmp_path, role_model_path):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(Outbox), [
            {"channel": "email", "recipient": "a@example.org", "subject": "s", "body": "b", "dedupe_key": "k1",
             "status": "pending"},
            {"channel": "email", "recipient": "a@example.org", "subject": "s", "body": "b", "dedupe_key": "k2",
             "status": "failed"}])
        conn.execute(insert(JobRun), [{"job": "crawl", "started_at": utcnow(), "status": "failed",
                                       "error": "RuntimeError: boom"}])
    engine.dispose()
    config = load_config(_config_dir(tmp_path, db_url, role_model_path))
    status = collect(config)
    assert status.initialised and status.postings == [] and status.last_report is None
    assert status.outbox["pending"] == 1 and status.outbox["failed"] == 1
    assert status.scheduler["last_runs"][0]["job"] == "crawl" and status.scheduler["last_runs"][0]["status"] == "failed"
    assert status.taxonomy["awaiting_analysis"] == 0 and status.model["awaiting_classification"] == 0
    screen = render(status)
    assert "none yet" in screen and "1 pending, 1 failed" in screen and "crawl" in screen


def test_status_lists_the_scheduler_jobs_with_their_next_run(db_url, tmp_path, role_model_path):
    from scheduler.service import build_scheduler

    config = load_config(_config_dir(tmp_path, db_url, role_model_path))
    sched = build_scheduler(config, background=True)
    sched.start(paused=True)
    expected = {job.id for job in sched.get_jobs()}
    sched.shutdown(wait=True)
    status = collect(config)
    assert {j["id"] for j in status.scheduler["jobs"]} == expected and expected
    assert all(j["next_run_time"] for j in status.scheduler["jobs"])
    screen = render(status)
    assert all(job in screen for job in expected)


def test_status_before_init_says_what_to_do(empty_db_url, tmp_path, role_model_path):
    result = invoke_cli(_config_dir(tmp_path, empty_db_url, role_model_path), ["status"])
    assert result.exit_code == 0, result.output
    assert "run `jobtrend init` first" in result.output


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://reader:s3cret@db.example/jobtrend", "postgresql+psycopg://reader:***@db.example/jobtrend"),
    ("postgresql+psycopg://reader@/jobtrend?host=/run/pg&password=s3cret",
     "postgresql+psycopg://reader@/jobtrend?host=/run/pg&password=***"),
    ("sqlite:///data/jobtrend.db", "sqlite:///data/jobtrend.db"),
])
def test_the_database_password_is_never_shown(url, shown):
    assert redact_url(url) == shown and "s3cret" not in redact_url(url)


def test_status_never_prints_the_password(db_url, tmp_path, role_model_path):
    url = db_url.replace("jobtrend@", "jobtrend:hunter2@", 1)  # PostgreSQL: trust auth ignores the password
    result = invoke_cli(_config_dir(tmp_path, url, role_model_path), ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert json.loads(result.stdout)["database"]["url"] == redact_url(url)


def test_status_names_classifications_stored_by_another_model(db_url, tmp_path, role_model_path, role_model):
    from tests.analysis.factories import add_posting, add_source, classify_posting

    engine = make_engine(db_url)
    posting = add_posting(engine, add_source(engine), title="ML Engineer", text="PyTorch training")
    classify_posting(engine, posting, "ml_engineer")  # stored by model version "test"
    engine.dispose()
    status = collect(load_config(_config_dir(tmp_path, db_url, role_model_path)))
    assert status.model["version"] == role_model.version and status.model["awaiting_classification"] == 1
    assert status.model["classified_by_version"] == {"test": 1}
    assert "stored classifications by other models: test 1" in render(status)
