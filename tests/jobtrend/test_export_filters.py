"""`jobtrend export postings --remote/--no-remote --location --company`: only the postings the filter selects, on
both databases; `export trends` refuses them; `--cohort` takes the market cohorts."""

from __future__ import annotations

import csv

import pytest

from jobtrend.db import make_engine
from tests.analysis.test_series import build_history
from tests.jobtrend.test_config import invoke_cli, write_config


@pytest.fixture
def run(tmp_path):
    config_dir = write_config(tmp_path / "config")
    return lambda args, database_url: invoke_cli(config_dir, args, database_url)


@pytest.fixture
def history_url(db_url) -> str:
    engine = make_engine(db_url)
    build_history(engine)
    engine.dispose()
    return db_url


def exported(run, url, out, *options) -> list[dict]:
    result = run(["export", "postings", "--out", str(out), *options], url)
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_filters_keep_the_matching_postings(run, history_url, tmp_path):
    out = tmp_path / "postings.csv"
    every = exported(run, history_url, out)
    assert len(every) == 10  # the canonical postings: not the duplicate
    remote = exported(run, history_url, out, "--remote")
    assert len(remote) == 5 and {row["remote"] for row in remote} == {"1"}
    office = exported(run, history_url, out, "--no-remote")
    assert len(office) == 2 and {row["remote"] for row in office} == {"0"}
    berlin = exported(run, history_url, out, "--location", "BERLIN")
    assert len(berlin) == 6 and all("berlin" in row["location"].lower() for row in berlin)
    acme = exported(run, history_url, out, "--company", "acme", "--remote", "--location", "berlin")
    assert sorted(row["company"] for row in acme) == ["Acme", "acme labs"]


def test_trends_export_refuses_posting_filters_and_takes_market_cohorts(run, history_url, tmp_path):
    out = tmp_path / "trends.csv"
    refused = run(["export", "trends", "--out", str(out), "--remote"], history_url)
    assert refused.exit_code == 2 and "only `jobtrend export postings` has them" in refused.output
    assert not out.exists()
    market = run(["export", "trends", "--out", str(out), "--cohort", "market:hackernews"], history_url)
    assert market.exit_code == 0, market.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {row["cohort"] for row in rows} == {"market:hackernews"}
    unknown = run(["export", "trends", "--out", str(out), "--cohort", "sales"], history_url)
    assert unknown.exit_code == 2 and "unknown cohort 'sales'" in unknown.output
