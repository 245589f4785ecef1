"""`jobtrend demo`: the whole pipeline on the bundled recorded responses, offline, into its own database.

It composes the use cases of :mod:`jobtrend.app` (init, crawl, analyze, trends, report) as the scheduler does,
on a configuration of its own: the bundled boards as sources, the demo database, and the bundled role model
(the configured one when it is that model or missing: :func:`demo_model`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from analysis.classify import holds_bundled_model
from jobtrend.app.analyze import analyze
from jobtrend.app.crawl import crawl
from jobtrend.app.report import latest_ai_week, weekly_report, write_file
from jobtrend.app.setup import init
from jobtrend.app.trends import trends
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.lines import (
    classify_line,
    crawl_table,
    crawl_totals,
    dedupe_line,
    model_line,
    trends_lines,
)
from jobtrend.config import REPO_ROOT, Config, load_sources
from jobtrend.redact import redact_url

DEMO_DIR = REPO_ROOT / "data" / "demo"
DEMO_DB = REPO_ROOT / "data" / "demo.db"


DEMO_MODEL = REPO_ROOT / "data" / "models" / "demo-roles.npz"


@contextmanager
def demo_model(database_url: str, configured: Path) -> Iterator[Path]:
    """Where the demo's role model is while it runs.

    The configured model (``classifier.model``) when it already holds the bundled model of this version, or, for
    the default demo database, when there is none yet: the demo trains it there and a later `jobtrend init` keeps
    it, so `make demo` and `init` leave one model file. A model there that a user trained (or an older bundled
    one) is never touched: the demo keeps a file of its own, ``DEMO_MODEL`` for the default demo database
    (retrained when it is not of this version; it stays for later commands on data/demo.db), a temporary folder
    removed afterwards for any other database. Two demos at once (the tests build one on SQLite and one on
    PostgreSQL) then never remove or overwrite a model the other is about to load."""
    default_database = database_url == f"sqlite:///{DEMO_DB}"
    if holds_bundled_model(configured) or (default_database and not configured.exists()):
        if default_database:
            DEMO_MODEL.unlink(missing_ok=True)  # an older demo's copy: one model file is enough
        yield configured
        return
    if default_database:
        if not holds_bundled_model(DEMO_MODEL):
            DEMO_MODEL.unlink(missing_ok=True)  # `init` trains it again, from the bundled corpus of this version
        yield DEMO_MODEL
        return
    with tempfile.TemporaryDirectory(prefix="jobtrend-demo-model-") as folder:
        yield Path(folder) / DEMO_MODEL.name


def demo_config(config: Config, database_url: str, model: Path) -> Config:
    """The user's configuration with the bundled boards as sources, the demo database and the role model
    ``model`` (:func:`demo_model`: the bundled model of this version, trained when missing)."""
    return dataclasses.replace(config, database_url=database_url, sources=load_sources(DEMO_DIR / "sources.toml"),
                               classifier=dataclasses.replace(config.classifier, model=str(model)))


DEMO_REPORT_DIR = REPO_ROOT / "demo-output"


def write_demo_report(config: Config) -> str:
    """Build the report of the latest week with AI-role postings, store it, write it to demo-output/."""
    week = latest_ai_week(config)
    if week is None:
        return "no AI-role postings, no report"
    built = weekly_report(config, week, force=True).report
    path = write_file(built, DEMO_REPORT_DIR / f"report-{built.label}.html")
    return f"{built.label}: {path.relative_to(REPO_ROOT)} (open it in a browser; charts embedded)"


def remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@click.command()
@click.option("--database-url", metavar="URL",
              help=f"Database for the demo [default: a fresh SQLite file at {DEMO_DB.relative_to(REPO_ROOT)}].")
@pass_app
def demo(app: AppContext, database_url: str | None) -> None:
    """Run init, crawl, analyze (mentions, roles, duplicates), trends and the weekly report on bundled real
    job-board data, offline.

    The bundled data (data/demo/) holds recorded public responses of 72 Ashby, 13 Greenhouse and 2 Lever
    boards, Hacker News "Who is hiring?" threads (April 2011, January-May 2026) and 3 career sites with
    schema.org JobPosting markup; a replay server on 127.0.0.1 serves them under their real URL paths, so the
    real spiders and pipelines run.

    \b
    Example:
        jobtrend demo
        JOBTREND_DATABASE_URL=sqlite:///data/demo.db \\
            jobtrend sql "select company, count(*) from postings group by 1 order by 2 desc limit 5"
    """
    if database_url is None:
        remove_sqlite_files(DEMO_DB)
        database_url = f"sqlite:///{DEMO_DB}"
    model = click.get_current_context().with_resource(demo_model(database_url, app.config.model_path))
    config = demo_config(app.config, database_url, model)

    click.secho("1/5 init", bold=True)
    setup = init(config)
    click.echo(f"    {setup.sources} sources, {setup.frameworks} frameworks")
    click.echo("    " + model_line(setup))

    click.secho("2/5 crawl (replay server on 127.0.0.1, recorded responses)", bold=True)
    crawled = crawl(config, replay_dir=DEMO_DIR)
    if crawled.failed:
        click.echo(crawl_table(crawled.failed))
    click.echo("    " + crawl_totals(crawled.summary))

    click.secho("3/5 analyze: framework mentions, roles, and copies of one job linked to its canonical posting",
                bold=True)
    analysed = analyze(config)
    click.echo(f"    {analysed.mentions.analyzed} postings analysed, {analysed.mentions.with_mentions} mention a "
               "framework")
    click.echo("    " + classify_line(analysed.roles))
    click.echo("    " + dedupe_line(analysed.duplicates))

    click.secho("4/5 trends: share of AI-role postings mentioning each framework, by posted week", bold=True)
    click.echo(trends_lines(trends(config, full=True, cohort="all")))

    click.secho("5/5 report: the weekly report of the latest week with postings", bold=True)
    click.echo("    " + write_demo_report(config))
    command = os.path.relpath(sys.argv[0]) if os.path.exists(sys.argv[0]) else "jobtrend"
    shown = redact_url(config.database_url)  # a --database-url password is never printed
    click.echo(f"\nThe demo database is {shown}; query it with e.g.\n"
               f"  JOBTREND_DATABASE_URL={shown} {command} sql "
               "\"select company, count(*) n from postings group by company order by n desc limit 5\"")
