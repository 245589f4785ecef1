"""The configuration package: `[report]` is read and checked, and each file is parsed once per load_config."""

from pathlib import Path

import pytest

import jobtrend.config.files
from jobtrend.config import REPO_ROOT, ConfigError, Key, ReportSettings, load_config, read_table, typed
from tests.jobtrend.test_config import write_config

MAIN = '[database]\nurl = "sqlite:///x.db"\n'


def test_report_table_reaches_the_config(tmp_path):
    config = load_config(write_config(tmp_path / "config", MAIN + "[report]\ntop = 7\ntrailing_weeks = 2\n"))
    assert config.report == ReportSettings(top=7, trailing_weeks=2)


def test_report_defaults_are_those_of_build_report(tmp_path):
    config = load_config(write_config(tmp_path / "config"))
    assert config.report == ReportSettings() == ReportSettings(top=15, trailing_weeks=4)


@pytest.mark.parametrize(
    ("text", "key", "expected", "got"),
    [
        ('[report]\ntop = "ten"\n', "report.top", "expected an integer", "'ten'"),
        ("[report]\ntop = true\n", "report.top", "expected an integer", "True"),
        ("[report]\ntrailing_weeks = 2.5\n", "report.trailing_weeks", "expected an integer", "2.5"),
        ("[report]\ntop = 0\n", "report.top", "expected a number of frameworks, an integer of at least 1", "0"),
        ("[report]\ntrailing_weeks = 0\n", "report.trailing_weeks",
         "expected a number of weeks, an integer of at least 1", "0"),
        ("[report]\nweeks = 4\n", "report.weeks", "expected one of top, trailing_weeks", "'unknown key'"),
        ('report = "weekly"\n', "report", "expected a table", "'weekly'"),
    ],
)
def test_bad_report_table_names_file_key_and_expectation(tmp_path, text, key, expected, got):
    directory = write_config(tmp_path / "config", text + MAIN)
    with pytest.raises(ConfigError) as err:
        load_config(directory)
    assert err.value.key == key
    assert str(err.value) == f"{directory / 'jobtrend.toml'}: {key}: {expected}, got {got}"


def test_each_file_is_parsed_once_per_load_config(tmp_path, monkeypatch):
    directory = write_config(tmp_path / "config", MAIN + "[notify]\nmax_attempts = 3\n[retention]\ndays = 30\n")
    (directory / "alerts.toml").write_text("")  # not part of load_config
    reads: list[str] = []
    real = jobtrend.config.files.tomllib.load

    def counting_load(fh):
        reads.append(Path(fh.name).name)
        return real(fh)

    monkeypatch.setattr(jobtrend.config.files.tomllib, "load", counting_load)
    config = load_config(directory)
    assert sorted(reads) == ["frameworks.toml", "jobtrend.toml", "sources.toml"]
    assert (config.notify.max_attempts, config.retention.days) == (3, 30)


def test_shipped_config_has_default_report():
    assert load_config(REPO_ROOT / "config").report == ReportSettings()


def test_repo_root_is_the_repository():
    assert (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "config" / "jobtrend.toml").is_file()


def test_declared_table_reader(tmp_path):
    path = tmp_path / "x.toml"
    keys = {"n": Key(int, 3, "at least 1", lambda n: n >= 1), "name": Key(str, "a")}
    assert read_table(path, {"n": 5}, keys, "t.") == {"n": 5, "name": "a"}
    with pytest.raises(ConfigError, match=r"t\.n: expected at least 1, got 0"):
        read_table(path, {"n": 0}, keys, "t.")
    with pytest.raises(ConfigError, match=r"t\.n: expected an integer, got False"):
        read_table(path, {"n": False}, keys, "t.")  # bool is never a number
    with pytest.raises(ConfigError, match=r"t\.size: expected one of n, name, got 'unknown key'"):
        read_table(path, {"size": 1}, keys, "t.")
    assert typed(path, {"x": 1.5}, "x", (int, float), 0, "") == 1.5
