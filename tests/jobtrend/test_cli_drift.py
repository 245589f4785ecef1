"""`jobtrend classifier drift`: the table, csv and json, one source, and a database with nothing classified."""

import csv
import io
import json

import pytest

from tests.analysis.factories import add_source
from tests.analysis.test_drift import WEEK, add_week, weeks_before
from tests.jobtrend.test_config import invoke_cli, write_config


def seed(engine) -> None:
    """8 steady weeks of 20 % AI roles on an Ashby board, then WEEK (2026-W02) at 45 %; a small Hacker News week."""
    board, thread = add_source(engine, "ashby", "acme"), add_source(engine, "hackernews", "hn")
    for week in weeks_before(WEEK, 8):
        add_week(engine, board, week, 100, ai=20, ml=10)
    add_week(engine, board, WEEK, 100, ai=45, ml=22)
    add_week(engine, thread, WEEK, 10, ai=4, ml=1)


def test_drift_table_names_what_left_the_band(tmp_path, engine, db_url):
    seed(engine)
    result = invoke_cli(write_config(tmp_path / "config"), ["classifier", "drift", "--weeks", "2"], db_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["week", "source", "n", "ai_share", "(95%", "CI)", "ai_band", "ml_share", "(95%",
                                "CI)", "confidence", "flag"]
    rows = [line.split()[:3] for line in lines[2:7]]
    assert rows == [["2026-W01", "all", "100"], ["2026-W01", "ashby", "100"], ["2026-W02", "all", "110"],
                    ["2026-W02", "ashby", "100"], ["2026-W02", "hackernews", "10"]]
    assert lines[2].rstrip().endswith("0.900")  # a week inside its band: no flag
    assert "45.0% (" in lines[5] and lines[5].endswith("ai_share up")
    assert lines[6].endswith("not judged: n < 30")
    assert lines[7] == "model v1" and lines[-1] == "5 rows, 2 outside the band"  # ashby, and all with it


def test_drift_csv_and_json_for_one_source(tmp_path, engine, db_url):
    seed(engine)
    config_dir = write_config(tmp_path / "config")
    as_json = invoke_cli(config_dir, ["classifier", "drift", "--source", "ashby", "--format", "json"], db_url)
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.output)
    assert len(rows) == 8 and {r["source"] for r in rows} == {"ashby"}
    assert [r["week"] for r in rows[-2:]] == ["2026-W01", "2026-W02"]
    last = rows[-1]
    assert (last["n"], last["ai_roles"], last["ml_engineer"], last["judged"], last["flag"]) == (
        100, 45, 22, True, "ai_share up")
    assert last["ai_band_low"] < 0.2 < last["ai_band_high"] < 0.45 and last["not_judged"] is None
    assert last["confidence"] == pytest.approx(0.9) and last["confidence_floor"] == pytest.approx(0.85)
    first = rows[0]  # 2025-W47: one week of data before it
    assert first["judged"] is False and first["flag"] == ""
    assert first["not_judged"] == "1 of the 8 weeks before have 30 or more classified postings, 4 needed"
    as_csv = invoke_cli(config_dir, ["classifier", "drift", "--source", "ashby", "--format", "csv", "--weeks", "1"],
                        db_url)
    assert as_csv.exit_code == 0, as_csv.output
    [row] = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert (row["week"], row["source"], row["n"], row["flag"]) == ("2026-W02", "ashby", "100", "ai_share up")


def test_drift_without_classifications_says_what_to_run(tmp_path, db_url):
    config_dir = write_config(tmp_path / "config")
    result = invoke_cli(config_dir, ["classifier", "drift"], db_url)
    assert result.exit_code == 0 and "no classified postings yet: run `jobtrend analyze`" in result.output
    assert json.loads(invoke_cli(config_dir, ["classifier", "drift", "--format", "json"], db_url).output) == []
    bad = invoke_cli(config_dir, ["classifier", "drift", "--source", "monster"], db_url)
    assert bad.exit_code == 2 and "--source" in bad.output
