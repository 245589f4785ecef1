"""What `jobtrend scheduler run` prints: nothing but errors with --quiet; JSON objects, one per line, with
--log-format json (its start and stop lines on stdout, its log on stderr)."""

from __future__ import annotations

import json
import signal

import pytest

from tests.scheduler.test_heartbeat import heartbeat, start_scheduler
from tests.scheduler.test_service import TIMEOUT, wait_for, write_config


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'jobtrend.db'}"
    from jobtrend.db import migrate

    migrate(url)
    return write_config(tmp_path / "config", url, "[scheduler]\nheartbeat_seconds = 1\n"), url


def run_until_first_beat(config_dir, url, *options: str) -> tuple[int, str, str]:
    proc = start_scheduler(config_dir, *options)
    try:
        wait_for(lambda: heartbeat(url), what="the heartbeat")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    return proc.returncode, out, err


def test_quiet_prints_nothing_when_all_is_well(config_dir):
    directory, url = config_dir
    code, out, err = run_until_first_beat(directory, url, "--quiet")
    assert (code, out, err) == (0, "", "")


def test_json_log_format_prints_one_object_per_line(config_dir):
    directory, url = config_dir
    proc_args = ("--log-format", "json")
    code, out, err = run_until_first_beat(directory, url, *proc_args)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["scheduler_started", "scheduler_stopped"]
    assert {job["job"] for job in events[0]["jobs"]} >= {"crawl", "deliver"}
    assert events[0]["jobs"][0]["cron"].count(" ") == 4  # crontab text, whole
    logged = [json.loads(line) for line in err.splitlines()]
    assert logged, "the SIGTERM is logged"
    assert any(entry["level"] == "WARNING" and "received SIGTERM" in entry["message"] for entry in logged)
    assert all(set(entry) >= {"time", "level", "logger", "message"} for entry in logged)
