"""Pay statistics (analysis/pay_stats.py) and the pay views of migration 0010, on SQLite and PostgreSQL: which
postings count, like-with-like components, currencies, regions, specialisations, the seeded bootstrap."""

from __future__ import annotations

import datetime as dt
import statistics
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from analysis.alert_rules import PayChangeRule, load_alert_rules
from analysis.alerts import evaluate_alerts
from analysis.filters import PostingFilter
from analysis.pay.store import derive_pay
from analysis.pay_stats import (
    MIN_N,
    REGIONS,
    SPECIALISATIONS,
    PayQueryError,
    check_options,
    difference_interval,
    format_csv,
    format_json,
    format_text,
    group_table,
    median_interval,
    pay_records,
    pay_stats,
    region_of,
    specialisation_table,
)
from analysis.report import PAY_CID, build_report
from jobtrend.config import ConfigError
from jobtrend.models import Framework, Mention
from jobtrend.weeks import utcnow
from tests.analysis.factories import add_posting, add_source, classify_posting, edit_posting

FRAMEWORKS_TOML = Path(__file__).resolve().parents[2] / "config" / "frameworks.toml"
WEEK = dt.date(2026, 3, 2)
NEXT_MONTH = dt.date(2026, 4, 6)

# midpoints in thousands of USD: each posting states "$<mid - 10>,000 - $<mid + 10>,000"
SWE_MIDS = [150, 160, 170, 180, 190, 200, 210, 220, 230, 240, 250, 260]  # 12: low n
ML_MIDS = [180 + 5 * i for i in range(24)]  # 24
VLLM_ML = 6  # the highest-paid six ML Engineer postings mention vLLM


@dataclass
class PayDb:
    """Ids of the seeded postings."""

    swe: list[int] = field(default_factory=list)
    ml: list[int] = field(default_factory=list)
    vllm: list[int] = field(default_factory=list)
    hourly: int = 0
    ote: int = 0
    eur: int = 0
    not_ai: int = 0
    duplicate: int = 0
    no_text: int = 0
    engine: Any = None


def salary(mid: int) -> str:
    return f"The base salary range for this role is ${mid - 10},000 - ${mid + 10},000 per year."


def build_pay_db(engine) -> PayDb:
    """A small demo-like database: classified AI roles with posted pay (one stated hourly, one OTE, one in EUR),
    a not-AI posting, a duplicate and a posting without description; vLLM mentions; pay derived by the real
    extractor (``derive_pay``)."""
    db = PayDb(engine=engine)
    source = add_source(engine)

    def posting(title, body, role, *, location="San Francisco, CA", week=WEEK):
        pid = add_posting(engine, source, title=title, text=body, week=week)
        edit_posting(engine, pid, location=location, analyzed_at=utcnow())
        if role != "unclassified":
            classify_posting(engine, pid, role)
        return pid

    for i, mid in enumerate(SWE_MIDS):
        db.swe.append(posting("Senior AI Engineer" if i % 2 else "AI Engineer", salary(mid), "ai_swe",
                              week=NEXT_MONTH if i < 4 else WEEK))
    for i, mid in enumerate(ML_MIDS):
        title = "Senior Machine Learning Engineer" if i % 2 else "Machine Learning Engineer"
        pid = posting(title, salary(mid), "ml_engineer", location="Remote (US)" if i % 3 == 0 else "New York, NY")
        db.ml.append(pid)
        if i >= len(ML_MIDS) - VLLM_ML:
            db.vllm.append(pid)
    db.hourly = posting("AI Engineer", "Pay: $60-$80/hr for this contract role.", "ai_swe")
    db.ote = posting("AI Solutions Engineer", "OTE: $300,000 - $400,000 on-target earnings.", "ai_swe")
    db.eur = posting("ML Engineer", "Salary EUR 70-90k per year.", "ml_engineer", location="Berlin, Germany")
    db.not_ai = posting("Account Executive", salary(120), None)
    db.duplicate = add_posting(engine, source, title="AI Engineer", text=salary(900), week=WEEK,
                               duplicate_of=db.swe[0])
    edit_posting(engine, db.duplicate, analyzed_at=utcnow())
    classify_posting(engine, db.duplicate, "ai_swe")
    db.no_text = posting("AI Engineer", "", "ai_swe")
    with engine.begin() as conn:
        vllm = conn.execute(insert(Framework).returning(Framework.id),
                            {"slug": "vllm", "name": "vLLM", "category": "serving"}).scalar_one()
        conn.execute(insert(Mention), [{"posting_id": pid, "framework_id": vllm, "count": 1, "taxonomy_version": "t"}
                                       for pid in db.vllm])
    derive_pay(engine)
    return db


@pytest.fixture
def pay_db(engine) -> PayDb:
    return build_pay_db(engine)


# --- regions -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("location", "remote", "region"), [
    ("San Francisco, CA", None, "US"),
    ("New York, NY", False, "US"),
    ("Remote (US)", None, "remote-US"),
    ("Seattle, WA", True, "remote-US"),
    ("United States - Remote", None, "remote-US"),
    ("Toronto, ON, Canada", None, "Canada"),
    ("London, UK", None, "UK"),
    ("Berlin, Germany", None, "EU"),
    ("Amsterdam", True, "EU"),
    ("Bengaluru, India", None, "India"),
    ("Remote", True, "other"),
    ("Singapore", None, "other"),
    ("Austin, TX or London", None, "US"),  # two places: the first region in order
    ("Berlin or London", None, "UK"),  # "or" is not Oregon
    ("Business Park", None, "other"),  # "us" only as a whole word
    (None, None, "unknown"),
    ("   ", True, "unknown"),
])
def test_region_of_a_location(location, remote, region):
    assert region_of(location, remote) == region
    assert region in REGIONS


# --- specialisations ------------------------------------------------------------------------------------------

def test_every_specialisation_slug_is_a_taxonomy_entry():
    with FRAMEWORKS_TOML.open("rb") as fh:
        slugs = {entry["slug"] for entry in tomllib.load(fh)["frameworks"]}
    for name, members in SPECIALISATIONS.items():
        assert set(members) <= slugs, (name, set(members) - slugs)
        assert len(set(members)) == len(members)


def test_the_specialisations_do_not_overlap_and_hold_the_named_entries():
    groups = [set(members) for members in SPECIALISATIONS.values()]
    assert sum(map(len, groups)) == len(set().union(*groups))
    assert {"quantization", "tensorrt-llm", "vllm", "cuda"} <= set(SPECIALISATIONS["inference"])
    assert {"rlhf", "lora", "dpo"} <= set(SPECIALISATIONS["fine-tuning"])
    assert "evals" in SPECIALISATIONS["evals"]
    assert {"rag", "langchain", "pgvector"} <= set(SPECIALISATIONS["rag-agents"])


# --- the bootstrap -------------------------------------------------------------------------------------------

def test_the_median_interval_is_seeded_and_holds_the_median():
    values = [100.0, 120, 130, 150, 170, 180, 200, 210, 260, 400]
    low, high = median_interval(values)
    assert (low, high) == median_interval(values)  # the same data, the same interval
    assert low <= statistics.median(values) <= high
    assert low >= 120 and high <= 260  # a median's resamples stay inside the middle of the data
    assert median_interval([5.0] * 8) == (5.0, 5.0)


def test_the_difference_interval_excludes_zero_only_for_a_real_gap():
    low = [100.0 + i for i in range(30)]
    high = [200.0 + i for i in range(30)]
    gap = difference_interval(high, low)
    assert 90 < gap[0] <= gap[1] < 110
    same = difference_interval(low, list(reversed(low)))
    assert same[0] < 0 < same[1]


# --- which postings count -------------------------------------------------------------------------------------

def test_the_ai_cohort_counts_base_and_hourly_of_measured_ai_postings(pay_db):
    records = {r.posting_id: r for r in pay_records(pay_db.engine)}
    expected = {*pay_db.swe, *pay_db.ml, pay_db.hourly, pay_db.eur}
    assert set(records) == expected  # not the OTE, the not-AI, the duplicate or the posting without text
    assert records[pay_db.hourly].value == pytest.approx(70 * 2080)  # $60-80/hr: 40 h x 52 weeks
    assert records[pay_db.swe[5]].value == 200_000 and records[pay_db.swe[5]].currency == "USD"
    assert records[pay_db.swe[1]].seniority == "senior" and records[pay_db.swe[0]].seniority == "mid"
    assert records[pay_db.eur].region == "EU" and records[pay_db.ml[0]].region == "remote-US"
    assert records[pay_db.swe[0]].month == NEXT_MONTH.replace(day=1)
    assert records[pay_db.ml[-1]].frameworks == {"vllm"}


def test_components_are_kept_apart_and_the_market_holds_every_role(pay_db):
    ote = pay_records(pay_db.engine, component="ote")
    assert [(r.posting_id, r.value) for r in ote] == [(pay_db.ote, 350_000)]
    market = {r.posting_id for r in pay_records(pay_db.engine, cohort="market")}
    assert pay_db.not_ai in market and pay_db.duplicate not in market and pay_db.ote not in market
    assert {r.posting_id for r in pay_records(pay_db.engine, cohort="ml_engineer")} == {*pay_db.ml, pay_db.eur}


def test_own_currency_groups_by_currency_and_a_code_keeps_only_it(pay_db):
    eur = pay_records(pay_db.engine, currency="EUR")
    assert [(r.posting_id, r.value, r.currency) for r in eur] == [(pay_db.eur, 80_000, "EUR")]
    own = group_table(pay_records(pay_db.engine, currency="own"), "role")
    assert {(g.key, g.currency, g.n) for g in own} == {(("ml_engineer",), "USD", 24), (("ml_engineer",), "EUR", 1),
                                                       (("ai_swe",), "USD", 13)}


def test_a_filter_narrows_the_postings(pay_db):
    berlin = pay_records(pay_db.engine, posting_filter=PostingFilter(location="berlin"))
    assert [r.posting_id for r in berlin] == [pay_db.eur]


# --- tables ----------------------------------------------------------------------------------------------------

def test_medians_quartiles_and_n_by_role(pay_db):
    groups = {g.key: g for g in group_table(pay_records(pay_db.engine, currency="USD"), "role")}
    ml = groups[("ml_engineer",)]
    ml_values = [m * 1000 for m in ML_MIDS] + [pay_db_eur_usd(pay_db)]
    assert ml.n == 25 and ml.median == pytest.approx(statistics.median(ml_values))
    assert ml.q1 < ml.median < ml.q3 and ml.ci_low <= ml.median <= ml.ci_high
    assert not ml.low_n
    swe = groups[("ai_swe",)]
    assert swe.n == len(SWE_MIDS) + 1 < MIN_N and swe.low_n
    assert swe.median == statistics.median([m * 1000 for m in SWE_MIDS] + [70 * 2080])


def pay_db_eur_usd(pay_db) -> float:
    return next(r.value for r in pay_records(pay_db.engine) if r.posting_id == pay_db.eur)


def test_by_month_splits_each_group(pay_db):
    groups = group_table(pay_records(pay_db.engine), "role", grain="month")
    keys = [(g.key, g.n) for g in groups if g.key[1] == "ai_swe"]
    assert keys == [(("2026-03", "ai_swe"), 9), (("2026-04", "ai_swe"), 4)]


def test_vllm_postings_against_every_posting_of_their_seniority(pay_db):
    rows = {(r.specialisation, r.seniority): r for r in specialisation_table(pay_records(pay_db.engine))}
    assert {key[0] for key in rows} == {"inference"}
    senior = rows[("inference", "senior")]
    vllm_senior = [ML_MIDS[i] * 1000 for i in range(len(ML_MIDS) - VLLM_ML, len(ML_MIDS)) if i % 2]
    assert senior.n == len(vllm_senior) and senior.median == statistics.median(vllm_senior)
    assert senior.difference > 0 and senior.ci_low > 0  # the best-paid postings, so the gap is clear
    pooled = rows[("inference", "all levels")]
    assert pooled.n == VLLM_ML and pooled.n_reference == len(SWE_MIDS) + len(ML_MIDS) + 2


def test_pay_stats_formats(pay_db):
    stats = pay_stats(pay_db.engine, by="role")
    out = format_text(stats)
    assert "rates of 2025-12-16" in out and "ml_engineer  USD       25" in out
    assert out.splitlines()[-1].endswith("*")  # ai_swe, n = 13
    assert "ml_engineer,USD,25," in format_csv(stats)
    assert '"rates_date": "2025-12-16"' in format_json(stats)
    special = format_text(pay_stats(pay_db.engine, by="specialisation"))
    assert "inference" in special and "all levels" in special


def test_no_pay_says_what_to_run(engine):
    out = format_text(pay_stats(engine, by="region"))
    assert "0 postings with a midpoint" in out and "jobtrend analyze" in out


@pytest.mark.parametrize(("options", "message"), [
    (("salary", "base", "USD", None), "unknown --by"),
    (("role", "equity", "USD", None), "unknown component"),
    (("role", "base", "dollars", None), "unknown currency"),
    (("role", "base", "USD", "week"), "unknown grain"),
])
def test_bad_options(options, message):
    with pytest.raises(PayQueryError, match=message):
        check_options(*options)


def test_an_unknown_cohort(engine):
    with pytest.raises(PayQueryError, match="unknown cohort"):
        pay_records(engine, cohort="everyone")


# --- the views -------------------------------------------------------------------------------------------------

def test_posting_pay_is_the_primary_pay_of_measured_postings(pay_db):
    with pay_db.engine.connect() as conn:
        rows = {r.posting_id: r for r in conn.execute(text("select * from posting_pay"))}
    assert set(rows) == {*pay_db.swe, *pay_db.ml, pay_db.hourly, pay_db.eur, pay_db.ote, pay_db.not_ai}
    swe = rows[pay_db.swe[5]]
    assert (swe.role, swe.seniority, swe.region, swe.component, swe.component_group, swe.currency) == (
        "ai_swe", "senior", "US", "base", "base", "USD")
    assert (swe.annual_midpoint, swe.usd_midpoint, swe.rates_date, swe.source) == (
        200_000, 200_000, "2025-12-16", "text")
    assert swe.posted_month == "2026-03"
    hourly = rows[pay_db.hourly]
    assert (hourly.component, hourly.component_group, hourly.interval, hourly.minimum) == ("hourly", "base", "hour", 60)
    assert rows[pay_db.ml[-1]].frameworks == "vllm"
    assert (rows[pay_db.eur].currency, rows[pay_db.eur].annual_midpoint) == ("EUR", 80_000)
    assert (rows[pay_db.not_ai].role, rows[pay_db.ote].component_group) == ("not_ai", "ote")


def test_monthly_pay_counts_posting_pay(pay_db):
    with pay_db.engine.connect() as conn:
        rows = conn.execute(text("select * from monthly_pay where role = 'ml_engineer' and seniority = 'senior'"
                                 " and component_group = 'base'")).all()
    assert len(rows) == 1
    senior = [ML_MIDS[i] * 1000 for i in range(len(ML_MIDS)) if i % 2]
    row = rows[0]
    assert (row.month, row.n, row.n_usd) == ("2026-03", len(senior), len(senior))
    assert row.mean_usd_midpoint == pytest.approx(statistics.mean(senior))
    assert (row.min_usd_midpoint, row.max_usd_midpoint) == (min(senior), max(senior))


LOCATIONS = ["San Francisco, CA", "Remote (US)", "Toronto, ON", "London, UK", "Berlin, Germany", "Pune, India",
             "Remote", "Singapore", "New York | Remote", "Paris/Remote", "Business Park", "Austin, TX or London",
             "Bangalore; Remote", "Washington, D.C.", ""]


def test_the_views_region_is_region_of(engine):
    source = add_source(engine)
    ids = {}
    for i, location in enumerate(LOCATIONS):
        pid = add_posting(engine, source, title="AI Engineer", text=salary(200))
        edit_posting(engine, pid, location=location or None, remote=bool(i % 2), analyzed_at=utcnow())
        ids[pid] = (location or None, bool(i % 2))
    derive_pay(engine)
    with engine.connect() as conn:
        regions = dict(conn.execute(select(text("posting_id"), text("region")).select_from(text("posting_pay"))).all())
    assert {pid: regions[pid] for pid in ids} == {pid: region_of(*where) for pid, where in ids.items()}


# --- the pay_change alert rule ---------------------------------------------------------------------------------

def build_pay_months(engine, mids_by_month: dict[dt.date, list[int]]) -> None:
    """AI SWE postings with posted pay: ``mids_by_month`` {first Monday of a month: midpoints in thousands}."""
    source = add_source(engine, key="months")
    for week, mids in mids_by_month.items():
        for mid in mids:
            pid = add_posting(engine, source, title="AI Engineer", text=salary(mid), week=week)
            edit_posting(engine, pid, location="Boston, MA", analyzed_at=utcnow())
            classify_posting(engine, pid, "ai_swe")
    derive_pay(engine)


FLAT = [140 + 2 * i for i in range(10)]  # median 149k
RAISED = [190 + 2 * i for i in range(10)]  # median 199k
MONTHS = (dt.date(2026, 1, 5), dt.date(2026, 2, 2), dt.date(2026, 3, 2), dt.date(2026, 4, 6))
PAY_RULE = PayChangeRule("ai-swe-pay", cohort="ai_swe", trailing_months=3, min_change=0.10, min_postings=10)


def test_pay_change_fires_when_the_median_moves_against_the_trailing_months(engine):
    build_pay_months(engine, {MONTHS[0]: FLAT, MONTHS[1]: FLAT, MONTHS[2]: FLAT, MONTHS[3]: RAISED,
                              dt.date(2026, 5, 4): RAISED})
    fired = evaluate_alerts(engine, [PAY_RULE], now=dt.datetime(2026, 5, 20, tzinfo=dt.UTC), dry_run=True)
    assert [(a.subject, a.period_start, a.direction) for a in fired] == [("ai_swe", dt.date(2026, 4, 1), "up")]
    alert = fired[0]  # May is not complete on 20 May: not judged
    assert (alert.value, alert.threshold) == (199_000, 149_000)
    d = alert.details
    assert (d["n_postings"], d["trailing_postings"], d["trailing_from"], d["trailing_to"]) == (10, 30, "2026-01",
                                                                                                 "2026-03")
    assert d["ci_low"] > 0 and d["relative_change"] == pytest.approx(199 / 149 - 1)
    assert alert.title == "median base pay of AI Software Engineer postings up 33.6% to $199.0k (n=10) in 2026-04"
    assert "rates of 2025-12-16" in alert.body and "2000 resamples" in alert.body


def test_pay_change_needs_min_postings_a_big_enough_move_and_its_direction(engine):
    build_pay_months(engine, {MONTHS[0]: FLAT, MONTHS[1]: FLAT, MONTHS[2]: FLAT, MONTHS[3]: RAISED})
    now = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)

    def fired(**changes) -> list:
        return evaluate_alerts(engine, [replace(PAY_RULE, **changes)], now=now, dry_run=True)

    assert fired(min_postings=11) == []  # April has 10
    assert fired(min_change=0.40) == []  # +33.6 % is not 40 %
    assert fired(direction="down") == []
    assert fired(cohort="ml_engineer") == []
    assert fired(trailing_months=1)[0].details["trailing_from"] == "2026-03"


def test_a_steady_median_fires_nothing(engine):
    build_pay_months(engine, {MONTHS[0]: FLAT, MONTHS[1]: FLAT, MONTHS[2]: FLAT, MONTHS[3]: FLAT})
    assert evaluate_alerts(engine, [PAY_RULE], now=dt.datetime(2026, 5, 20, tzinfo=dt.UTC), dry_run=True) == []


def test_pay_change_rules_load_with_every_value_checked(tmp_path):
    path = tmp_path / "alerts.toml"
    path.write_text('[[rules]]\nkind = "pay_change"\nname = "ml-pay"\ncohort = "ml_engineer"\n'
                    'trailing_months = 6\nmin_change = 0.15\nalpha = 0.01\nmin_postings = 40\ndirection = "down"\n')
    assert load_alert_rules(path) == (PayChangeRule("ml-pay", "ml_engineer", "base", 6, 0.15, 0.01, 40, "down"),)
    path.write_text('[[rules]]\nkind = "pay_change"\nname = "p"\n')
    assert load_alert_rules(path) == (PayChangeRule("p"),)
    for bad, message in (('component = "equity"', "component"), ("trailing_months = 0", "trailing_months"),
                         ("min_change = 1.5", "min_change"), ('cohort = "everyone"', "cohort"),
                         ('framework = "vllm"', "framework")):
        path.write_text(f'[[rules]]\nkind = "pay_change"\nname = "p"\n{bad}\n')
        with pytest.raises(ConfigError, match=message):
            load_alert_rules(path)


def test_the_shipped_alert_rules_still_load():
    assert load_alert_rules(FRAMEWORKS_TOML.parent / "alerts.toml")


# --- the report's Pay section ----------------------------------------------------------------------------------

def test_the_report_has_a_pay_section_and_chart(pay_db):
    report = build_report(pay_db.engine, NEXT_MONTH, now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    pay = report.data.pay
    assert [(g.key, g.n) for g in pay.rows] == [(("ml_engineer",), 25), (("ai_swe",), 13)]
    assert (pay.months[0], pay.months[-1], pay.rates_date) == (dt.date(2025, 11, 1), dt.date(2026, 4, 1), "2025-12-16")
    assert [p.period for p in pay.series["ai_swe"]] == [dt.date(2026, 3, 1), dt.date(2026, 4, 1)]
    assert [cid for cid, _ in report.images][-1] == PAY_CID and report.images[-1][1].startswith(b"\x89PNG")
    assert f'src="cid:{PAY_CID}"' in report.html and ">Pay</h2>" in report.html
    section = report.text[report.text.index("PAY ("):report.text.index("ALERTS FIRED")]
    assert "rates of 2025-12-16" in section and "ML engineer" in section and "13*" in section


def test_a_filtered_report_filters_its_pay_and_a_report_without_pay_has_no_chart(pay_db, engine):
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    berlin = build_report(engine, NEXT_MONTH, now=now, posting_filter=PostingFilter(location="berlin"))
    assert [(g.key, g.n) for g in berlin.data.pay.rows] == [(("ml_engineer",), 1)]
    earlier = build_report(engine, dt.date(2026, 2, 23), now=now)  # before any posting with pay
    assert earlier.data.pay.rows == [] and len(earlier.images) == 2
    assert "No AI-role posting of these months states a base pay range." in earlier.text
    assert PAY_CID not in earlier.html
