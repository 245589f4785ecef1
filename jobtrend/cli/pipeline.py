"""Commands that run one pipeline stage each: `crawl`, `analyze`, `trends`."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import signal
import sys
from pathlib import Path

import click

from analysis.filters import PostingFilter
from analysis.series import SeriesError, check_cohort, parse_since
from analysis.trends import GRAINS
from crawler.plan import ANNOUNCE_SECONDS
from crawler.run import InvalidRequest, check_since
from jobtrend.app.analyze import analyze as analyze_postings
from jobtrend.app.crawl import InvalidCrawl
from jobtrend.app.crawl import crawl as crawl_sources
from jobtrend.app.plan import crawl_plan
from jobtrend.app.trends import TrendRequestError, framework_trend
from jobtrend.app.trends import trends as compute_trends
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.lines import classify_line, crawl_table, crawl_totals, dedupe_line, mentions_line, trends_lines
from jobtrend.cli.posting_filter import posting_filter_options
from jobtrend.config import SOURCE_KINDS
from jobtrend.progress import progress_bar


def _month(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check ``--since 2011-04``: a month YYYY-MM, 01 to 12."""
    try:
        check_since(value)
    except InvalidRequest:
        raise click.BadParameter(f"expected a month YYYY-MM (01 to 12), got {value!r}") from None
    return value


def _api_base(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check ``--api-base``: an http:// or https:// URL."""
    if value is not None and not re.match(r"^https?://[^/\s]+", value):
        raise click.BadParameter(f"expected an http:// or https:// URL, got {value!r}")
    return value


def _scrapy_settings(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> dict[str, str]:
    """``-s NAME=VALUE`` pairs as a dict."""
    extra = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        extra[name] = value
    return extra


@click.command()
@click.option("--source", "kinds", multiple=True, type=click.Choice(SOURCE_KINDS),
              help="Crawl only this kind of source; repeatable. Default: all.")
@click.option("--board", "keys", multiple=True, metavar="KEY",
              help="Crawl only this board token; repeatable. A board not in sources.toml needs one --source.")
@click.option("--replay", "replay_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="For demos, tests and offline development: serve the recorded responses in this folder on "
                   "127.0.0.1 and crawl the sources it holds; configured sources it does not hold are left "
                   "untouched.")
@click.option("--api-base", metavar="URL", callback=_api_base,
              help="For tests: send every API request to this base URL (a replay server).")
@click.option("--since", metavar="YYYY-MM", callback=_month,
              help="Hacker News: backfill every monthly thread from this month on (a progress bar on a terminal).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", callback=_scrapy_settings,
              help="Override a Scrapy setting.")
@click.option("--plan", "show_plan", is_flag=True,
              help="Print the politeness budget per host (sources, requests, delay, minutes) and crawl nothing.")
@pass_app
def crawl(app: AppContext, kinds, keys, replay_dir, api_base, since, settings, show_plan) -> None:
    """Crawl the configured job boards and store their postings.

    Each source gets one line on stderr as soon as it is finished (`ashby:cohere ok 123 listed`, or why it
    failed), a second one only when recording changes its outcome (`ashby:cohere now partial ...`); on a terminal
    a bar below them counts the sources finished, those not ok and the time left. Then a table of every source.

    Exit status 1 when no source could be crawled, when sources could not be recorded in crawl_runs (the
    database locked: they are listed as not_recorded and were not crawled) or when the disk is full (the crawl
    stops, nothing is closed); per-source failures are listed and stored in crawl_runs. Exit status 2 for a
    usage mistake (a bad --since, a --board not in sources.toml without one --source), found before anything
    runs. Ctrl-C stops the crawl: the sources it cut short are recorded as interrupted, nothing of them is
    closed, and the exit status is 130.
    One crawl at a time per database: while the scheduler (or another `jobtrend crawl`) crawls, this one exits 1
    rather than send every host twice the requests.

    --replay is for demos, tests and offline development, not for a real database: it stores the recorded
    postings as if crawled now. It crawls only the sources the recording holds (data/demo holds the boards of
    data/demo/sources.toml); the others are neither crawled nor marked gone or failing.

    \b
    Example:
        jobtrend crawl
        jobtrend crawl --source ashby --board cohere --board openai
        jobtrend crawl --source hackernews --since 2011-04   # every "Who is hiring?" thread
        jobtrend crawl --replay data/demo          # offline: the configured boards data/demo recorded
        jobtrend crawl --plan                      # how long a crawl takes at 1 request/s per host
    """
    if since and kinds and "hackernews" not in kinds:
        raise click.UsageError("--since applies to Hacker News only: add --source hackernews")
    if replay_dir and api_base:
        raise click.UsageError("give --replay or --api-base, not both: --replay starts its own server")
    estimate_s = None  # the politeness estimate, for the progress bar's time left (none against a local server)
    if show_plan or not (replay_dir or api_base):
        try:
            plan = crawl_plan(app.config, kinds=kinds, keys=keys)
        except InvalidCrawl as exc:
            raise click.UsageError(str(exc)) from None
        if show_plan:
            click.echo("\n".join(plan.lines()))
            return
        if plan.seconds > ANNOUNCE_SECONDS:
            click.echo(plan.estimate_line(), err=True)
        estimate_s = plan.seconds
    try:
        result = crawl_sources(app.config, kinds=kinds, keys=keys, replay_dir=replay_dir, api_base=api_base,
                               since=since, settings=settings, progress=progress_bar, source_lines=True,
                               estimate_s=estimate_s)
    except InvalidCrawl as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(crawl_table(result.sources))
    click.echo(crawl_totals(result.summary))
    if result.not_in_recording:
        click.echo(f"{len(result.not_in_recording)} configured sources are not in the recording {replay_dir}: "
                   "left untouched")
    if result.interrupted:
        click.echo(f"Error: interrupted ({result.interrupted}): the sources cut short are recorded as interrupted "
                   "in crawl_runs and closed nothing", err=True)
        sys.exit(128 + signal.Signals[result.interrupted].value)  # as a shell reports a process ended by it
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


class OneLineUsageError(click.ClickException):
    """Bad input to a command (an unknown cohort or framework): one ``Error:`` line, exit status 2 like a click
    usage error, without the usage text."""

    exit_code = 2


def _cohort(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_cohort(value)
    except SeriesError as exc:
        raise OneLineUsageError(f"--cohort: {exc}") from None


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    try:
        return None if value is None else parse_since(value)
    except SeriesError as exc:
        raise OneLineUsageError(f"--since: {exc}") from None


def _terminal() -> tuple[int, bool]:
    """Columns for the text chart (80 when piped) and whether it may use block characters (a UTF-8 terminal)."""
    stdout = sys.stdout
    if not stdout.isatty():
        return 80, False
    utf8 = (getattr(stdout, "encoding", "") or "").lower().replace("-", "") == "utf8"
    return min(max(shutil.get_terminal_size((80, 24)).columns, 60), 120), utf8


@click.command()
@click.option("--full", is_flag=True, help=("Recompute every period, not only the periods touched since last time "
                                            "(also picks up rows deleted or edited by hand)."))
@click.option("--cohort", default="all", show_default=True, callback=_cohort, metavar="COHORT",
              help="Print this cohort: market (every posting with a description), all (every AI role), ai_swe, "
                   "ml_engineer, or market:<source kind> (market:hackernews, ...). Every cohort is recomputed "
                   "whatever this says.")
@click.option("--grain", type=click.Choice(GRAINS), default="week", show_default=True,
              help="Weeks, or months (a Hacker News thread falls into one or two weeks: its month reads better).")
@click.option("--weeks", type=click.IntRange(min=1), help="Periods to print [config: trends.weeks].")
@click.option("--top", type=click.IntRange(min=1), help="Frameworks to print [config: trends.top].")
@click.option("--min-postings", type=click.IntRange(min=1),
              help="Print only periods with at least this many postings; with --framework, mark the smaller ones "
                   "[config: trends.min_postings].")
@click.option("--framework", "slug", metavar="SLUG",
              help="Print one framework over time: every period with postings, n, k, share, 95 % interval, a bar.")
@click.option("--since", metavar="YYYY-MM", callback=_since,
              help="--framework: start at this month (YYYY-MM) or at the period holding this day (YYYY-MM-DD).")
@click.option("--png", type=click.Path(path_type=Path, dir_okay=False, writable=True), metavar="FILE",
              help="--framework: also write a line chart (PNG) there, replaced atomically.")
@posting_filter_options()
@pass_app
def trends(app: AppContext, full: bool, cohort: str, grain: str, weeks: int | None, top: int | None,
           min_postings: int | None, slug: str | None, since: dt.date | None, png: Path | None,
           posting_filter: PostingFilter) -> None:
    """Compute framework shares by week and by month (with 95 % Wilson intervals) and print the latest periods of
    one cohort, or one framework over time.

    Share = postings of the period that mention the framework / postings of the period with a description, in a
    cohort: market (every posting), all (every AI role), ai_swe or ml_engineer (as classified by `jobtrend
    analyze`), or market:<source kind>. With --remote, --location or --company the table or series is counted
    on the fly from the postings that match, with the same definitions.

    On a database it cannot write (a snapshot in a read-only folder, a login granted SELECT only) nothing is
    recomputed: the stored shares are printed when they are current, otherwise counted from the postings; the
    first line says which.

    \b
    Example:
        jobtrend trends
        jobtrend trends --full --weeks 12 --top 20
        jobtrend trends --cohort market --grain month
        jobtrend trends --cohort market --remote --location berlin
        jobtrend trends --framework pytorch --grain month --since 2011-04 --cohort market
        jobtrend trends --framework langchain --remote --png langchain.png
    """
    if slug is None:
        for name, given in (("--since", since), ("--png", png)):
            if given is not None:
                raise OneLineUsageError(f"{name} needs --framework SLUG (one framework over time)")
        click.echo(trends_lines(compute_trends(app.db_config, full=full, cohort=cohort, weeks=weeks, top=top,
                                               min_postings=min_postings, grain=grain,
                                               posting_filter=posting_filter, read_only_ok=True)))
        return
    width, unicode = _terminal()
    try:
        result = framework_trend(app.db_config, slug, cohort=cohort, grain=grain, since=since,
                                 posting_filter=posting_filter, full=full, min_postings=min_postings, png=png,
                                 width=width, unicode=unicode, read_only_ok=True)
    except TrendRequestError as exc:
        raise OneLineUsageError(str(exc)) from None
    click.echo(f"{result.summary}\n")
    click.echo(result.table)
    if result.png is not None:
        click.echo(f"\nwrote the chart to {result.png}")
