"""``pay``: the pay statistics of the stored pay (:mod:`analysis.pay_stats`, docs/pay-analysis.md), read-only."""

from __future__ import annotations

from analysis.filters import PostingFilter
from analysis.pay_stats import FORMATS, PayQueryError, PayStats, pay_stats
from jobtrend.app import AppError
from jobtrend.config import Config
from jobtrend.db import open_engine


class PayRequestError(AppError):
    """An option the pay statistics cannot take (an unknown cohort, component or currency); one line."""


def pay(config: Config, *, by: str = "role", grain: str | None = None, cohort: str = "all",
        component: str = "base", currency: str = "USD", posting_filter: PostingFilter | None = None,
        top: int | None = None) -> PayStats:
    """Medians, quartiles and bootstrap intervals of the annualised midpoint of posted pay, grouped by ``by``."""
    with open_engine(config.database_url) as engine:
        try:
            return pay_stats(engine, by=by, grain=grain, cohort=cohort, component=component, currency=currency,
                             posting_filter=posting_filter, top=top)
        except PayQueryError as exc:
            raise PayRequestError(str(exc)) from None


def formatted(stats: PayStats, output_format: str = "text") -> str:
    """``stats`` as text, CSV or JSON."""
    return FORMATS[output_format](stats)
