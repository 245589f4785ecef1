"""`jobtrend export`: every row of the view, in CSV and Parquet, on SQLite and PostgreSQL, written atomically."""

import csv
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

import jobtrend.export
from jobtrend.db import make_engine
from jobtrend.export import PARQUET_HINT, ExportError, export
from tests.jobtrend.test_config import invoke_cli, write_config


@pytest.fixture
def run(tmp_path):
    config_dir = write_config(tmp_path / "config")
    return lambda args, database_url=None: invoke_cli(config_dir, args, database_url)


def _scalar(url, sql, **params):
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql), params).scalar()
    engine.dispose()
    return value


def _csv_rows(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("what, view", [("postings", "posting_facts"), ("trends", "weekly_framework_share")])
def test_csv_has_every_row_of_the_view(run, demo_db_url, tmp_path, what, view):
    out = tmp_path / f"{what}.csv"
    result = run(["export", what, "--out", str(out)], demo_db_url)
    assert result.exit_code == 0, result.output
    rows = _csv_rows(out)
    expected = _scalar(demo_db_url, f"select count(*) from {view}")
    assert expected > 0 and len(rows) - 1 == expected
    assert f"wrote {expected} rows" in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("what, view", [("postings", "posting_facts"), ("trends", "weekly_framework_share")])
def test_parquet_round_trips(demo_db_url, tmp_path, what, view):
    out = tmp_path / f"{what}.parquet"
    result = export(demo_db_url, what, "parquet", out, batch_size=97)  # many batches
    table = pq.read_table(out)
    assert table.num_rows == result.rows == _scalar(demo_db_url, f"select count(*) from {view}")
    assert table.column_names == list(result.columns)
    first = table.slice(0, 1).to_pylist()[0]
    if what == "postings":
        assert isinstance(first["posted_week"], dt.date) and isinstance(first["posting_id"], int)
        assert {table.schema.field(name).type for name in ("is_open", "has_description", "remote")} == {pa.bool_()}
        assert table.schema.field("frameworks").type == pa.list_(pa.string())
        rows = table.to_pylist()
        listed = next(row for row in rows if row["frameworks"])
        stored = _scalar(demo_db_url, "select frameworks from posting_facts where posting_id = :i",
                         i=listed["posting_id"])
        assert listed["frameworks"] == stored.split(",") and all(isinstance(r["is_open"], bool) for r in rows)
        one = _scalar(demo_db_url, "select title from posting_facts where posting_id = :i", i=first["posting_id"])
        assert first["title"] == one
    else:
        assert isinstance(first["week"], dt.date) and isinstance(first["share"], float)


def test_since_and_cohort_filter_the_trends(run, demo_db_url, tmp_path):
    latest = _scalar(demo_db_url, "select max(week) from weekly_framework_share where cohort = 'ml_engineer'")
    latest = latest if isinstance(latest, dt.date) else dt.date.fromisoformat(latest)
    iso = latest.isocalendar()
    out = tmp_path / "t.csv"
    result = run(["export", "trends", "--out", str(out), "--since", f"{iso.year}-W{iso.week:02d}",
                  "--cohort", "ml_engineer"], demo_db_url)
    assert result.exit_code == 0, result.output
    rows = _csv_rows(out)
    header, body = rows[0], rows[1:]
    expected = _scalar(demo_db_url, "select count(*) from weekly_framework_share where week = "
                       "(select max(week) from weekly_framework_share where cohort = 'ml_engineer') "
                       "and cohort = 'ml_engineer'")
    assert len(body) == expected > 0
    assert {r[header.index("cohort")] for r in body} == {"ml_engineer"}
    assert {r[header.index("week")] for r in body} == {latest.isoformat()}


def test_a_failed_export_leaves_the_old_file_untouched(demo_db_url, tmp_path, monkeypatch):
    out = tmp_path / "postings.csv"
    out.write_text("previous export\n")
    import jobtrend.export as module

    def broken(fh, columns, batches, raw):
        fh.write("partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(module, "_write_csv", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export(demo_db_url, "postings", "csv", out)
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["postings.csv"]


def test_parquet_without_pyarrow_names_the_extra(demo_db_url, tmp_path, monkeypatch):
    """Without the [parquet] extra jobtrend.export imports with ``pa = None`` (its import of pyarrow failed)."""
    monkeypatch.setattr(jobtrend.export, "pa", None)
    monkeypatch.setattr(jobtrend.export, "pq", None)
    with pytest.raises(ExportError) as info:
        export(demo_db_url, "postings", "parquet", tmp_path / "p.parquet")
    assert str(info.value) == PARQUET_HINT and "pip install -e '.[parquet]'" in PARQUET_HINT
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize("args, message", [
    (["postings", "--cohort", "ml_engineer"], "only `jobtrend export trends` has cohorts"),
    (["trends", "--since", "last week"], "expected YYYY-MM-DD or YYYY-Www"),
])
def test_bad_options_are_clear(run, db_url, tmp_path, args, message):
    result = run(["export", *args, "--out", str(tmp_path / "x.csv")], db_url)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "x.csv").exists()


def test_an_empty_database_exports_a_header(run, db_url, tmp_path):
    out = tmp_path / "p.csv"
    result = run(["export", "postings", "--out", str(out)], db_url)
    assert result.exit_code == 0, result.output
    assert _csv_rows(out)[0][:3] == ["posting_id", "source_kind", "source_key"] and len(_csv_rows(out)) == 1
