"""`jobtrend export postings|trends`: the analyst views as CSV or Parquet files (the work is in jobtrend.export)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from analysis.role_rules import COHORTS
from jobtrend.cli import AppContext, pass_app
from jobtrend.export import ExportError
from jobtrend.export import export as run_export
from jobtrend.sql import iso_date


@click.command()
@click.argument("what", type=click.Choice(["postings", "trends"]))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="parquet needs pyarrow: pip install -e '.[parquet]'.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False, writable=True), required=True,
              help="The file to write (replaced atomically when the export is complete).")
@click.option("--since", metavar="WEEK", help="Only weeks from this one on: YYYY-Www or a date YYYY-MM-DD.")
@click.option("--cohort", type=click.Choice(COHORTS), help="trends: only this cohort (default: every cohort).")
@click.option("--raw-csv", is_flag=True,
              help="CSV: write text cells as they are, without the ' put before a cell a spreadsheet would run as "
                   "a formula (=, +, -, @); for programs, not spreadsheets.")
@pass_app
def export(app: AppContext, what: str, fmt: str, out: Path, since: str | None, cohort: str | None,
           raw_csv: bool) -> None:
    """Write one row per canonical posting (`postings`: the posting_facts view) or the weekly framework shares
    (`trends`: the weekly_framework_share view) to a CSV or Parquet file.

    Rows are streamed in batches, so memory stays flat; the file appears only when it is complete. A CSV text cell
    starting like a formula (=, +, -, @) gets a leading ' so that a spreadsheet shows it as text (--raw-csv: not).

    \b
    Example:
        jobtrend export postings --out postings.csv
        jobtrend export trends --format parquet --out trends.parquet --since 2026-W01 --cohort ml_engineer
    """
    if cohort and what != "trends":
        raise click.BadParameter("only `jobtrend export trends` has cohorts", param_hint="--cohort")
    try:
        start = dt.date.fromisoformat(iso_date(since)) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        result = run_export(app.db_config.database_url, what, fmt, out, since=start, cohort=cohort, raw_csv=raw_csv)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {result.rows} rows ({len(result.columns)} columns) of {result.view} to {result.path}")
