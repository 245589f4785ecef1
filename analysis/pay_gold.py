"""Read the pay gold set: real postings whose stated pay was labelled by reading (``tests/data/pay_gold_*.jsonl.gz``).

The files are what a pay extractor is scored on: ``pay_gold_dev.jsonl.gz`` may be read while building and tuning
one, ``pay_gold_heldout.jsonl.gz`` is scored as it is and never used to change anything. Each file is gzipped JSON
lines: a header (``kind: "header"``), then one posting per line with its text as the pipeline stores it, the
source's structured pay object (Ashby ``compensation``, Lever ``salaryRange``) or null, and ``labels``: whether the
posting states pay for the job, every range it states (component, min, max, currency, interval, from structured
data or from the text, the quoted evidence), the seniority read from the title, and figures that are *not* pay
(funding, valuations, 401k matches) kept as traps. ``docs/labelling-pay.md`` is the labelling guide and
``tests/data/pay_gold.README.md`` describes the files.

This module only reads and checks the files; it extracts nothing. :func:`load_pay_gold` refuses a file whose labels
break the guide's rules (an unknown component, a min above its max, a currency that is not an ISO 4217 code, ...)
with one line naming the file, the line and the problem.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobtrend.config import REPO_ROOT

DATA_DIR = REPO_ROOT / "tests" / "data"
DEV_PATH = DATA_DIR / "pay_gold_dev.jsonl.gz"
HELDOUT_PATH = DATA_DIR / "pay_gold_heldout.jsonl.gz"

COMPONENTS = frozenset({"base", "hourly", "equity", "bonus", "ote", "commission", "total"})
# Components that state what the job pays: a posting has pay when it states one of these.
PAY_COMPONENTS = frozenset({"base", "hourly", "ote", "total"})
INTERVALS = frozenset({"year", "month", "week", "day", "hour", "once"})
UNITS = frozenset({"money", "percent"})
ORIGINS = frozenset({"structured", "text"})
SENIORITIES = frozenset({"intern", "junior", "mid", "senior", "staff", "principal", "manager", "director",
                         "executive"})
SOURCE_KINDS = frozenset({"ashby", "greenhouse", "hn", "lever"})

# Active ISO 4217 currency codes (the list published by SIX, 2024).
_ISO_4217_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
"""
ISO_4217 = frozenset(_ISO_4217_CODES.split())


class PayGoldError(ValueError):
    """A gold file that cannot be read or breaks the labelling rules; the message is one line."""


@dataclass(frozen=True)
class PayRange:
    """One stated range: ``minimum``/``maximum`` as written (currency units per ``interval``, or percent),
    either of them None for "up to X" / "from X"."""

    component: str
    minimum: float | None
    maximum: float | None
    currency: str | None
    interval: str | None
    unit: str
    origin: str
    evidence: str
    scope: str | None
    primary: bool

    @property
    def is_pay(self) -> bool:
        return self.component in PAY_COMPONENTS


@dataclass(frozen=True)
class NotPay:
    """A figure in the posting that is not pay (funding, a valuation, a 401k match, ...), kept as a trap."""

    kind: str
    evidence: str


@dataclass(frozen=True)
class PayLabels:
    has_pay: bool
    seniority: str | None
    ranges: tuple[PayRange, ...]
    not_pay: tuple[NotPay, ...]
    notes: str | None

    @property
    def primary(self) -> PayRange | None:
        """The range the product should treat as "the" pay of the posting (docs/labelling-pay.md)."""
        return next((r for r in self.ranges if r.primary), None)


@dataclass(frozen=True)
class PayPosting:
    id: str
    source: str
    external_id: str
    company: str | None
    title: str
    location: str | None
    text: str
    structured: dict | None
    stratum: str
    region: str
    labels: PayLabels

    @property
    def source_kind(self) -> str:
        return self.source.split(":", 1)[0]


@dataclass(frozen=True)
class PayGold:
    header: dict
    postings: tuple[PayPosting, ...]


def load_pay_gold(path: Path) -> PayGold:
    """The header and postings of the gold file ``path`` (``.jsonl`` or ``.jsonl.gz``), every label checked."""
    header: dict | None = None
    postings: list[PayPosting] = []
    try:
        with _open(path) as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                row = _json_object(line, path, number)
                if row.get("kind") == "header":
                    header = row
                    continue
                try:
                    postings.append(_posting(row))
                except (KeyError, TypeError, ValueError) as error:
                    raise PayGoldError(f"{path}:{number}: {_reason(error)}") from None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise PayGoldError(f"{path}: cannot read: {error}") from None
    if header is None:
        raise PayGoldError(f"{path}: no header line")
    duplicate = _first_duplicate(p.id for p in postings)
    if duplicate:
        raise PayGoldError(f"{path}: id {duplicate} occurs twice")
    return PayGold(header=header, postings=tuple(postings))


def load_all() -> tuple[PayPosting, ...]:
    """The postings of both shipped files, dev first."""
    return load_pay_gold(DEV_PATH).postings + load_pay_gold(HELDOUT_PATH).postings


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def _json_object(line: str, path: Path, number: int) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise PayGoldError(f"{path}:{number}: not JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise PayGoldError(f"{path}:{number}: not a JSON object")
    return row


def _reason(error: Exception) -> str:
    return f"missing key {error}" if isinstance(error, KeyError) else str(error)


def _first_duplicate(ids) -> str | None:
    seen: set[str] = set()
    for pid in ids:
        if pid in seen:
            return pid
        seen.add(pid)
    return None


def _posting(row: dict) -> PayPosting:
    pid = _text(row["id"], "id")
    source = _text(row["source"], "source")
    if source.split(":", 1)[0] not in SOURCE_KINDS or ":" not in source:
        raise ValueError(f"{pid}: source {source!r} is not '<ashby|greenhouse|hn|lever>:<name>'")
    structured = row["structured"]
    if structured is not None and not isinstance(structured, dict):
        raise ValueError(f"{pid}: structured is neither an object nor null")
    text = _text(row["text"], "text", empty=True)
    labels = _labels(row["labels"], pid, text, structured)
    return PayPosting(id=pid, source=source, external_id=_text(row["external_id"], "external_id"),
                      company=row["company"], title=_text(row["title"], "title", empty=True),
                      location=row["location"], text=text, structured=structured, stratum=row["stratum"],
                      region=row["region"], labels=labels)


def _labels(raw: Any, pid: str, text: str, structured: dict | None) -> PayLabels:
    if not isinstance(raw, dict):
        raise ValueError(f"{pid}: labels is not an object")
    ranges = tuple(_range(r, pid, text, structured) for r in raw["ranges"])
    not_pay = tuple(NotPay(kind=_text(n["kind"], "not_pay kind"), evidence=_text(n["evidence"], "not_pay evidence"))
                    for n in raw["not_pay"])
    seniority = raw["seniority"]
    if seniority is not None and seniority not in SENIORITIES:
        raise ValueError(f"{pid}: seniority {seniority!r} is not one of {sorted(SENIORITIES)}")
    has_pay = raw["has_pay"]
    if not isinstance(has_pay, bool):
        raise ValueError(f"{pid}: has_pay is not true or false")
    if has_pay != any(r.is_pay for r in ranges):
        raise ValueError(f"{pid}: has_pay is {has_pay} but the pay ranges (base, hourly, ote, total) say otherwise")
    primaries = [r for r in ranges if r.primary]
    if len(primaries) != (1 if has_pay else 0) or any(not r.is_pay for r in primaries):
        raise ValueError(f"{pid}: a posting with pay needs exactly one primary pay range, one without pay none")
    return PayLabels(has_pay=has_pay, seniority=seniority, ranges=ranges, not_pay=not_pay, notes=raw["notes"])


def _range(raw: dict, pid: str, text: str, structured: dict | None) -> PayRange:
    pay = PayRange(component=raw["component"], minimum=_number(raw["min"], pid), maximum=_number(raw["max"], pid),
                   currency=raw["currency"], interval=raw["interval"], unit=raw["unit"], origin=raw["from"],
                   evidence=_text(raw["evidence"], "evidence"), scope=raw["scope"], primary=raw["primary"] is True)
    problem = range_problem(pay)
    if problem:
        raise ValueError(f"{pid}: {problem}")
    if pay.origin == "text" and pay.evidence not in text:
        raise ValueError(f"{pid}: text evidence {pay.evidence!r} is not in the posting's text")
    if pay.origin == "structured" and structured is None:
        raise ValueError(f"{pid}: a structured range on a posting without structured data")
    return pay


def range_problem(pay: PayRange) -> str | None:
    """Why ``pay`` breaks the guide's rules, or None when it is consistent."""
    if pay.component not in COMPONENTS:
        return f"component {pay.component!r} is not one of {sorted(COMPONENTS)}"
    if pay.origin not in ORIGINS:
        return f"from {pay.origin!r} is not 'structured' or 'text'"
    if pay.unit not in UNITS:
        return f"unit {pay.unit!r} is not 'money' or 'percent'"
    if pay.minimum is None and pay.maximum is None:
        return "a range needs a min or a max"
    if pay.minimum is not None and pay.maximum is not None and pay.minimum > pay.maximum:
        return f"min {pay.minimum} is above max {pay.maximum}"
    if any(value is not None and value < 0 for value in (pay.minimum, pay.maximum)):
        return "a negative figure"
    if pay.unit == "percent":
        return "a percentage has no currency" if pay.currency is not None else None
    if pay.currency not in ISO_4217:
        return f"currency {pay.currency!r} is not an ISO 4217 code"
    if pay.interval not in INTERVALS:
        return f"interval {pay.interval!r} is not one of {sorted(INTERVALS)}"
    if (pay.component == "hourly") != (pay.interval == "hour"):
        return "hourly pay, and only hourly pay, is per hour"
    return None


def _number(value: Any, pid: str) -> float | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{pid}: {value!r} is not a number or null")


def _text(value: Any, name: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ValueError(f"{name} is not a non-empty string" if not empty else f"{name} is not a string")
    return value
