"""The use cases of jobtrend.app, as the command line and the scheduler both reach them: a report previewed with
`jobtrend report` is still emailed by the Monday job, and `analyze` means mentions, roles and duplicate links
wherever it is called. Both on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from jobtrend.app import AppError
from jobtrend.app import report as report_use_case
from jobtrend.app.analyze import analyze
from jobtrend.cli import main
from jobtrend.config import load_config
from jobtrend.models import Classification, Outbox, Posting, Report
from jobtrend.weeks import iso_week_label, last_complete_week
from scheduler import jobs
from tests.analysis.factories import add_posting, add_source, edit_posting
from tests.scheduler.test_service import runs, write_config

EMAIL = ('[email]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\nsender = "jt@example.org"\n'
         'recipients = ["a@example.org"]\n')
ML_ROLE = ("Machine Learning Engineer at Acme, London. You will build distributed training infrastructure in "
           "PyTorch, optimise inference with TensorRT and run our MLOps stack (Kubeflow, MLflow).")


def _cli(config_dir, *args: str):
    result = CliRunner().invoke(main, ["--config-dir", str(config_dir), *args])
    assert result.exit_code == 0, result.output
    return result.output


def _outbox(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Outbox.channel, Outbox.recipient, Outbox.subject))]


def test_a_previewed_report_is_still_emailed_by_the_monday_job(tmp_path, db_url, engine):
    config_dir = write_config(tmp_path / "config", db_url, EMAIL)
    week = iso_week_label(last_complete_week())

    preview = _cli(config_dir, "report")  # the week that ended last Sunday, as the Monday job builds it
    assert f"report {week}" in preview and "stored in reports" in preview
    assert _outbox(engine) == []  # a preview queues nothing...

    assert jobs.run_job("report", config_dir) == "ok"  # ...and does not cancel the email
    assert [(c, r) for c, r, _ in _outbox(engine)] == [("email", "a@example.org")]
    assert week in _outbox(engine)[0][2]
    assert runs(db_url)[-1].details.items() >= {"week": week, "queued": 1, "stored": True}.items()

    assert jobs.run_job("report", config_dir) == "ok"  # sent is read from the outbox: once per week
    assert len(_outbox(engine)) == 1 and runs(db_url)[-1].details["queued"] == 0
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Report)) == 1


def test_the_stored_report_is_the_one_that_was_queued(tmp_path, db_url, engine):
    """The Monday job replaces a preview's stored copy by the report it queued: `report --stored` shows what
    the recipients got."""
    config_dir = write_config(tmp_path / "config", db_url, EMAIL)
    _cli(config_dir, "report")
    with engine.connect() as conn:
        previewed_at = conn.scalar(select(Report.generated_at))
    jobs.run_job("report", config_dir)
    with engine.connect() as conn:
        stored_at = conn.scalar(select(Report.generated_at))
    assert stored_at > previewed_at


def test_analyze_links_duplicates_from_the_command_line_and_the_scheduler(tmp_path, db_url, engine,
                                                                           role_model_path):
    config_dir = write_config(tmp_path / "config", db_url, f'[classifier]\nmodel = "{role_model_path}"\n')
    source = add_source(engine)
    ids = [add_posting(engine, source, title="ML Engineer", text=ML_ROLE) for _ in range(2)]
    for pid in ids:
        edit_posting(engine, pid, company="Acme", location="London")

    output = _cli(config_dir, "analyze")
    assert "1 of 2 postings are duplicates of 1 canonical postings" in output
    with engine.connect() as conn:
        assert dict(conn.execute(select(Posting.id, Posting.duplicate_of_id)).all()) == {ids[0]: None, ids[1]: ids[0]}
        assert conn.scalar(select(func.count()).select_from(Classification)) == 2

    third = add_posting(engine, source, title="ML Engineer", text=ML_ROLE)
    edit_posting(engine, third, company="Acme", location="London")
    assert jobs.run_job("analyze", config_dir) == "ok"
    details = runs(db_url)[-1].details
    assert details["duplicates"] == 2 and details["duplicates_changed"] == 1 and details["classified"] == 1


def test_analyze_needs_the_model_before_it_changes_anything(tmp_path, db_url, engine):
    config_dir = write_config(tmp_path / "config", db_url, f'[classifier]\nmodel = "{tmp_path / "none.npz"}"\n')
    add_posting(engine, add_source(engine), title="ML Engineer", text=ML_ROLE)
    result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "analyze"])
    assert result.exit_code == 1 and "none.npz" in result.output and "Traceback" not in result.output
    with engine.connect() as conn:  # no model: not even the mentions step ran
        assert conn.scalar(select(Posting.analyzed_at)) is None
    with pytest.raises(AppError, match="none.npz"):
        analyze(load_config(config_dir))


def test_a_report_run_that_dies_after_queueing_is_completed_by_the_next(tmp_path, db_url, engine, monkeypatch):
    """Build, queue, store: a run stopped between queueing and storing (here the store raises, as a killed
    process or a full disk would stop it) leaves the email queued once; the next run queues nothing more and
    stores the week."""
    config_dir = write_config(tmp_path / "config", db_url, EMAIL)

    def dies(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_use_case, "store_report", dies)
    assert jobs.run_job("report", config_dir) == "failed"
    assert len(_outbox(engine)) == 1 and "No space left on device" in runs(db_url)[-1].error
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Report)) == 0
    monkeypatch.undo()

    assert jobs.run_job("report", config_dir) == "ok"
    assert len(_outbox(engine)) == 1
    assert runs(db_url)[-1].details.items() >= {"queued": 0, "stored": True}.items()
