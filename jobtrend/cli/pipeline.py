"""Commands that run one pipeline stage each: `crawl`, `analyze`, `trends`."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.role_rules import COHORTS  # only the standard library: cheap at CLI start-up
from jobtrend.app.analyze import analyze as analyze_postings
from jobtrend.app.crawl import crawl as crawl_sources
from jobtrend.app.trends import trends as compute_trends
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.lines import classify_line, crawl_table, crawl_totals, dedupe_line, mentions_line, trends_lines
from jobtrend.config import SOURCE_KINDS
from jobtrend.progress import progress_bar


@click.command()
@click.option("--source", "kinds", multiple=True, type=click.Choice(SOURCE_KINDS),
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

    Exit status 1 when no source could be crawled, when sources could not be recorded in crawl_runs (the
    database locked: they are listed as not_recorded and were not crawled) or when the disk is full (the crawl
    stops, nothing is closed); per-source failures are listed and stored in crawl_runs.
    One crawl at a time per database: while the scheduler (or another `jobtrend crawl`) crawls, this one exits 1
    rather than send every host twice the requests.

    \b
    Example:
        jobtrend crawl
        jobtrend crawl --source ashby --board cohere --board openai
        jobtrend crawl --source hackernews --since 2011-04   # every "Who is hiring?" thread
        jobtrend crawl --replay data/demo          # offline, recorded responses
    """
    extra = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--set")
        extra[name] = value
    result = crawl_sources(app.config, kinds=kinds, keys=keys, replay_dir=replay_dir, api_base=api_base,
                           since=since, settings=extra, progress=progress_bar)
    click.echo(crawl_table(result.sources))
    click.echo(crawl_totals(result.summary))
    if result.failure:
        raise click.ClickException(result.failure)
    if result.all_failed:
        raise click.ClickException("every source failed; see the reasons above and `crawl_runs`")


@click.command()
@pass_app
def analyze(app: AppContext) -> None:
    """Find framework mentions, classify roles and link duplicates in postings new or changed since their last
    analysis (the same three steps as the scheduler's analyze job).

    After config/frameworks.toml changes, exactly the postings analysed under an older taxonomy version are
    re-analysed; after the role model changes (`jobtrend classifier train`), every posting classified by another
    model version is re-classified. The next `jobtrend trends` recomputes the weeks they belong to.

    \b
    Example:
        jobtrend analyze
    """
    result = analyze_postings(app.db_config, progress=progress_bar)
    click.echo(mentions_line(result.mentions))
    click.echo(classify_line(result.roles))
    click.echo(dedupe_line(result.duplicates))


@click.command()
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
    click.echo(trends_lines(compute_trends(app.db_config, full=full, cohort=cohort, weeks=weeks, top=top,
                                           min_postings=min_postings)))
