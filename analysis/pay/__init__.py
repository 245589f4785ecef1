"""Pay as postings state it: structured objects (:mod:`analysis.pay.structured`) and text
(:mod:`analysis.pay.text`), checked and annualised (:mod:`analysis.pay.ranges`), stored per posting
(:mod:`analysis.pay.store`).

:func:`extract_pay` is the whole extractor on one posting: every range of its structured pay data (the tiers'
free-text notes read as text), then every range of its text, each annualised and converted to USD with the
shipped currency table, the absurd ones refused; :attr:`PayExtraction.primary` is the range the product treats
as the posting's pay (docs/labelling-pay.md): the structured summary range when there is one, else the first
base or hourly range in reading order, else the first OTE or total range. ``docs/pay.md`` describes it all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from analysis.pay.ranges import COMPONENTS, PAY_COMPONENTS, Pay, Refusal, annualise, refusal_reason
from analysis.pay.structured import structured_pay
from analysis.pay.text import read_text
from jobtrend.currency import CurrencyTable, shipped_rates

EXTRACTOR_RULES = 1  # bump when a rule changes: every posting's pay is derived again by the next `analyze`

__all__ = ["COMPONENTS", "PAY_COMPONENTS", "Pay", "PayExtraction", "Refusal", "extract_pay", "extractor_version"]


@dataclass(frozen=True)
class PayExtraction:
    """Every range found in one posting, and every figure refused with its reason."""

    ranges: tuple[Pay, ...]
    refused: tuple[Refusal, ...] = field(default=())

    @property
    def has_pay(self) -> bool:
        return any(r.is_pay for r in self.ranges)

    @property
    def primary(self) -> Pay | None:
        pay = [r for r in self.ranges if r.is_pay]
        summary = [r for r in pay if r.source == "structured" and r.summary]
        if summary and summary[0].component in ("ote", "total"):  # a base range in a structured note beats it
            noted = [r for r in pay if r.source == "structured" and r.component in ("base", "hourly")]
            return noted[0] if noted else summary[0]
        if summary:
            return summary[0]
        return (next((r for r in pay if r.component in ("base", "hourly")), None)
                or next((r for r in pay if r.component in ("ote", "total")), None))

    def refusal_counts(self) -> Counter:
        return Counter(r.reason for r in self.refused)


def extractor_version(rates: CurrencyTable | None = None) -> str:
    """The version stored with every derived row: the rules and the currency table's digest."""
    return f"p{EXTRACTOR_RULES}-{(rates or shipped_rates()).digest}"


def extract_pay(text: str | None, pay_data: Any = None, location: str | None = None,
                rates: CurrencyTable | None = None) -> PayExtraction:
    """Every pay range of one posting: its structured ``pay_data`` (``postings.pay_data``, or a bare source
    object) and its description ``text``; ``location`` decides the currency of a figure written without one."""
    rates = rates or shipped_rates()
    refused: list[Refusal] = []

    def read_note(note: str) -> list[Pay]:
        found = read_text(note, location)
        refused.extend(found.refused)
        return found.ranges

    found = read_text(text or "", location)
    refused.extend(found.refused)
    kept: list[Pay] = []
    for pay in [*structured_pay(pay_data, read_note), *found.ranges]:
        pay = annualise(pay, rates)
        reason = refusal_reason(pay)
        if reason:
            refused.append(Refusal(reason, pay.evidence))
        else:
            kept.append(pay)
    return PayExtraction(ranges=tuple(kept), refused=tuple(refused))
