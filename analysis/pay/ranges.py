"""What the pay extractor returns: :class:`Pay` ranges, the :class:`Refusal` of a figure that is not pay, and the
checks every range passes (:func:`refusal_reason`), with annualised and USD figures (:func:`annualise`).

Annualising multiplies by the hours, days, weeks or months of a full-time year: hour x 2080 (40 h x 52 weeks),
day x 260, week x 52, month x 12; a one-time figure (a sign-on bonus) and a percentage have no annual value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from jobtrend.currency import CurrencyTable

PER_YEAR = {"year": 1, "month": 12, "week": 52, "day": 260, "hour": 2080}
PAY_COMPONENTS = frozenset({"base", "hourly", "ote", "total"})  # a posting has pay when it states one of these
COMPONENTS = PAY_COMPONENTS | {"equity", "bonus", "commission"}
MIN_ANNUAL_USD = 5_000  # below: not pay for a year (a $150 "annual salary", a $50/month stipend)
MAX_ANNUAL_USD = 2_000_000  # above: not pay (a funding round or revenue read as a salary)
MAX_SPREAD = 3.0  # max / min above this is not one job's range (a band across levels, or two figures paired)


@dataclass(frozen=True)
class Pay:
    """One stated range: ``minimum``/``maximum`` in ``currency`` units per ``interval`` (or percent when
    ``unit`` is "percent"); either end None for "up to X" / "from X". ``source`` is "structured" or "text";
    ``scope`` the location, tier or role it is for when the posting states several; ``evidence`` the words or
    the structured summary it was read from. ``annual_*`` and ``usd_*`` are filled by :func:`annualise`."""

    component: str
    minimum: float | None
    maximum: float | None
    currency: str | None
    interval: str | None
    source: str
    evidence: str = ""
    scope: str | None = None
    unit: str = "money"
    summary: bool = False  # the structured object's own summary range (the primary one when present)
    annual_min: float | None = None
    annual_max: float | None = None
    usd_min: float | None = None
    usd_max: float | None = None

    @property
    def is_pay(self) -> bool:
        return self.component in PAY_COMPONENTS and self.unit == "money"


@dataclass(frozen=True)
class Refusal:
    """A figure read and refused, with the reason (``not pay: funding``, ``absurd``, ``too wide``, ...)."""

    reason: str
    evidence: str


def annualise(pay: Pay, rates: CurrencyTable) -> Pay:
    """``pay`` with its annual and USD figures (None where the interval, unit or currency does not allow)."""
    factor = PER_YEAR.get(pay.interval or "")
    if pay.unit != "money" or factor is None:
        return pay
    annual_min = None if pay.minimum is None else pay.minimum * factor
    annual_max = None if pay.maximum is None else pay.maximum * factor
    return replace(pay, annual_min=annual_min, annual_max=annual_max,
                   usd_min=rates.to_usd(annual_min, pay.currency), usd_max=rates.to_usd(annual_max, pay.currency))


def refusal_reason(pay: Pay) -> str | None:
    """Why ``pay`` (annualised) cannot be pay, or None: min above max, a range wider than 3x, an annual USD figure
    below 5,000 or above 2,000,000. Equity, bonus and commission figures are not checked for size."""
    low, high = pay.minimum, pay.maximum
    if low is not None and high is not None:
        if low > high:
            return "min above max"
        if low > 0 and high / low > MAX_SPREAD and pay.unit == "money":
            return "range wider than 3x"
    if pay.unit != "money" or pay.component not in PAY_COMPONENTS:
        return None
    usd = [v for v in (pay.usd_min, pay.usd_max) if v is not None]
    if any(v < MIN_ANNUAL_USD for v in usd):
        return "absurd: below 5,000 USD a year"
    if any(v > MAX_ANNUAL_USD for v in usd):
        return "absurd: above 2,000,000 USD a year"
    return None
