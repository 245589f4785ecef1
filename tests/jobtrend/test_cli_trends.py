"""`jobtrend trends` as a user runs it: cohorts, the monthly grain, one framework over time (text and PNG), the
remote/location/company filters, and one line with exit status 2 for what it cannot read."""

from __future__ import annotations

import errno
import os
import struct

import pytest

import jobtrend.files
from jobtrend.db import make_engine
from tests.analysis.test_series import PNG_SIGNATURE, build_history
from tests.jobtrend.test_config import invoke_cli, write_config


@pytest.fixture
def run(tmp_path):
    """Invoke the CLI with a temporary config folder and the given database URL."""
    config_dir = write_config(tmp_path / "config")

    def invoke(args, database_url):
        return invoke_cli(config_dir, args, database_url)

    return invoke


@pytest.fixture
def history_url(db_url) -> str:
    engine = make_engine(db_url)
    build_history(engine)
    engine.dispose()
    return db_url


def series_rows(output: str) -> list[list[str]]:
    """period, n, k, share of each printed period."""
    return [line.split()[:4] for line in output.splitlines() if line.startswith("2018-")]


def test_one_framework_by_month(run, history_url):
    result = run(["trends", "--framework", "pytorch", "--cohort", "market", "--grain", "month"], history_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "recomputed 0 weeks (0 trend points)"
    assert lines[2] == "PyTorch (pytorch), cohort market, by month"
    assert series_rows(result.output) == [["2018-03", "4*", "2", "50.0%"], ["2018-04", "3*", "2", "66.7%"],
                                          ["2018-06", "2*", "2", "100.0%"]]
    assert "... 1 month without postings" in result.output
    assert "* n < 20" in result.output  # config trends.min_postings
    assert result.output.isascii() and max(map(len, lines)) <= 80  # piped: plain ASCII, 80 columns


def test_since_and_min_postings(run, history_url):
    result = run(["trends", "--framework", "pytorch", "--cohort", "market", "--grain", "month", "--since", "2018-04",
                  "--min-postings", "3"], history_url)
    assert result.exit_code == 0, result.output
    assert series_rows(result.output) == [["2018-04", "3", "2", "66.7%"], ["2018-06", "2*", "2", "100.0%"]]
    assert "by month from 2018-04" in result.output
    weekly = run(["trends", "--framework", "pytorch", "--cohort", "ml_engineer", "--since", "2018-04-04"],
                 history_url)
    assert series_rows(weekly.output) == [["2018-W14", "1*", "1", "100.0%"], ["2018-W18", "1*", "1", "100.0%"],
                                          ["2018-W23", "1*", "1", "100.0%"]]


def test_filters_change_n(run, history_url):
    base = ["trends", "--framework", "pytorch", "--cohort", "market", "--grain", "month"]
    remote = run([*base, "--remote"], history_url)
    assert remote.exit_code == 0, remote.output
    assert "PyTorch (pytorch), cohort market, by month, remote" in remote.output
    assert series_rows(remote.output) == [["2018-03", "2*", "1", "50.0%"], ["2018-04", "2*", "2", "100.0%"],
                                          ["2018-06", "1*", "1", "100.0%"]]
    office = run([*base, "--no-remote"], history_url)
    assert [row[:2] for row in series_rows(office.output)] == [["2018-03", "1*"], ["2018-04", "1*"]]
    place = run([*base, "--location", "BERLIN", "--company", "acme"], history_url)
    assert "location ~ 'BERLIN', company ~ 'acme'" in place.output
    assert series_rows(place.output) == [["2018-03", "1*", "1", "100.0%"], ["2018-06", "1*", "1", "100.0%"]]
    nothing = run([*base, "--company", "nobody"], history_url)
    assert nothing.exit_code == 0 and "no month with measured postings" in nothing.output


def test_png_is_written_atomically(run, history_url, tmp_path):
    chart = tmp_path / "pytorch.png"
    chart.write_bytes(b"old chart")
    result = run(["trends", "--framework", "pytorch", "--grain", "month", "--cohort", "market", "--png",
                  str(chart)], history_url)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"wrote the chart to {chart}"
    data = chart.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and struct.unpack(">II", data[16:24]) == (900, 360)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pytorch.png")] == []  # no temp file left


def test_png_that_cannot_be_written_keeps_the_old_file(run, history_url, tmp_path, monkeypatch):
    chart = tmp_path / "pytorch.png"
    chart.write_bytes(b"old chart")

    class FullDisk:
        def __init__(self, fd):
            self.raw = os.fdopen(fd, "wb")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.raw.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jobtrend.files, "_open_temp", FullDisk)
    result = run(["trends", "--framework", "pytorch", "--png", str(chart)], history_url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"Error: cannot write {chart}: No space left on device"
    assert chart.read_bytes() == b"old chart"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".png") or p.name.endswith(".tmp")) == [
        "pytorch.png"]


@pytest.mark.parametrize(("args", "message"), [
    (["--framework", "pytorh"], "Error: unknown framework 'pytorh': did you mean pytorch?"),
    (["--framework", "cobol"], "Error: unknown framework 'cobol' (see config/frameworks.toml)"),
    (["--cohort", "sales"], "Error: --cohort: unknown cohort 'sales': expected market, all, ai_swe, ml_engineer or "
                            "market:<source kind> (ashby, greenhouse, lever, hackernews, jsonld)"),
    (["--framework", "pytorch", "--cohort", "market:monster"], "Error: --cohort: unknown cohort 'market:monster'"),
    (["--framework", "pytorch", "--since", "April"], "Error: --since: expected YYYY-MM or YYYY-MM-DD, got 'April'"),
    (["--since", "2018-04"], "Error: --since needs --framework SLUG (one framework over time)"),
    (["--png", "x.png"], "Error: --png needs --framework SLUG (one framework over time)"),
])
def test_bad_input_is_one_line_and_exit_2(run, history_url, args, message):
    result = run(["trends", *args], history_url)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.output


def test_cohort_and_month_table(run, history_url):
    result = run(["trends", "--cohort", "market", "--grain", "month", "--min-postings", "1"], history_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2] == "cohort: market"
    assert lines[3].split() == ["framework", "2018-03", "2018-04", "2018-06"]
    assert lines[4].split() == ["n", "4", "3", "2"]
    source = run(["trends", "--cohort", "market:hackernews", "--min-postings", "1", "--weeks", "2"], history_url)
    assert source.exit_code == 0, source.output
    assert source.output.splitlines()[3].split() == ["framework", "2018-W18", "2018-W23"]


def test_help_shows_the_examples(run, history_url):
    result = run(["trends", "--help"], history_url)
    assert "jobtrend trends --framework pytorch --grain month --since 2011-04 --cohort market" in result.output
    assert "--remote / --no-remote" in result.output and "--company TEXT" in result.output


def test_filtered_table(run, history_url):
    result = run(["trends", "--cohort", "market", "--grain", "month", "--min-postings", "1", "--remote",
                  "--location", "berlin"], history_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2:4] == ["cohort: market", "postings: remote, location ~ 'berlin'"]
    assert [line.split() for line in lines[4:6]] == [["framework", "2018-03", "2018-04", "2018-06"],
                                                     ["n", "2", "1", "1"]]
