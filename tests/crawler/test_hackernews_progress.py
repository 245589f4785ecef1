"""`jobtrend crawl --source hackernews --since` on a terminal counts the threads on a progress bar; piped, it
draws nothing. Real crawls in child processes (the reactor cannot restart) against the replay server; rich is
told the child's stderr is a terminal with FORCE_COLOR."""

from __future__ import annotations

import os
import re
import subprocess

from crawler.replay import ReplayServer
from jobtrend.config import REPO_ROOT, SourceConfig
from tests.crawler.conftest import REPLAY, write_config

SOURCE = SourceConfig("hackernews", "whoishiring", company="Hacker News")
MONTHS_SINCE_2026_01 = 5  # the recorded threads of January to May 2026


def _crawl(db_url, tmp_path, server, *, terminal: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "FORCE_COLOR", "NO_COLOR", "TERM")}
    env |= {"JOBTREND_CONFIG_DIR": str(write_config(tmp_path / "config", [SOURCE])), "JOBTREND_DATABASE_URL": db_url,
            "COLUMNS": "120"}
    if terminal:
        env["FORCE_COLOR"] = "1"
    command = [str(REPO_ROOT / ".venv" / "bin" / "jobtrend"), "crawl", "--source", "hackernews", "--api-base",
               server.url, "--since", "2026-01", "-s", "AUTOTHROTTLE_ENABLED=False"]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_backfill_on_a_terminal_counts_every_thread(db_url, tmp_path):
    with ReplayServer(REPLAY) as server:
        done = _crawl(db_url, tmp_path, server, terminal=True)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stderr)
    assert "Hacker News threads" in plain
    assert f"{MONTHS_SINCE_2026_01}/{MONTHS_SINCE_2026_01}" in plain, plain[-2000:]
    assert "hackernews:whoishiring" in done.stdout  # the summary table still goes to stdout


def test_a_backfill_piped_draws_no_bar(db_url, tmp_path):
    with ReplayServer(REPLAY) as server:
        done = _crawl(db_url, tmp_path, server, terminal=False)
    assert "Hacker News threads" not in done.stderr
