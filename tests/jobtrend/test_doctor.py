"""`jobtrend doctor`, run as a user would against a demo-like setup on 127.0.0.1: a migrated database, the role
model, a local SMTP server (aiosmtpd), a webhook and one source per kind served by the ReplayServer. Every check
prints one line; a broken SMTP setting, a database behind its migrations or a bad file names the fix and exits 1;
`--offline` goes to no server at all."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from aiosmtpd.controller import Controller

from crawler.replay import ReplayServer
from jobtrend.config import REPO_ROOT
from tests.crawler.conftest import REPLAY, TEST_USER_AGENT
from tests.local_servers import Inbox, free_port

JOBTREND = REPO_ROOT / ".venv" / "bin" / "jobtrend"
SOURCES = """
[[sources]]
kind = "ashby"
key = "character"

[[sources]]
kind = "greenhouse"
key = "acmeai"

[[sources]]
kind = "hackernews"
key = "whoishiring"
"""


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def write_setup(directory, db_url: str, model, smtp_port: int, security: str = "none"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(
        f"[database]\nurl = {json.dumps(db_url)}\n\n"
        f"[crawl]\nuser_agent = {json.dumps(TEST_USER_AGENT)}\ndownload_delay = 0\ndownload_timeout = 10\n\n"
        f"[classifier]\nmodel = {json.dumps(str(model))}\n\n"
        f'[email]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "{security}"\nsender = "bot@example.org"\n'
        'recipients = ["me@example.org"]\ntimeout = 10\n\n'
        '[notify]\nwebhooks = ["http://127.0.0.1:9/hook"]\nallow_private_addresses = true\n')
    (directory / "sources.toml").write_text(SOURCES)
    (directory / "frameworks.toml").write_text("")
    return directory


def doctor(config_dir, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("JOBTREND_DATABASE_URL",)}
    env["JOBTREND_CONFIG_DIR"] = str(config_dir)
    return subprocess.run([str(JOBTREND), "doctor", *args], env=env, capture_output=True, text=True, timeout=120)


def checks(output: str) -> dict[str, str]:
    """check name -> level, from the "<level> <check>: <detail>" lines."""
    found = {}
    for line in output.splitlines():
        level, _, rest = line.partition(" ")
        found[rest.split(": ")[0]] = level
    return found


def test_doctor_on_a_demo_like_setup_prints_every_check_ok(tmp_path, db_url, role_model_path, smtp):
    port, inbox = smtp
    config = write_setup(tmp_path / "config", db_url, role_model_path, port)
    with ReplayServer(REPLAY) as server:
        done = doctor(config, "--api-base", server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert checks(done.stdout) == {
        "configuration": "ok", "database": "ok", "database schema": "ok", "database writable": "ok",
        "role model": "ok", "disk space": "ok", "smtp": "ok", "webhook": "ok", "source ashby:character": "ok",
        "source greenhouse:acmeai": "ok", "source hackernews:whoishiring": "ok"}
    assert done.stderr == ""
    assert inbox.messages == []  # EHLO only: no mail
    asked = [(r.path, {k.lower(): v for k, v in r.headers.items()}.get("user-agent")) for r in server.requests]
    assert ("/robots.txt", TEST_USER_AGENT) in asked
    assert any(path.startswith("/posting-api/job-board/character") and agent == TEST_USER_AGENT
               for path, agent in asked)


def test_a_broken_smtp_setting_names_the_fix(tmp_path, db_url, role_model_path, smtp):
    port, inbox = smtp
    config = write_setup(tmp_path / "config", db_url, role_model_path, port, security="starttls")
    done = doctor(config, "--api-base", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    [line] = [line for line in done.stdout.splitlines() if " smtp:" in line]
    assert line.startswith(f"fail smtp: 127.0.0.1:{port} answers but offers no STARTTLS [fix: set email.security")
    assert inbox.messages == []
    [source] = [line for line in done.stdout.splitlines() if "source ashby:character" in line]
    assert source.startswith("fail source ashby:character: connection refused by 127.0.0.1")
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip() == "Error: 4 checks failed"


def test_offline_skips_the_network_and_a_database_behind_its_migrations_names_the_fix(
        tmp_path, empty_db_url, role_model_path):
    config = write_setup(tmp_path / "config", empty_db_url, role_model_path, free_port())
    done = doctor(config, "--offline")
    assert done.returncode == 1
    assert checks(done.stdout) == {"configuration": "ok", "database": "ok", "database schema": "fail",
                                   "role model": "ok", "disk space": "ok"}
    assert "not initialised, the latest is " in done.stdout and "[fix: run `jobtrend init`]" in done.stdout


def test_a_bad_configuration_is_one_failed_check(tmp_path, db_url, role_model_path):
    config = write_setup(tmp_path / "config", db_url, role_model_path, free_port())
    (config / "jobtrend.toml").write_text("[crawl]\ndownload_delay = -1\n")
    done = doctor(config, "--offline")
    assert done.returncode == 1
    [line] = done.stdout.splitlines()
    assert line.startswith("fail configuration: ") and "download_delay" in line and "[fix: " in line
