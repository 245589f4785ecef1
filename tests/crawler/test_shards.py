"""Several crawler processes sharing one database: ``python -m crawler.run --shard K/N`` splits the boards by a
stable hash (crawler/plan.py), and two shards crawling at the same time store what one process stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

from sqlalchemy import func, select

from benchmarks.synthetic_boards import write_replay
from jobtrend.config import REPO_ROOT, SourceConfig
from jobtrend.db import make_engine
from jobtrend.models import CrawlRun, Posting, Source
from tests.conftest import new_database_url
from tests.crawler.conftest import write_config

BOARDS, POSTINGS = 300, 6000


def totals(db_url: str) -> dict:
    """Sources, postings per source and crawl_runs (status) per source."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            postings = dict(conn.execute(select(Source.key, func.count(Posting.id)).join(Posting)
                                         .group_by(Source.key)).all())
            runs = Counter((key, status) for key, status in conn.execute(
                select(Source.key, CrawlRun.status).join(Source)))
            sources = conn.execute(select(func.count(Source.id))).scalar_one()
    finally:
        engine.dispose()
    return {"sources": sources, "postings": postings, "runs": runs}


def start(args: list[str], config_dir, db_url: str) -> subprocess.Popen:
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    return subprocess.Popen([sys.executable, "-m", "crawler.run", *args], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return out


def test_two_shards_at_once_store_what_one_process_stores(db_url, db_kind, tmp_path, sqlite_template,
                                                          postgres_template):
    replay = tmp_path / "replay"
    listed = write_replay(replay, BOARDS, POSTINGS)
    config = write_config(tmp_path / "config", [SourceConfig(kind=kind, key=key) for kind, key in listed])
    single_url = new_database_url(db_kind, tmp_path, sqlite_template, postgres_template)

    finish(start(["--replay", str(replay)], config, single_url))
    shards = [start(["--replay", str(replay), "--shard", f"{k}/2"], config, db_url) for k in (1, 2)]
    outputs = [finish(p) for p in shards]

    one, two = totals(single_url), totals(db_url)
    assert one["sources"] == BOARDS
    assert sum(one["postings"].values()) == POSTINGS
    assert set(one["runs"].values()) == {1} and {status for _, status in one["runs"]} == {"ok"}
    assert two == one
    # each board in exactly one shard, each shard a part
    crawled = [set(json.loads(out)["sources"]) for out in outputs]
    assert not crawled[0] & crawled[1] and len(crawled[0] | crawled[1]) == BOARDS
    assert all(BOARDS / 4 < len(part) < BOARDS * 3 / 4 for part in crawled)


def test_a_bad_shard_is_one_line_and_crawls_nothing(tmp_path, sqlite_template):
    config = write_config(tmp_path / "config", [SourceConfig(kind="ashby", key="x")])
    done = subprocess.run([sys.executable, "-m", "crawler.run", "--shard", "3/2"], cwd=REPO_ROOT,
                          env=os.environ | {"JOBTREND_CONFIG_DIR": str(config),
                                            "JOBTREND_DATABASE_URL": f"sqlite:///{sqlite_template}"},
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "expected K/N with 1 <= K <= N" in done.stderr and "Traceback" not in done.stderr
