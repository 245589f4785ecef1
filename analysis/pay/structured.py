"""Pay from a source's own structured object, as the crawler stores it in ``postings.pay_data``.

``pay_data`` is ``{"kind": K, "data": D}`` with K one of ``ashby`` (the job's ``compensation``), ``lever`` (its
``salaryRange``), ``jsonld`` (``baseSalary``, or ``estimatedSalary`` when no base salary is given) and
``greenhouse`` (the pay-range blocks of the job's content, or its ``pay_input_ranges``); a bare object of one of
these shapes (the pay gold set's ``structured``) is recognised by its keys.

- Ashby: the ``summaryComponents`` are the summary ranges; with several tiers each tier's components are also
  read, with the tier title as scope. ``Salary`` is ``base`` (``hourly`` per hour) unless the component's own
  summary calls it on-target earnings (``ote``) or salary plus equity (``total``); ``EquityPercentage`` and
  ``EquityCashValue`` are ``equity``, ``Bonus`` ``bonus``, ``Commission`` ``commission``; a component without
  figures ("Offers Bonus") is no range. A range written in a tier's ``additionalInformation`` is read by the
  text extractor and kept as structured. An interval the summary contradicts ("PHP/month" on ``1 YEAR``) follows
  the summary.
- Lever: ``{currency, interval: per-year-salary|per-month-salary|per-week-salary|per-day-wage|per-hour-wage|
  one-time, min, max}``.
- JSON-LD: ``MonetaryAmount`` with a ``QuantitativeValue`` (``minValue``/``maxValue`` or ``value``) or a bare
  number, ``unitText`` HOUR, DAY, WEEK, MONTH or YEAR; a list of them gives one range each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from analysis.pay.ranges import Pay

ASHBY_INTERVALS = {"1 YEAR": "year", "1 MONTH": "month", "2 WEEK": None, "1 WEEK": "week", "1 DAY": "day",
                   "1 HOUR": "hour", "ONE_TIME": "once", "NONE": None}
ASHBY_COMPONENTS = {"Salary": "base", "EquityPercentage": "equity", "EquityCashValue": "equity", "Bonus": "bonus",
                    "Commission": "commission"}
LEVER_INTERVALS = {"per-year-salary": "year", "per-month-salary": "month", "per-week-salary": "week",
                   "per-day-wage": "day", "per-hour-wage": "hour", "one-time": "once"}
UNIT_TEXTS = {"YEAR": "year", "ANNUAL": "year", "MONTH": "month", "WEEK": "week", "DAY": "day", "HOUR": "hour"}
OTE_WORDS = re.compile(r"on[- ]target|\bOTE\b|earning potential", re.I)
TOTAL_WORDS = re.compile(r"base (?:plus|\+|and) equity|salary (?:plus|\+|and) equity|includ\w* equity", re.I)
SUMMARY_INTERVALS = ((re.compile(r"/\s?month|per month|monthly", re.I), "month"),
                     (re.compile(r"/\s?h(?:ou)?r\b|per hour|hourly", re.I), "hour"))

TextReader = Callable[[str], list[Pay]]


def structured_pay(pay_data: Any, read_text: TextReader | None = None) -> list[Pay]:
    """Every range in ``pay_data`` (see the module docstring); ``read_text`` reads Ashby's free-text tier
    information. Anything unreadable gives no range."""
    kind, data = _kind_and_data(pay_data)
    reader = {"ashby": _ashby, "lever": _lever, "jsonld": _jsonld, "greenhouse": _greenhouse}.get(kind)
    if reader is None or data is None:
        return []
    return list(reader(data, read_text))


def _kind_and_data(pay_data: Any) -> tuple[str | None, Any]:
    if not isinstance(pay_data, dict):
        return (None, None) if not isinstance(pay_data, list) else ("jsonld", pay_data)
    if "kind" in pay_data and "data" in pay_data:
        return pay_data["kind"], pay_data["data"]
    if "summaryComponents" in pay_data or "compensationTiers" in pay_data:
        return "ashby", pay_data
    if "interval" in pay_data and ("min" in pay_data or "max" in pay_data):
        return "lever", pay_data
    if "@type" in pay_data or "value" in pay_data:
        return "jsonld", pay_data
    return None, None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None


def _ashby(data: dict, read_text: TextReader | None) -> Iterator[Pay]:
    tiers = [t for t in data.get("compensationTiers") or () if isinstance(t, dict)]
    summaries = {_signature(c): c.get("summary") for t in tiers for c in t.get("components") or ()
                 if isinstance(c, dict)}
    for component in data.get("summaryComponents") or ():
        pay = _ashby_component(component, summaries.get(_signature(component)) or "", None, is_summary=True)
        if pay is not None:
            yield pay
    for tier in tiers:
        scope = tier.get("title") if len(tiers) > 1 else None
        if len(tiers) > 1:
            for component in tier.get("components") or ():
                pay = _ashby_component(component, component.get("summary") or "", scope or "tier", is_summary=False)
                if pay is not None:
                    yield pay
        extra = tier.get("additionalInformation")
        if read_text is not None and isinstance(extra, str) and extra.strip():
            for pay in read_text(extra):
                yield Pay(**{**pay.__dict__, "source": "structured", "scope": scope or pay.scope})


def _signature(component: Any) -> tuple:
    if not isinstance(component, dict):
        return ()
    return tuple(component.get(k) for k in ("compensationType", "interval", "currencyCode", "minValue", "maxValue"))


def _ashby_component(component: Any, summary: str, scope: str | None, *, is_summary: bool) -> Pay | None:
    if not isinstance(component, dict):
        return None
    kind = ASHBY_COMPONENTS.get(component.get("compensationType"))
    low, high = _number(component.get("minValue")), _number(component.get("maxValue"))
    if kind is None or (low is None and high is None):
        return None
    interval = ASHBY_INTERVALS.get(component.get("interval"))
    for pattern, said in SUMMARY_INTERVALS:
        if pattern.search(summary):
            interval = said
    percent = component.get("compensationType") == "EquityPercentage"
    if kind == "base":
        kind = "ote" if OTE_WORDS.search(summary) else "total" if TOTAL_WORDS.search(summary) else kind
        kind = "hourly" if interval == "hour" and kind == "base" else kind
    return Pay(component=kind, minimum=low, maximum=high, currency=None if percent else component.get("currencyCode"),
               interval=None if percent else interval, source="structured", evidence=summary, scope=scope,
               unit="percent" if percent else "money", summary=is_summary)


def _lever(data: dict, read_text: TextReader | None) -> Iterator[Pay]:
    low, high = _number(data.get("min")), _number(data.get("max"))
    if not low and not high:
        return
    interval = LEVER_INTERVALS.get(str(data.get("interval") or ""))
    yield Pay(component="hourly" if interval == "hour" else "base", minimum=low or None, maximum=high or None,
              currency=_code(data.get("currency")), interval=interval, source="structured",
              evidence=_evidence(data), summary=True)


def _jsonld(data: Any, read_text: TextReader | None) -> Iterator[Pay]:
    for amount in data if isinstance(data, list) else [data]:
        if not isinstance(amount, dict):
            continue
        value = amount.get("value")
        unit = amount.get("unitText")
        if isinstance(value, dict):
            low = _number(value.get("minValue"))
            high = _number(value.get("maxValue"))
            single = _number(value.get("value"))
            unit = value.get("unitText") or unit
        else:
            low = high = None
            single = _number(value)
        if low is None and high is None:
            low = high = single
        if low is None and high is None:
            continue
        interval = UNIT_TEXTS.get(str(unit or "YEAR").strip().upper())
        yield Pay(component="hourly" if interval == "hour" else "base", minimum=low, maximum=high,
                  currency=_code(amount.get("currency")), interval=interval, source="structured",
                  evidence=_evidence(amount), summary=True)


def _greenhouse(data: Any, read_text: TextReader | None) -> Iterator[Pay]:
    """Greenhouse ``pay_input_ranges`` (``min_cents``, ``max_cents``, ``currency_type``, ``title``) or the
    content's pay-range blocks as the spider keeps them (``{"title", "text"}``, read by the text extractor)."""
    blocks = [b for b in data if isinstance(b, dict)] if isinstance(data, list) else []
    scoped = len(blocks) > 1
    for block in blocks:
        scope = (block.get("title") or None) if scoped else None
        if "min_cents" in block or "max_cents" in block:
            low, high = _number(block.get("min_cents")), _number(block.get("max_cents"))
            if low is None and high is None:
                continue
            yield Pay(component="base", minimum=None if low is None else low / 100,
                      maximum=None if high is None else high / 100, currency=_code(block.get("currency_type")),
                      interval="year", source="structured", evidence=_evidence(block), scope=scope,
                      summary=block is blocks[0])
        elif read_text is not None and isinstance(block.get("text"), str):
            for pay in read_text(f"{block.get('title') or 'Pay range'}: {block['text']}"):
                yield Pay(**{**pay.__dict__, "source": "structured", "scope": scope, "summary": block is blocks[0]})


def _code(value: Any) -> str | None:
    return value.strip().upper() if isinstance(value, str) and len(value.strip()) == 3 else None


def _evidence(data: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if not isinstance(v, dict | list))[:300]
