"""Pay written in text (analysis/pay/text.py through extract_pay): the forms postings use, and what is refused."""

from __future__ import annotations

import pytest

from analysis.pay import extract_pay
from analysis.pay.text import read_text
from jobtrend.currency import shipped_rates


def ranges(text: str, location: str | None = None) -> list[tuple]:
    found = extract_pay(text, None, location)
    return [(r.component, r.minimum, r.maximum, r.currency, r.interval) for r in found.ranges]


def reasons(text: str) -> list[str]:
    return [r.reason for r in extract_pay(text).refused]


@pytest.mark.parametrize(("text", "expected"), [
    ("$150k-$200k + equity", ("base", 150000, 200000, "USD", "year")),
    ("$150,000 - $200,000", ("base", 150000, 200000, "USD", "year")),
    ("The base salary range for this role is $162,000 - $218,000", ("base", 162000, 218000, "USD", "year")),
    ("EUR 70-90k", ("base", 70000, 90000, "EUR", "year")),
    ("€70.000–€90.000", ("base", 70000, 90000, "EUR", "year")),
    ("£60k-£80k", ("base", 60000, 80000, "GBP", "year")),
    ("$60-$80/hr", ("hourly", 60, 80, "USD", "hour")),
    ("180-220K USD", ("base", 180000, 220000, "USD", "year")),
    ("CA$140,000—CA$180,000 CAD", ("base", 140000, 180000, "CAD", "year")),
    ("Salary: up to $200k", ("base", None, 200000, "USD", "year")),
    ("Acme | Staff ML Engineer | SF | $150k–195k USD + equity", ("base", 150000, 195000, "USD", "year")),
    ("Acme | Remote | $200K USD+ | https://acme.example", ("base", 200000, None, "USD", "year")),
    ("Senior Full Stack JavaScript Developer ($125-200k USD)", ("base", 125000, 200000, "USD", "year")),
    ("between $172,000 CAD and $232,000 CAD", ("base", 172000, 232000, "CAD", "year")),
    ("SALARY: 556€-850€", ("base", 556, 850, "EUR", "month")),
    ("competitive pay that starts at P100K per month", ("base", 100000, None, "PHP", "month")),
    ("$225K–$335K USD/year OTE", ("ote", 225000, 335000, "USD", "year")),
    ("$150K-$260K annual total comp", ("total", 150000, 260000, "USD", "year")),
    ("$200,000 - $400,000 a year\nThe above compensation range includes salary + equity.",
     ("total", 200000, 400000, "USD", "year")),
    ("an hourly rate equivalent to an annualized range of $105,000-126,000", ("base", 105000, 126000, "USD", "year")),
    ("Pay range: $168,00 -$210,000", ("base", 168000, 210000, "USD", "year")),
    ("between $131,500 CAD[minimum salary in our lowest geographic market] to $174,500 CAD[maximum salary]",
     ("base", 131500, 174500, "CAD", "year")),
    ("Junior SWE ($300k + equity), SWE ($350k + equity)", ("base", 300000, 300000, "USD", "year")),
    ("Comp: ₹40L–₹70L base + meaningful equity", ("base", 4_000_000, 7_000_000, "INR", "year")),
])
def test_the_forms_postings_write_pay_in(text, expected):
    assert ranges(text)[0] == expected


def test_a_figure_without_currency_takes_the_locations():
    assert ranges("Salary 70-90k", "Berlin, Germany")[0][3] == "EUR"
    assert ranges("Salary 70-90k", "London")[0][3] == "GBP"
    assert ranges("Salary 70-90k", "New York")[0][3] == "USD"


@pytest.mark.parametrize(("text", "reason"), [
    ("We raised $34m in our Series B.", "not pay: funding"),
    ("We just closed a $25M Series A.", "not pay: funding"),
    ("a post-money valuation of $1.7bn", "not pay: valuation"),
    ("We grew to $1M ARR last year.", "not pay: revenue"),
    ("automating the $7T insurance industry", "not pay: market size"),
    ("We manage $10B in freight", "not pay: volume"),
    ("Maluuba's $160M acquisition by Microsoft", "not pay: millions"),
    ("401k with 100% match up to $10,000 per year", "not pay: 401k"),
    ("- $500/month to be used for dependent health insurance coverage", "not pay: a lone figure"),
    ("a $50/month wellness stipend", "not pay: benefit"),
    ("Best submission gets $500", "not pay: prize"),
    ("Salary: $5k-$30k", "range wider than 3x"),
    ("Salary: $150 per year", "absurd: below 5,000 USD a year"),
    ("Salary: $3,000,000 - $4,000,000", "absurd: above 2,000,000 USD a year"),
    ("Salary: $0 - $50,000", "absurd: below 5,000 USD a year"),
])
def test_figures_that_are_not_pay_are_refused_with_their_reason(text, reason):
    assert ranges(text) == []
    assert reason in reasons(text)


@pytest.mark.parametrize("text", [
    "Competitive salary and equity.", "4-6 years of experience", "a team of 5-10 engineers",
    "10-12 hours a day", "5-10 minutes per patient", "We offer a 401(k) plan.", "Founded 2019-2021",
])
def test_no_money_no_range(text):
    assert ranges(text) == [] and read_text(text).ranges == []


def test_a_range_with_a_pay_word_survives_a_benefit_after_it():
    assert ranges("Salary: $150k-$200k + 401k match")[0][1:3] == (150000, 200000)


def test_several_ranges_are_kept_in_reading_order_and_the_first_base_is_primary():
    text = ("The annual base salary for this role is between $190,000 USD and $258,000 USD (US).\n"
            "The annual base salary for this role is between $172,000 CAD and $232,000 CAD (Canada).")
    found = extract_pay(text)
    assert [(r.minimum, r.currency) for r in found.ranges] == [(190000, "USD"), (172000, "CAD")]
    assert found.primary.currency == "USD" and found.has_pay


def test_annual_and_usd_figures_follow_the_interval_and_the_currency_table():
    hourly = extract_pay("$60-$80/hr").ranges[0]
    assert (hourly.annual_min, hourly.annual_max) == (60 * 2080, 80 * 2080)
    monthly = extract_pay("SALARY: 556€-850€").ranges[0]
    eur = shipped_rates().usd_per_unit["EUR"]
    assert monthly.annual_min == 556 * 12 and monthly.usd_min == round(556 * 12 * eur)
