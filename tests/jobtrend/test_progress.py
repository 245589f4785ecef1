"""Progress bars show on a terminal and stay silent in pipes, logs and CI."""

import io
import logging

import pytest
from rich.console import Console

from jobtrend.progress import progress_bar


@pytest.fixture
def not_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    yield
    root.setLevel(level)


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


def test_no_bar_inside_bars_off_and_a_bar_again_after(not_ci):
    from jobtrend.progress import bars_off

    inside, after = io.StringIO(), io.StringIO()
    with bars_off():
        _drive(Console(file=inside, force_terminal=True, width=100))
    _drive(Console(file=after, force_terminal=True, width=100))
    assert inside.getvalue() == "" and "250/250" in after.getvalue()


def test_a_scheduler_job_draws_no_bar_on_a_terminal(not_ci, monkeypatch, tmp_path, db_url):
    """run_job runs every job inside bars_off: a scheduler started in a terminal logs, and a bar would garble it."""
    from scheduler import jobs
    from tests.scheduler.test_service import write_config

    out = io.StringIO()
    monkeypatch.setitem(jobs.JOBS, "trends", lambda config: _drive(Console(file=out, force_terminal=True)) or {})
    assert jobs.run_job("trends", write_config(tmp_path / "config", db_url)) == "ok"
    assert out.getvalue() == ""
