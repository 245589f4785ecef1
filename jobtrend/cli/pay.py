"""``jobtrend pay``: medians of posted pay with bootstrap intervals and n (docs/pay-analysis.md)."""

from __future__ import annotations

import click

from analysis.filters import PostingFilter
from analysis.pay_stats import BY, COMPONENT_GROUPS, PayQueryError, check_options
from jobtrend.app.pay import PayRequestError, formatted
from jobtrend.app.pay import pay as pay_use_case
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.posting_filter import posting_filter_options

FORMATS = ("text", "csv", "json")


class PayUsageError(click.ClickException):
    """A bad option: one ``Error:`` line and exit status 2, like a click usage error, without the usage text."""

    exit_code = 2


@click.command()
@click.option("--by", default="role", show_default=True, metavar="|".join(BY),
              help="Group by role (ai_swe, ml_engineer), seniority, framework, region (US, remote-US, Canada, UK, "
                   "EU, India, other, unknown) or specialisation (inference, fine-tuning, evals, rag-agents against "
                   "every posting of the same seniority).")
@click.option("--grain", metavar="month", help="Also split by month (the month a posting belongs to).")
@click.option("--cohort", default="all", show_default=True, metavar="COHORT",
              help="Postings counted: all (every AI role), ai_swe, ml_engineer, market, market:<source kind>.")
@click.option("--component", default="base", show_default=True, metavar="|".join(COMPONENT_GROUPS),
              help="Compare like with like: base (base salary and hourly, annualised), ote, or total (with equity).")
@click.option("--currency", default="USD", show_default=True, metavar="USD|own|CODE",
              help="USD (the shipped rate table, its date printed), own (each posting's currency, grouped by it), "
                   "or a code such as EUR (only the postings in it).")
@click.option("--top", type=click.IntRange(min=1), help="Print only the largest groups (useful with --by framework).")
@click.option("--format", "output_format", default="text", show_default=True, metavar="text|csv|json",
              help="Output format.")
@posting_filter_options()
@pass_app
def pay(app: AppContext, by: str, grain: str | None, cohort: str, component: str, currency: str, top: int | None,
        output_format: str, posting_filter: PostingFilter) -> None:
    """Print the median, quartiles and a 95 % bootstrap interval of the annualised midpoint of posted pay, with n,
    by role, seniority, framework, region or specialisation.

    Only posted pay is seen: the postings that state it (mostly where the law requires it). A group with fewer
    than 20 postings is printed with a *. USD figures use the shipped rate table; its date is printed.

    \b
    Example:
        jobtrend pay --by role
        jobtrend pay --by seniority --grain month --cohort ml_engineer
        jobtrend pay --by specialisation
        jobtrend pay --by region --currency own --format csv
    """
    currency = "own" if currency.lower() == "own" else currency.upper()
    try:
        check_options(by, component, currency, grain)
    except PayQueryError as exc:
        raise PayUsageError(str(exc)) from None
    if output_format not in FORMATS:
        raise PayUsageError(f"unknown --format {output_format!r}: expected one of {', '.join(FORMATS)}")
    try:
        stats = pay_use_case(app.read_only_config, by=by, grain=grain, cohort=cohort, component=component,
                             currency=currency, posting_filter=posting_filter, top=top)
    except PayRequestError as exc:
        raise PayUsageError(str(exc)) from None
    click.echo(formatted(stats, output_format), nl=output_format == "text")
