"""`jobtrend export postings|trends`: the analyst views as CSV or Parquet files (the work is in jobtrend.export)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.filters import PostingFilter
from analysis.series import SeriesError, check_cohort
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.posting_filter import posting_filter_options
from jobtrend.export import ExportError
from jobtrend.export import export as run_export
from jobtrend.sql import iso_date


def _cohort(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return None if value is None else check_cohort(value)
    except SeriesError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.argument("what", type=click.Choice(["postings", "trends"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="parquet needs pyarrow: pip install -e '.[parquet]'.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False, writable=True), required=True,
              help="The file to write (replaced atomically when the export is complete).")
@click.option("--since", metavar="WEEK", help="Only weeks from this one on: YYYY-Www or a date YYYY-MM-DD.")
@click.option("--cohort", callback=_cohort, metavar="COHORT",
              help="trends: only this cohort: market, all, ai_swe, ml_engineer or market:<source kind> (default: "
                   "every cohort).")
@posting_filter_options("postings: only those")
@click.option("--raw-csv", is_flag=True,
              help="CSV: write text cells as they are, without the ' put before a cell a spreadsheet would run as "
                   "a formula (=, +, -, @); for programs, not spreadsheets.")
@pass_app
def export(app: AppContext, what: str, fmt: str, out: Path, since: str | None, cohort: str | None,
           posting_filter: PostingFilter, raw_csv: bool) -> None:
    """Write one row per canonical posting (`postings`: the posting_facts view) or the weekly framework shares
    (`trends`: the weekly_framework_share view) to a CSV or Parquet file.

    Rows are streamed in batches, so memory stays flat; the file appears only when it is complete. A CSV text cell
    starting like a formula (=, +, -, @) gets a leading ' so that a spreadsheet shows it as text (--raw-csv: not).

    \b
    Example:
        jobtrend export postings --out postings.csv
        jobtrend export trends --format parquet --out trends.parquet --since 2026-W01 --cohort ml_engineer
        jobtrend export postings --out berlin.csv --location berlin --remote
    """
    if cohort and what != "trends":
        raise click.BadParameter("only `jobtrend export trends` has cohorts", param_hint="--cohort")
    if not posting_filter.empty and what != "postings":
        raise click.BadParameter("only `jobtrend export postings` has them (trends are counts of every posting)",
                                 param_hint="--remote/--no-remote, --location, --company")
    try:
        start = dt.date.fromisoformat(iso_date(since)) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        result = run_export(app.db_config.database_url, what, fmt, out, since=start, cohort=cohort, raw_csv=raw_csv,
                            posting_filter=posting_filter)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {result.rows} rows ({len(result.columns)} columns) of {result.view} to {result.path}")
