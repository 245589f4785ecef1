"""`jobtrend demo`: the whole pipeline on the bundled recorded responses, offline, into its own database."""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from jobtrend.cli import AppContext, main, pass_app
from jobtrend.config import REPO_ROOT, Config, load_sources

DEMO_DIR = REPO_ROOT / "data" / "demo"
DEMO_DB = REPO_ROOT / "data" / "demo.db"
# The replay server is on 127.0.0.1: no politeness delay is owed to ourselves.
REPLAY_SETTINGS = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


DEMO_MODEL = REPO_ROOT / "data" / "models" / "demo-roles.npz"


@contextmanager
def demo_model(database_url: str) -> Iterator[Path]:
    """Where the demo keeps its role model while it runs: ``DEMO_MODEL`` for the default demo database (it stays
    for later commands on data/demo.db), a temporary folder removed afterwards for any other database. Two demos
    at once (the tests build one on SQLite and one on PostgreSQL) then never remove or overwrite the model the
    other is about to load, and no model is left behind per database."""
    if database_url == f"sqlite:///{DEMO_DB}":
        yield DEMO_MODEL
        return
    with tempfile.TemporaryDirectory(prefix="jobtrend-demo-model-") as folder:
        yield Path(folder) / DEMO_MODEL.name


def demo_config(config: Config, database_url: str, model: Path) -> Config:
    """The user's configuration with the bundled boards as sources, the demo database and the demo's own role
    model ``model`` (retrained on every run, so it always matches the code and the bundled corpus)."""
    return dataclasses.replace(config, database_url=database_url, sources=load_sources(DEMO_DIR / "sources.toml"),
                               classifier=dataclasses.replace(config.classifier, model=str(model)))


DEMO_REPORT_DIR = REPO_ROOT / "demo-output"


def write_demo_report(config: Config) -> str:
    """Build the report of the latest week with AI-role postings, store it, write it to demo-output/."""
    from sqlalchemy import func, select

    from analysis.report import build_report, store_report, write_report_file
    from jobtrend.db import make_engine
    from jobtrend.models import Classification, Posting

    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            week = conn.scalar(select(func.max(Posting.posted_week)).join(
                Classification, Classification.posting_id == Posting.id).where(Classification.is_ai_role))
        if week is None:
            return "no AI-role postings, no report"
        report = build_report(engine, week)
        store_report(engine, report, force=True)
        path = write_report_file(report, DEMO_REPORT_DIR / f"report-{report.label}.html")
    finally:
        engine.dispose()
    return f"{report.label}: {path.relative_to(REPO_ROOT)} (open it in a browser; charts embedded)"


def remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@main.command()
@click.option("--database-url", metavar="URL",
              help=f"Database for the demo [default: a fresh SQLite file at {DEMO_DB.relative_to(REPO_ROOT)}].")
@pass_app
def demo(app: AppContext, database_url: str | None) -> None:
    """Run init, crawl, analyze (mentions and roles), dedupe, trends and the weekly report on bundled real
    job-board data, offline.

    The bundled data (data/demo/) holds recorded public responses of 72 Ashby, 13 Greenhouse and 2 Lever
    boards, Hacker News "Who is hiring?" threads (April 2011, January-May 2026) and 3 career sites with
    schema.org JobPosting markup; a replay server on 127.0.0.1 serves them under their real URL paths, so the
    real spiders and pipelines run.

    \b
    Example:
        jobtrend demo
        jobtrend sql "select company, count(*) from postings group by 1 order by 2 desc limit 5" \\
            --config-dir config   # with JOBTREND_DATABASE_URL=sqlite:///data/demo.db
    """
    from crawler.run import run_crawl
    from jobtrend.cli.classifier import classify_line, load_model, run_classify
    from jobtrend.cli.database import initialise, model_line
    from jobtrend.cli.dedupe import dedupe_summary, run_dedupe
    from jobtrend.cli.pipeline import compute_and_table, crawl_summary_table, crawl_totals_line, run_analysis
    from jobtrend.redact import redact_url

    if database_url is None:
        remove_sqlite_files(DEMO_DB)
        database_url = f"sqlite:///{DEMO_DB}"
    model = click.get_current_context().with_resource(demo_model(database_url))
    config = demo_config(app.config, database_url, model)
    model.unlink(missing_ok=True)

    click.secho("1/6 init", bold=True)
    counts = initialise(config)
    click.echo(f"    {counts['sources']} sources, {counts['frameworks']} frameworks")
    click.echo("    " + model_line(config.model_path))

    click.secho("2/6 crawl (replay server on 127.0.0.1, recorded responses)", bold=True)
    summary = run_crawl(config, replay_dir=DEMO_DIR, extra_settings=REPLAY_SETTINGS)
    failed = {k: s for k, s in summary["sources"].items() if s.get("status") != "ok"}
    if failed:
        click.echo(crawl_summary_table({"sources": failed}))
    click.echo("    " + crawl_totals_line(summary))

    click.secho("3/6 analyze: framework mentions and roles", bold=True)
    result = run_analysis(config)
    click.echo(f"    {result.analyzed} postings analysed, {result.with_mentions} mention a framework")
    click.echo("    " + classify_line(run_classify(config, load_model(config.model_path))))

    click.secho("4/6 dedupe: link copies of one job to its canonical posting", bold=True)
    click.echo("    " + dedupe_summary(run_dedupe(config)))

    click.secho("5/6 trends: share of AI-role postings mentioning each framework, by posted week", bold=True)
    click.echo(compute_and_table(config, full=True))

    click.secho("6/6 report: the weekly report of the latest week with postings", bold=True)
    click.echo("    " + write_demo_report(config))
    command = os.path.relpath(sys.argv[0]) if os.path.exists(sys.argv[0]) else "jobtrend"
    shown = redact_url(config.database_url)  # a --database-url password is never printed
    click.echo(f"\nThe demo database is {shown}; query it with e.g.\n"
               f"  JOBTREND_DATABASE_URL={shown} {command} sql "
               "\"select company, count(*) n from postings group by company order by n desc limit 5\"")
