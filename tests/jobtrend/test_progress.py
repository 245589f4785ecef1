"""Progress bars show on a terminal and stay silent in pipes, logs and CI."""

import io
import logging

from click.testing import CliRunner
from rich.console import Console

from jobtrend import progress
from jobtrend.cli import main
from jobtrend.progress import progress_bar
from scheduler import jobs
from tests.analysis.factories import add_posting, add_source, edit_posting
from tests.scheduler.test_service import write_config


def _drive(console, total=250, step=50):
    with progress_bar("mentions", console=console) as update:
        for done in range(0, total + 1, step):
            update(done, total)


def test_a_terminal_gets_a_bar_that_reaches_the_total(not_ci):
    out = io.StringIO()
    _drive(Console(file=out, force_terminal=True, width=100))
    text = out.getvalue()
    assert "mentions" in text and "250/250" in text and "100%" in text


def test_a_pipe_gets_nothing(not_ci):
    out = io.StringIO()
    _drive(Console(file=out, width=100))  # a StringIO is not a terminal
    assert out.getvalue() == ""


def test_ci_gets_nothing_even_on_a_terminal(not_ci, monkeypatch):
    monkeypatch.setenv("CI", "true")
    out = io.StringIO()
    _drive(Console(file=out, force_terminal=True, width=100))
    assert out.getvalue() == ""


def test_verbose_logging_gets_nothing(not_ci):
    logging.getLogger().setLevel(logging.INFO)
    out = io.StringIO()
    _drive(Console(file=out, force_terminal=True, width=100))
    assert out.getvalue() == ""


def test_analyze_and_classify_report_progress_up_to_their_totals(engine, role_model):
    """The library loops call the callback after each batch, ending at the number of postings they handled."""
    from analysis.classify import classify_postings
    from analysis.mentions import analyze
    from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source

    source = add_source(engine)
    for i in range(7):
        add_posting(engine, source, title=f"ML Engineer {i}", text="We train models in PyTorch.")
    seen: list[tuple[int, int]] = []
    result = analyze(engine, SMALL_TAXONOMY, batch_size=3, progress=lambda d, t: seen.append((d, t)))
    assert result.analyzed == 7 and seen[0] == (0, 7) and seen[-1] == (7, 7) and len(seen) == 4
    seen.clear()
    classified = classify_postings(engine, role_model, batch_size=3, progress=lambda d, t: seen.append((d, t)))
    assert classified.classified == 7 and seen[0] == (0, 7) and seen[-1] == (7, 7)


def test_a_scheduler_job_draws_no_bar_on_a_terminal_where_the_command_does(not_ci, monkeypatch, tmp_path, engine,
                                                                          db_url, role_model_path):
    """The scheduler's jobs call the use cases without a progress factory (jobtrend.progress.no_bars): on a
    terminal, the analyze job draws nothing (a bar redrawn among the scheduler's log lines would garble them),
    where `jobtrend analyze`, making the same call with bars, draws its bars."""
    out = io.StringIO()
    monkeypatch.setattr(progress, "Console", lambda **_: Console(file=out, force_terminal=True, width=100))
    source = add_source(engine)
    ids = [add_posting(engine, source, title=f"ML Engineer {i}", text="We train models in PyTorch.") for i in range(3)]
    config_dir = write_config(tmp_path / "config", db_url, f'[classifier]\nmodel = "{role_model_path}"\n')
    assert jobs.run_job("analyze", config_dir) == "ok"
    assert out.getvalue() == ""
    edit_posting(engine, ids[0], text="We fine-tune LLMs with PyTorch.")
    result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "analyze"])
    assert result.exit_code == 0, result.output
    assert "mentions" in out.getvalue() and "classifying" in out.getvalue()
