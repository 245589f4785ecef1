"""`jobtrend pay` as a user runs it, on a small demo-like database (tests/analysis/test_pay_stats.py): medians with
intervals and n and the rates date; every grouping; CSV and JSON; one line and exit status 2 for a bad option."""

from __future__ import annotations

import csv
import io
import json

import pytest

from jobtrend.db import make_engine
from tests.analysis.test_pay_stats import ML_MIDS, SWE_MIDS, build_pay_db
from tests.jobtrend.test_config import invoke_cli, write_config


@pytest.fixture
def run(tmp_path):
    config_dir = write_config(tmp_path / "config")

    def invoke(args, database_url):
        return invoke_cli(config_dir, ["pay", *args], database_url)

    return invoke


@pytest.fixture
def pay_url(db_url) -> str:
    engine = make_engine(db_url)
    build_pay_db(engine)
    engine.dispose()
    return db_url


def table_rows(output: str, first: str) -> list[list[str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [first])
    return [line.split() for line in lines[start + 1:] if line.strip()]


def test_pay_by_role_prints_medians_intervals_n_and_the_rates_date(run, pay_url):
    result = run(["--by", "role"], pay_url)
    assert result.exit_code == 0, result.output
    assert "USD (rates of 2025-12-16)" in result.output
    assert "2000 resamples" in result.output
    rows = {row[0]: row for row in table_rows(result.output, "role")}
    assert set(rows) == {"ai_swe", "ml_engineer"}
    ml = rows["ml_engineer"]
    assert ml[1:3] == ["USD", str(len(ML_MIDS) + 1)]  # the EUR posting converted
    low, high = ml[4].split("-")
    assert low.endswith("k") and high.endswith("k") and int(low[:-1]) <= int(ml[3][:-1]) <= int(high[:-1])
    assert rows["ai_swe"][2] == str(len(SWE_MIDS) + 1) and rows["ai_swe"][-1] == "*"  # low n, marked


@pytest.mark.parametrize(("args", "first", "keys"), [
    (["--by", "seniority"], "seniority", {"mid", "senior"}),
    (["--by", "region"], "region", {"US", "remote-US", "EU"}),
    (["--by", "framework"], "framework", {"vllm"}),
    (["--by", "specialisation"], "specialisation", {"inference"}),
    (["--by", "role", "--grain", "month"], "month", {"2026-03", "2026-04"}),
])
def test_every_grouping(run, pay_url, args, first, keys):
    result = run(args, pay_url)
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output, first)
    assert {row[0] for row in rows if row and not row[0].startswith("all")} == keys


def test_own_currency_and_one_currency(run, pay_url):
    result = run(["--by", "region", "--currency", "own"], pay_url)
    assert result.exit_code == 0, result.output
    assert table_rows(result.output, "region")[-1][:4] == ["EU", "EUR", "1", "80k"]
    result = run(["--currency", "eur"], pay_url)
    assert "EUR;" in result.output and table_rows(result.output, "role") == [
        ["ml_engineer", "EUR", "1", "80k", "80k-80k", "80k", "80k", "*"]]


def test_csv_and_json(run, pay_url):
    result = run(["--by", "role", "--format", "csv", "--component", "ote"], pay_url)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["role"], r["n"], float(r["median"]), r["component"], r["rates_date"]) for r in rows] == [
        ("ai_swe", "1", 350_000.0, "ote", "2025-12-16")]
    data = json.loads(run(["--format", "json", "--cohort", "ml_engineer"], pay_url).output)
    assert (data["cohort"], data["rates_date"], data["resamples"]) == ("ml_engineer", "2025-12-16", 2000)
    assert [row["role"] for row in data["rows"]] == ["ml_engineer"]


def test_filters_apply(run, pay_url):
    result = run(["--location", "berlin"], pay_url)
    assert "location ~ 'berlin'" in result.output and "1 postings with a midpoint" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "salary"], "unknown --by 'salary'"),
    (["--component", "equity"], "unknown component 'equity'"),
    (["--currency", "dollars"], "unknown currency 'DOLLARS'"),
    (["--grain", "week"], "unknown grain 'week'"),
    (["--cohort", "everyone"], "unknown cohort 'everyone'"),
    (["--format", "xml"], "unknown --format 'xml'"),
])
def test_a_bad_option_is_one_line_and_exit_2(run, pay_url, args, message):
    result = run(args, pay_url)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {result.output.strip().removeprefix('Error: ')}"]
    assert message in result.output
