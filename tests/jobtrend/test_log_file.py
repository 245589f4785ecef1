"""The log file: `[logging]` in jobtrend.toml and `jobtrend --log-file PATH`. It gets every record with its
traceback while the console stays quiet and names it; the scheduler writes it by default, its crawl child writes
the same file, an unwritable path is one warning and nothing stops, and two processes may rotate it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import scheduler.jobs
from crawler.replay import ReplayServer
from jobtrend.cli import AppContext, main, pass_app
from jobtrend.config import REPO_ROOT, ConfigError, SourceConfig, load_config
from jobtrend.logs import (
    LogFile,
    SharedRotatingFileHandler,
    WithoutTraceback,
    close_log_file,
    console_handlers,
    formatter,
    open_log_file,
    use_format,
)
from tests.crawler.conftest import REPLAY, write_config

JOBTREND = REPO_ROOT / ".venv" / "bin" / "jobtrend"
SOURCES = [SourceConfig("ashby", "character"), SourceConfig("ashby", "nope")]


def project(tmp_path: Path, logging_table: str = "", model: str = "data/models/roles.npz") -> Path:
    """A project folder of its own (config/ and data/), with ``logging_table`` in its jobtrend.toml."""
    config_dir = write_config(tmp_path / "config", SOURCES)
    with (config_dir / "jobtrend.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[classifier]\nmodel = "{model}"\n\n{logging_table}\n')
    return config_dir


def run(config_dir: Path, db_url: str, *args: str) -> subprocess.CompletedProcess:
    """`jobtrend ARGS` in a child process, from the project folder, as an operator runs it."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    env.pop("JOBTREND_LOG_FILE", None)
    return subprocess.run([str(JOBTREND), *args], cwd=config_dir.parent, env=env, capture_output=True, text=True,
                          timeout=180)


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def restore_logging():
    """Put the root handlers' formatters back after a test that changes the format or opens a file."""
    root = logging.getLogger()
    saved = [(handler, handler.formatter, handler.level) for handler in root.handlers]
    level = root.level
    yield
    close_log_file()
    use_format("text")
    for handler, fmt, handler_level in saved:
        handler.setFormatter(fmt)
        handler.setLevel(handler_level)
    root.setLevel(level)


# --- the configuration ------------------------------------------------------------------------------------


def test_the_logging_table_defaults_to_the_service_log_under_data_logs(tmp_path):
    config = load_config(project(tmp_path))
    assert config.logging.file_path(config.config_dir) == (tmp_path / "data" / "logs" / "jobtrend.log").resolve()
    assert (config.logging.level, config.logging.max_bytes, config.logging.backups) == ("INFO", 10485760, 5)


def test_the_logging_table_is_checked_and_an_empty_file_means_none(tmp_path):
    config = load_config(project(tmp_path / "a", '[logging]\nfile = ""\nlevel = "DEBUG"\nmax_bytes = 0'))
    assert config.logging.file_path(config.config_dir) is None and config.logging.level == "DEBUG"
    with pytest.raises(ConfigError, match=r"logging\.level: expected one of DEBUG, INFO, WARNING, ERROR"):
        load_config(project(tmp_path / "b", '[logging]\nlevel = "LOUD"'))
    with pytest.raises(ConfigError, match=r"logging\.backups"):
        load_config(project(tmp_path / "c", "[logging]\nbackups = 0"))


# --- the file and the console -----------------------------------------------------------------------------


def test_a_failing_job_leaves_its_traceback_in_the_service_log_and_a_hint_on_the_console(tmp_path, db_url):
    config_dir = project(tmp_path, model="data/models/broken.npz")
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / "broken.npz").write_bytes(b"not a model")
    done = run(config_dir, db_url, "scheduler", "run-job", "analyze")
    assert done.returncode == 1, done.stderr
    log = (tmp_path / "data" / "logs" / "jobtrend.log").read_text(encoding="utf-8")
    assert "ERROR scheduler.jobs: job analyze failed\nTraceback (most recent call last):" in log
    assert "not a readable jobtrend model" in log
    assert "Traceback" not in done.stderr
    assert "ERROR scheduler.jobs: job analyze failed (traceback in data/logs/jobtrend.log)" in done.stderr


def test_a_failing_crawl_writes_its_tracebacks_to_the_log_file_and_not_to_the_console(tmp_path, db_url):
    config_dir = project(tmp_path)
    log_file = tmp_path / "crawl.log"
    done = run(config_dir, db_url, "--log-file", str(log_file), "crawl", "--api-base",
               f"http://127.0.0.1:{closed_port()}", "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_ENABLED=False")
    assert done.returncode == 1 and "every source failed" in done.stderr
    assert "Traceback" not in done.stderr and "INFO scrapy" not in done.stderr
    log = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last):" in log and "ConnectionRefusedError" in log
    assert "INFO scrapy.core.engine: Spider opened" in log  # the file's level (INFO), not the console's
    assert "ERROR jobtrend.cli: crawl: every source failed" in log  # the command's own error line
    failed_line = next(line for line in done.stderr.splitlines() if line.startswith("ashby:") and " failed: " in line)
    assert f"WARNING crawler.sources: {failed_line}" in log  # each source's line, in the file too
    assert done.stderr.count(failed_line) == 1  # and once on the console


@click.command("explode")
@pass_app
def explode(app: AppContext) -> None:
    """A command with a bug."""
    assert app.config is not None
    raise ZeroDivisionError("boom")


def test_an_unexpected_error_is_one_line_naming_the_log_file(tmp_path, restore_logging):
    main.add_command(explode)
    log_file = tmp_path / "x.log"
    try:
        result = CliRunner().invoke(main, ["--config-dir", str(project(tmp_path)), "--log-file", str(log_file),
                                           "explode"])
        without_file = CliRunner().invoke(main, ["--config-dir", str(project(tmp_path)), "explode"])
    finally:
        main.commands.pop("explode")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: unexpected error: ZeroDivisionError: boom (traceback in {log_file})"]
    log = log_file.read_text(encoding="utf-8")
    assert "ERROR jobtrend.cli: explode failed\nTraceback (most recent call last):" in log and "boom" in log
    assert isinstance(without_file.exception, ZeroDivisionError)  # no file: Python's traceback, as before


def test_an_unwritable_log_path_is_one_warning_and_the_command_goes_on(tmp_path, db_url):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    config_dir = project(tmp_path, f'[logging]\nfile = "{blocker.name}/logs/jobtrend.log"')
    done = run(config_dir, db_url, "scheduler", "run-job", "trends")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("trends: ok")
    warnings = [line for line in done.stderr.splitlines() if "cannot write the log file" in line]
    assert len(warnings) == 1 and "going on without it" in warnings[0] and "Traceback" not in done.stderr
    assert blocker.read_text() == "a file where the log folder should be"
    done = run(config_dir, db_url, "--log-file", str(blocker / "x.log"), "status")
    assert done.returncode == 0 and done.stderr.count("cannot write the log file") == 1


def test_the_schedulers_crawl_child_logs_to_the_same_file(tmp_path, db_url, monkeypatch, restore_logging):
    config_dir = project(tmp_path)
    monkeypatch.setenv("JOBTREND_DATABASE_URL", db_url)
    log_file = tmp_path / "service.log"
    with ReplayServer(REPLAY) as server:
        monkeypatch.setattr(scheduler.jobs, "CRAWL_COMMAND",
                            (*scheduler.jobs.CRAWL_COMMAND, "--api-base", server.url, "-s", "AUTOTHROTTLE_ENABLED=0"))
        result = CliRunner().invoke(main, ["--config-dir", str(config_dir), "--log-file", str(log_file),
                                           "scheduler", "run-job", "crawl"])
    assert result.exit_code == 0, result.output
    log = log_file.read_text(encoding="utf-8")
    assert "INFO scheduler.jobs: job crawl started" in log  # the scheduler's line
    assert "INFO scrapy.core.engine: Spider opened" in log  # the child's: only the child runs Scrapy
    assert "crawler.sources: ashby:nope failed: the board does not exist (HTTP 404)" in log
    assert not any(isinstance(h, SharedRotatingFileHandler) for h in logging.getLogger().handlers)  # closed


# --- the format and the rotation --------------------------------------------------------------------------


def test_json_format_applies_to_the_file_and_the_console_hint_stays_json(tmp_path, restore_logging):
    use_format("json")
    path = open_log_file(LogFile(tmp_path / "j.log"))
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("jobtrend.test").exception("it failed")
    close_log_file()
    entry = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["message"] == "it failed" and "ValueError: bad value" in entry["traceback"]
    record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "m", (), None)
    record.exc_text = "Traceback ..."
    open_log_file(LogFile(tmp_path / "j.log"))
    shown = json.loads(WithoutTraceback(formatter("json")).format(record))
    assert shown["hint"].startswith("traceback in ") and shown["hint"].endswith("j.log")


def test_the_console_keeps_its_level_while_the_file_takes_info(tmp_path, restore_logging):
    console = console_handlers()
    logging.getLogger().setLevel(logging.WARNING)
    open_log_file(LogFile(tmp_path / "l.log", level="INFO"))
    assert logging.getLogger().level == logging.INFO
    assert all(handler.level == logging.WARNING for handler in console)
    close_log_file()
    assert logging.getLogger().level == logging.WARNING


def test_two_processes_share_a_rotated_file(tmp_path):
    settings = LogFile(tmp_path / "shared.log", max_bytes=300, backups=2)
    parent, child = SharedRotatingFileHandler(settings), SharedRotatingFileHandler(settings)
    for handler in (parent, child):
        handler.setFormatter(logging.Formatter("%(message)s"))

    def write(handler, text: str) -> None:
        handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.INFO, "levelname": "INFO"}))

    try:
        for i in range(8):
            write(parent, f"parent line {i} " + "x" * 40)
        write(child, "child line after the parent rotated")
    finally:
        parent.close()
        child.close()
    assert (tmp_path / "shared.log.1").exists() and not (tmp_path / "shared.log.3").exists()
    assert "child line after the parent rotated" in (tmp_path / "shared.log").read_text()


def test_logrotate_moving_the_file_away_is_followed(tmp_path):
    handler = SharedRotatingFileHandler(LogFile(tmp_path / "j.log", max_bytes=0))
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        handler.handle(logging.makeLogRecord({"msg": "before", "levelno": logging.INFO}))
        shutil.move(tmp_path / "j.log", tmp_path / "j.log.1")  # logrotate's default (create)
        handler.handle(logging.makeLogRecord({"msg": "after", "levelno": logging.INFO}))
    finally:
        handler.close()
    assert (tmp_path / "j.log.1").read_text() == "before\n" and (tmp_path / "j.log").read_text() == "after\n"
