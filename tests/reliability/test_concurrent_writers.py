"""The scheduler and a CLI command writing one database at once, on SQLite and PostgreSQL: `jobtrend scheduler
run-job trends` (the scheduler's job, recorded in ``job_runs``) and `jobtrend trends --full` replace the same
``trend_points`` rows while a third connection holds a write lock on them for a while, as a long crawl batch
would. Both wait for the lock (SQLite: WAL and ``busy_timeout``, jobtrend/db.py) and then either both succeed,
or one fails with one clear line and changes nothing; the table ends exactly as one recompute leaves it.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from analysis.trends import compute_trends
from jobtrend.config import REPO_ROOT
from jobtrend.models import Classification, Framework, JobRun, Mention, Posting, Source, TrendPoint
from tests.analysis.factories import content_hash
from tests.scheduler.test_service import write_config

JOBTREND = str(Path(sys.executable).parent / "jobtrend")
WEEKS = 30
PER_WEEK = 20
TIMEOUT = 120


def populate(engine) -> None:
    """WEEKS weeks of AI-role postings, a third of them mentioning PyTorch and a fifth JAX."""
    monday = dt.date(2025, 1, 6)
    with engine.begin() as conn:
        source_id = conn.execute(insert(Source).returning(Source.id), {"kind": "ashby", "key": "acme",
                                                                        "company": "Acme", "enabled": True}).scalar()
        frameworks = [conn.execute(insert(Framework).returning(Framework.id), {"slug": s, "name": s,
                                                                               "category": "dl"}).scalar()
                      for s in ("pytorch", "jax")]
        rows = []
        for i in range(WEEKS * PER_WEEK):
            week = monday + dt.timedelta(weeks=i // PER_WEEK)
            posted = dt.datetime.combine(week, dt.time(12), tzinfo=dt.UTC)
            rows.append({"source_id": source_id, "external_id": f"job-{i}", "title": "AI Engineer",
                         "description_text": f"posting {i}", "posted_at": posted, "posted_week": week,
                         "content_hash": content_hash("AI Engineer", f"posting {i}"), "analyzed_at": posted,
                         "analyzed_hash": content_hash("AI Engineer", f"posting {i}")})
        ids = conn.execute(insert(Posting).returning(Posting.id, Posting.content_hash), rows).all()
        conn.execute(insert(Classification), [
            {"posting_id": pid, "model_version": "test", "content_hash": digest, "is_ai_role": True,
             "relevance_probability": 0.9, "role": "ai_swe" if n % 2 else "ml_engineer", "probability": 0.8,
             "evidence": {}, "classified_at": dt.datetime.now(dt.UTC)} for n, (pid, digest) in enumerate(ids)])
        mentions = [{"posting_id": pid, "framework_id": frameworks[0], "count": 1, "taxonomy_version": "t"}
                    for n, (pid, _) in enumerate(ids) if n % 3 == 0]
        mentions += [{"posting_id": pid, "framework_id": frameworks[1], "count": 2, "taxonomy_version": "t"}
                     for n, (pid, _) in enumerate(ids) if n % 5 == 0]
        conn.execute(insert(Mention), mentions)


class WriteLock:
    """Hold a write lock on trend_points from another connection: SQLite's one writer lock, or PostgreSQL's
    table lock that every DELETE and INSERT must wait for."""

    def __init__(self, db_url: str):
        self.url = make_url(db_url)

    def __enter__(self):
        if self.url.get_backend_name() == "sqlite":
            self.conn = sqlite3.connect(self.url.database, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("DELETE FROM trend_points WHERE 1 = 0")
        else:
            self.engine = create_engine(self.url)
            self.conn = self.engine.connect()
            self.transaction = self.conn.begin()
            self.conn.execute(text("LOCK TABLE trend_points IN SHARE ROW EXCLUSIVE MODE"))
        return self

    def waiting(self) -> int:
        """PostgreSQL: how many lock requests wait (SQLite cannot tell: -1)."""
        if self.url.get_backend_name() == "sqlite":
            return -1
        with create_engine(self.url).connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))

    def __exit__(self, *exc):
        if self.url.get_backend_name() == "sqlite":
            self.conn.execute("COMMIT")
            self.conn.close()
        else:
            self.transaction.commit()
            self.conn.close()
            self.engine.dispose()


def trend_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(
            TrendPoint.period_start, TrendPoint.cohort, TrendPoint.framework_id, TrendPoint.n_postings,
            TrendPoint.n_mentioning, TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high).order_by(
            TrendPoint.cohort, TrendPoint.period_start, TrendPoint.framework_id))]


def clean_failure(done: subprocess.CompletedProcess) -> bool:
    """A failed command that said why in one line, without a traceback."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return done.returncode == 1 and "Traceback" not in done.stderr and lines[-1].startswith("Error: ")


def test_scheduler_job_and_cli_write_at_once_and_both_finish_cleanly(db_url, engine, tmp_path):
    populate(engine)
    config_dir = write_config(tmp_path / "config", db_url)
    env = {k: v for k, v in os.environ.items() if k not in ("JOBTREND_DATABASE_URL", "JOBTREND_CONFIG_DIR")} | {
        "JOBTREND_CONFIG_DIR": str(config_dir)}
    commands = {"scheduler": [JOBTREND, "scheduler", "run-job", "trends"], "cli": [JOBTREND, "trends", "--full"]}
    with WriteLock(db_url) as lock:
        children = {name: subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True) for name, command in commands.items()}
        deadline = time.monotonic() + TIMEOUT
        if lock.waiting() >= 0:  # PostgreSQL: until both writers wait for the lock
            while lock.waiting() < 2:
                assert time.monotonic() < deadline, "the writers never reached the lock"
                time.sleep(0.1)
        else:  # SQLite: long enough for both to start and reach their first write
            time.sleep(3)
        assert all(child.poll() is None for child in children.values())  # both are waiting, none gave up
    done = {}
    for name, child in children.items():
        stdout, stderr = child.communicate(timeout=TIMEOUT)
        done[name] = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)

    ok = [name for name, result in done.items() if result.returncode == 0]
    assert ok, {name: result.stderr[-2000:] for name, result in done.items()}
    for name, result in done.items():
        assert result.returncode == 0 or clean_failure(result), (name, result.stderr[-2000:])
    with engine.connect() as conn:
        [job] = conn.execute(select(JobRun.status, JobRun.error).where(JobRun.job == "trends")).all()
    assert job.status == ("ok" if "scheduler" in ok else "failed"), job

    written = trend_rows(engine)
    assert written, {n: (r.stdout[-1500:], r.stderr[-1500:]) for n, r in done.items()}
    assert len(written) == len(set(r[:3] for r in written))  # no row twice
    compute_trends(engine, full=True)
    assert trend_rows(engine) == written  # exactly what one recompute leaves: nothing partial
