"""Commands that run one pipeline stage each: `crawl`, `analyze`, `trends`."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import click

from analysis.role_rules import COHORTS  # only the standard library: cheap at CLI start-up
from jobtrend.cli import AppContext, main, pass_app
from jobtrend.config import SOURCE_KINDS
from jobtrend.output import render

SPIDER_KINDS = SOURCE_KINDS
SUMMARY_COLUMNS = ("source", "status", "seen", "new", "updated", "dropped", "closed", "reason")


def crawl_summary_table(summary: dict) -> str:
    """The per-source lines of a crawl summary as a text table."""
    rows = [(label, s.get("status"), s.get("seen"), s.get("new"), s.get("updated"), s.get("dropped"),
             s.get("closed"), s.get("reason") or "") for label, s in sorted(summary["sources"].items())]
    return render(SUMMARY_COLUMNS, rows)


def crawl_totals_line(summary: dict) -> str:
    sources = summary["sources"].values()
    stored = sum((s.get("new") or 0) + (s.get("updated") or 0) for s in sources)
    seen = sum(s.get("seen") or 0 for s in sources)
    failed = sum(1 for s in sources if s.get("status") != "ok")
    return (f"{len(summary['sources'])} sources ({failed} not ok), {seen} postings seen, {stored} new or updated, "
            f"{summary['elapsed_s']:.1f} s, {summary['postings_per_s']:.0f} postings/s")


@main.command()
@click.option("--source", "kinds", multiple=True, type=click.Choice(SPIDER_KINDS),
              help="Crawl only this kind of source; repeatable. Default: all.")
@click.option("--board", "keys", multiple=True, metavar="KEY",
              help="Crawl only this board token; repeatable. A board not in sources.toml needs one --source.")
@click.option("--replay", "replay_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Serve recorded responses from this folder on 127.0.0.1 and crawl those instead.")
@click.option("--api-base", metavar="URL", help="Send every API request to this base URL (a replay server).")
@click.option("--since", metavar="YYYY-MM",
              help="Hacker News: backfill every monthly thread from this month on (a progress bar on a terminal).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting.")
@pass_app
def crawl(app: AppContext, kinds, keys, replay_dir, api_base, since, settings) -> None:
    """Crawl the configured job boards and store their postings.

    Exit status 1 when no source could be crawled; per-source failures are listed and stored in crawl_runs.
    One crawl at a time per database: while the scheduler (or another `jobtrend crawl`) crawls, this one exits 1
    rather than send every host twice the requests.

    \b
    Example:
        jobtrend crawl
        jobtrend crawl --source ashby --board cohere --board openai
        jobtrend crawl --source hackernews --since 2011-04   # every "Who is hiring?" thread
        jobtrend crawl --replay data/demo          # offline, recorded responses
    """
    from crawler.run import run_crawl
    from jobtrend.locks import JobLock
    from jobtrend.progress import progress_bar

    extra = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--set")
        extra[name] = value
    try:
        # the scheduler's crawl job holds the same lock (JobLocked, a RuntimeError, when it is crawling);
        # a backfill reads one thread per month, back to 2011: a bar counts them (a plain crawl reads one or two)
        with JobLock(app.config.database_url, "crawl"), \
                progress_bar("Hacker News threads") if since else nullcontext() as update:
            summary = run_crawl(app.config, kinds=kinds or None, keys=list(keys) or None, api_base=api_base,
                                replay_dir=replay_dir, extra_settings=extra,
                                spider_args={"hackernews": {"since": since, "on_thread": update}} if since else None)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(crawl_summary_table(summary))
    click.echo(crawl_totals_line(summary))
    if summary["sources"] and all(s.get("status") == "failed" for s in summary["sources"].values()):
        raise click.ClickException("every source failed; see the reasons above and `crawl_runs`")


@main.command()
@pass_app
def analyze(app: AppContext) -> None:
    """Find framework mentions and classify roles in postings that are new or changed since their last analysis.

    After config/frameworks.toml changes, exactly the postings analysed under an older taxonomy version are
    re-analysed; after the role model changes (`jobtrend classifier train`), every posting classified by another
    model version is re-classified. The next `jobtrend trends` recomputes the weeks they belong to.

    \b
    Example:
        jobtrend analyze
    """
    from jobtrend.cli.classifier import classify_line, load_model, run_classify

    config = app.db_config
    result = run_analysis(config)
    click.echo(f"analysed {result.analyzed} postings ({result.with_mentions} mention a framework, "
               f"{result.mentions} mentions); taxonomy {result.taxonomy_version}")
    click.echo(classify_line(run_classify(config, load_model(config.model_path))))


def run_analysis(config):
    """Analyse new and changed postings with the configured taxonomy; return the AnalyzeResult."""
    from analysis.mentions import analyze as analyze_mentions
    from jobtrend.db import make_engine
    from jobtrend.progress import progress_bar

    engine = make_engine(config.database_url)
    try:
        with progress_bar("mentions") as update:
            return analyze_mentions(engine, config.frameworks, progress=update)
    finally:
        engine.dispose()


@main.command()
@click.option("--full", is_flag=True, help=("Recompute every week, not only the weeks touched since last time "
                                            "(also picks up rows deleted or edited by hand)."))
@click.option("--cohort", type=click.Choice(COHORTS), default="all", show_default=True,
              help="Print this cohort's table: every AI role, AI Software Engineers or ML Engineers. "
                   "Every cohort is recomputed whatever this says.")
@click.option("--weeks", type=click.IntRange(min=1), help="Weeks to print [config: trends.weeks].")
@click.option("--top", type=click.IntRange(min=1), help="Frameworks to print [config: trends.top].")
@click.option("--min-postings", type=click.IntRange(min=1),
              help="Print only weeks with at least this many postings [config: trends.min_postings].")
@pass_app
def trends(app: AppContext, full: bool, cohort: str, weeks: int | None, top: int | None,
           min_postings: int | None) -> None:
    """Compute weekly framework shares (with 95 % Wilson intervals) and print the latest weeks of one cohort.

    Share = AI-role postings of the week that mention the framework / AI-role postings of the week with a
    description, for a cohort: all (every AI role), ai_swe or ml_engineer (as classified by `jobtrend analyze`).

    \b
    Example:
        jobtrend trends
        jobtrend trends --full --weeks 12 --top 20
        jobtrend trends --cohort ml_engineer
    """
    click.echo(compute_and_table(app.db_config, full=full, weeks=weeks, top=top, min_postings=min_postings,
                                 cohort=cohort))


def compute_and_table(config, *, full: bool = False, weeks: int | None = None, top: int | None = None,
                      min_postings: int | None = None, cohort: str = "all") -> str:
    """Recompute the trend points of every cohort and return a summary line and the table of the latest weeks
    of ``cohort``."""
    from analysis.trends import compute_trends, latest_table
    from jobtrend.db import make_engine

    engine = make_engine(config.database_url)
    try:
        result = compute_trends(engine, full=full)
        table = latest_table(engine, weeks=weeks or config.trends.weeks, top=top or config.trends.top,
                             cohort=cohort,
                             min_postings=config.trends.min_postings if min_postings is None else min_postings)
    finally:
        engine.dispose()
    return f"recomputed {len(result.weeks)} weeks ({result.rows} trend points)\n\ncohort: {cohort}\n{table}"
