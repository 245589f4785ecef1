"""Pay from structured objects (analysis/pay/structured.py), the primary range, the currency table."""

from __future__ import annotations

import pytest

from analysis.pay import extract_pay, extractor_version
from jobtrend.currency import CurrencyTableError, load_rates, shipped_rates


def ashby(*components, tiers=None) -> dict:
    summary = [{k: v for k, v in c.items() if k != "summary"} for c in components]
    return {"compensationTierSummary": "x", "summaryComponents": summary,
            "compensationTiers": tiers if tiers is not None else [
                {"title": None, "additionalInformation": None, "components": list(components)}]}


def salary(low, high, *, currency="USD", interval="1 YEAR", summary="$1 – $2"):
    return {"compensationType": "Salary", "interval": interval, "currencyCode": currency, "minValue": low,
            "maxValue": high, "summary": summary}


def found(pay_data, text: str = "") -> list[tuple]:
    return [(r.component, r.minimum, r.maximum, r.currency, r.interval, r.unit, r.scope)
            for r in extract_pay(text, pay_data).ranges]


def test_ashby_summary_components_with_and_without_figures():
    data = ashby(salary(140000, 160000, summary="$140K – $160K"),
                 {"compensationType": "Bonus", "interval": "1 YEAR", "currencyCode": "USD", "minValue": None,
                  "maxValue": None, "summary": "Offers Bonus"},
                 {"compensationType": "EquityPercentage", "interval": "NONE", "currencyCode": None, "minValue": 0.5,
                  "maxValue": 1, "summary": "0.5% – 1%"})
    assert found(data) == [("base", 140000, 160000, "USD", "year", "money", None),
                           ("equity", 0.5, 1, None, None, "percent", None)]
    assert extract_pay("", {"kind": "ashby", "data": data}).primary.maximum == 160000


def test_ashby_salary_per_hour_is_hourly_and_its_own_words_correct_type_and_interval():
    assert found(ashby(salary(40, 45, interval="1 HOUR")))[0][:5] == ("hourly", 40, 45, "USD", "hour")
    ote = salary(80000, 120000, summary="Estimated annual on-target earnings: $80K – $120K")
    assert found(ashby(ote))[0][0] == "ote"
    total = salary(212000, 469000, summary="Total Comp (Base plus Equity) $212K – $469K")
    assert found(ashby(total))[0][0] == "total"
    monthly = salary(230000, 300000, currency="PHP", summary="Ranges from 230,000-300,000 PHP/month")
    assert found(ashby(monthly))[0][4] == "month"


def test_a_base_range_in_a_tier_note_beats_a_structured_ote():
    ote = salary(80000, 120000, summary="Estimated annual on-target earnings: $80K – $120K")
    data = ashby(ote, tiers=[{"title": None, "components": [ote],
                              "additionalInformation": "Estimated base salary range: $64,000 - $100,000 USD"}])
    primary = extract_pay("", data).primary
    assert (primary.component, primary.minimum, primary.maximum, primary.source) == ("base", 64000, 100000,
                                                                                     "structured")


def test_ashby_tiers_are_kept_with_their_title_as_scope():
    us, eu = salary(150000, 180000, summary="$150K – $180K"), salary(90000, 110000, currency="EUR")
    data = ashby(us, tiers=[{"title": "US", "components": [us]}, {"title": "Europe", "components": [eu]}])
    assert [(r[1], r[6]) for r in found(data)] == [(150000, None), (150000, "US"), (90000, "Europe")]


def test_an_absurd_structured_salary_is_refused():
    result = extract_pay("", ashby(salary(150, 150, summary="$150")))
    assert result.ranges == () and not result.has_pay
    assert [r.reason for r in result.refused] == ["absurd: below 5,000 USD a year"]


@pytest.mark.parametrize(("interval", "expected"), [
    ("per-year-salary", ("base", "year")), ("per-month-salary", ("base", "month")),
    ("per-hour-wage", ("hourly", "hour")), ("per-day-wage", ("base", "day"))])
def test_lever_salary_range(interval, expected):
    low = 100 if interval == "per-hour-wage" else 1000 if interval == "per-day-wage" else 9000
    data = {"currency": "GBP", "interval": interval, "min": low, "max": low * 1.2}
    (component, minimum, _maximum, currency, unit_interval, _unit, _scope), = found(data)
    assert (component, unit_interval, minimum, currency) == (*expected, low, "GBP")


@pytest.mark.parametrize(("unit", "interval"), [("YEAR", "year"), ("MONTH", "month"), ("WEEK", "week"),
                                                 ("DAY", "day"), ("HOUR", "hour")])
def test_json_ld_base_salary_every_unit_text(unit, interval):
    value = {"HOUR": 50, "DAY": 400, "WEEK": 2000, "MONTH": 8000, "YEAR": 100000}[unit]
    data = {"@type": "MonetaryAmount", "currency": "EUR",
            "value": {"@type": "QuantitativeValue", "minValue": value, "maxValue": value * 1.5, "unitText": unit}}
    assert found({"kind": "jsonld", "data": data})[0][1:5] == (value, value * 1.5, "EUR", interval)


def test_json_ld_single_value_and_list():
    single = {"@type": "MonetaryAmount", "currency": "USD", "value": {"value": 120000, "unitText": "YEAR"}}
    bare = {"@type": "MonetaryAmount", "currency": "USD", "value": 130000}
    assert [r[1:3] for r in found({"kind": "jsonld", "data": [single, bare]})] == [(120000, 120000),
                                                                                  (130000, 130000)]


def test_greenhouse_pay_input_ranges_and_blocks():
    cents = [{"min_cents": 15000000, "max_cents": 20000000, "currency_type": "USD", "title": "US"}]
    assert found({"kind": "greenhouse", "data": cents})[0][:5] == ("base", 150000, 200000, "USD", "year")
    blocks = [{"title": "Mexico Monthly Pay Range", "text": "MX$50,000 — MX$70,000 MXN"},
              {"title": "US Pay Range", "text": "$190,800 — $267,100 USD"}]
    result = extract_pay("", {"kind": "greenhouse", "data": blocks})
    assert [(r.minimum, r.currency, r.interval, r.scope) for r in result.ranges] == [
        (50000, "MXN", "month", "Mexico Monthly Pay Range"), (190800, "USD", "year", "US Pay Range")]
    assert result.primary.currency == "MXN"  # the first block, as the posting lists it


def test_unreadable_pay_data_gives_nothing():
    for data in (None, "x", 3, {"kind": "ashby", "data": None}, {"kind": "nope", "data": {}}, {"a": 1},
                 {"kind": "ashby", "data": {"summaryComponents": ["x", {"compensationType": "Salary"}]}}):
        assert extract_pay("", data).ranges == ()


def test_the_shipped_currency_table_is_dated_and_versions_the_extractor(tmp_path):
    rates = shipped_rates()
    assert rates.date == "2025-12-16" and rates.usd_per_unit["USD"] == 1.0
    assert round(rates.usd_per_unit["EUR"], 4) == 1.1776  # 0.85986 / 0.73018 SDR, as the IMF published them
    assert "CHF" not in rates.usd_per_unit  # not in the published excerpt: no guessed rate
    assert rates.to_usd(100, "EUR") == round(100 * rates.usd_per_unit["EUR"]) and rates.to_usd(1, "XXX") is None
    bad = tmp_path / "rates.toml"
    bad.write_text('date = "2025-01-01"\nsource = "x"\n[usd_per_unit]\neur = 1.1\n')
    with pytest.raises(CurrencyTableError, match="eur is not a 3-letter code"):
        load_rates(bad)
    other = tmp_path / "other.toml"
    other.write_text('date = "2026-01-01"\nsource = "x"\n[usd_per_unit]\nUSD = 1.0\nEUR = 1.2\n')
    assert extractor_version(load_rates(other)) != extractor_version(rates)
    with pytest.raises(CurrencyTableError, match="cannot read"):
        load_rates(tmp_path / "missing.toml")
