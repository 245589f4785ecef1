"""`jobtrend classifier drift`: the role classifier's output per week and source kind, against its band."""

from __future__ import annotations

import click

from analysis.drift import SERIES, drift_rows, summary
from jobtrend.app.drift import drift as classifier_drift
from jobtrend.cli import AppContext, pass_app
from jobtrend.output import render

DRIFT_FORMATS = ("table", "csv", "json")


@click.command()
@click.option("--weeks", type=click.IntRange(min=1), default=8, show_default=True,
              help="Show the latest N weeks with classified postings (each is still judged against all history).")
@click.option("--source", type=click.Choice(SERIES),
              help="One source kind, or all (every kind together). Default: all, then each kind.")
@click.option("--format", "fmt", type=click.Choice(DRIFT_FORMATS), default="table", show_default=True)
@pass_app
def drift(app: AppContext, weeks: int, source: str | None, fmt: str) -> None:
    """Watch the deployed classifier: per week and source kind, the postings classified (n), the share of AI
    roles and of ml_engineer among them (95 % intervals), the mean confidence, and what left its band.

    A week is judged against the pooled weeks of the 8 before it that have 30 or more classified postings (4 are
    needed): a share leaves its band when it moves 10 points or more with p < 0.001, the mean confidence when it
    falls more than 0.05. Only the current model version's classifications count (docs/drift.md). Reads only:
    works on a database it cannot write (a snapshot in a read-only folder, a login granted SELECT only).

    \b
    Example:
        jobtrend classifier drift
        jobtrend classifier drift --source hackernews --weeks 26
        jobtrend classifier drift --format json | jq '.[] | select(.flag != "")'
    """
    result = classifier_drift(app.read_only_config, weeks=weeks, source=source)
    if result.model_version is None and fmt == "table":
        click.echo("no classified postings yet: run `jobtrend analyze` (or `jobtrend classify`)")
        return
    click.echo(render(*drift_rows(result, table=fmt == "table"), fmt))
    if fmt == "table":
        click.echo(summary(result))
