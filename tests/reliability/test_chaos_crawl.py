"""A crawl of 69 recorded boards against a replay server in chaos mode (crawler.replay.Chaos), on SQLite and
PostgreSQL: answers 429, 500 and 503 (for good, or once), slow bodies, truncated JSON and bodies over
``DOWNLOAD_MAXSIZE``, picked per board from a fixed seed. The crawl finishes; every board ends as its fault says,
with the failure counted by reason in ``crawl_runs`` (``error``, ``errors``, ``stats``); the postings stored by
an earlier good crawl of a failed board are untouched, and nothing is closed.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter

import pytest

from crawler.replay import FAULTS, Chaos, ReplayServer
from jobtrend.config import REPO_ROOT, load_sources
from tests.crawler.conftest import read_database, run_crawl_child, write_config

pytestmark = pytest.mark.soak

DEMO = REPO_ROOT / "data" / "demo"
BOARD_PATHS = {"ashby": "/posting-api/job-board/{}", "greenhouse": "/v1/boards/{}/jobs", "lever": "/v0/postings/{}"}
MAX_BODY = 500_000  # boards larger than this are left out (time)
DOWNLOAD_MAXSIZE = 1024 * 1024
CHAOS = Chaos(seed=11, rate=0.6, oversize_bytes=DOWNLOAD_MAXSIZE)
EXPECTED_ERROR = {"http_429": "http_429", "http_500": "http_500", "http_503": "http_503", "truncated": "invalid_json",
                  "oversized": "too_large",  # over DOWNLOAD_MAXSIZE: cancelled
                  "flaky_503": None, "slow_body": None, None: None}
SETTINGS = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
            "-s", f"DOWNLOAD_MAXSIZE={DOWNLOAD_MAXSIZE}", "-s", "RETRY_TIMES=1"]


def body_size(server: ReplayServer, path: str) -> int:
    found = server.find(path) or server.find(f"{path}@limit=100&mode=json&skip=0")
    data = found.read_bytes()
    return len(gzip.decompress(data)) if found.name.endswith(".gz") else len(data)


def chosen_sources(server: ReplayServer):
    sources = [s for s in load_sources(DEMO / "sources.toml") if s.kind in BOARD_PATHS]
    return [s for s in sources if body_size(server, BOARD_PATHS[s.kind].format(s.key)) <= MAX_BODY]


def crawl(server: ReplayServer, config_dir, db_url) -> dict:
    done = run_crawl_child([sys.executable, "-m", "crawler.run", "--api-base", server.url, *SETTINGS], config_dir,
                           db_url, timeout=600)
    return json.loads(done.stdout)


def test_chaos_crawl_counts_every_failure_and_keeps_stored_data(db_url, tmp_path):
    with ReplayServer(DEMO) as server:
        sources = chosen_sources(server)
        faults = {s.key: CHAOS.fault_for(BOARD_PATHS[s.kind].format(s.key)) for s in sources}
        assert len(sources) >= 60 and set(FAULTS) <= set(faults.values())  # every fault is met
        config_dir = write_config(tmp_path / "config", sources)
        first = crawl(server, config_dir, db_url)
        assert {s["status"] for s in first["sources"].values()} == {"ok"}
        before, first_runs = read_database(db_url, 0)
        assert len(before) > 1000

        server.requests.clear()
        server.chaos = CHAOS
        summary = crawl(server, config_dir, db_url)
    after, runs = read_database(db_url, max(r["id"] for r in first_runs.values()))

    assert set(runs) == {s.key for s in sources}  # the crawl finished and recorded every board
    outcome = {key: (run["status"], run["error"]) for key, run in runs.items()}
    for key, fault in faults.items():
        error = EXPECTED_ERROR[fault]
        assert outcome[key] == (("failed", error) if error else ("ok", None)), (key, fault)
        if error:
            assert runs[key]["errors"] == 1 and runs[key]["stats"][f"source_error/{error}"] == 1, key
    failed = {key for key, fault in faults.items() if EXPECTED_ERROR[fault]}
    assert Counter(s["reason"] for s in summary["sources"].values() if s["reason"]) == Counter(
        EXPECTED_ERROR[faults[key]] for key in failed)

    assert after.keys() == before.keys()  # nothing lost, nothing added
    for (key, external_id), row in after.items():
        assert row["closed_at"] is None, (key, external_id)
        if key in failed:
            assert row == before[(key, external_id)]  # a failed board touched nothing
        else:
            assert row["last_seen_at"] > before[(key, external_id)]["last_seen_at"]
    assert all(run["closed"] == 0 for run in runs.values())

    # the transient faults were retried, and the slow bodies were waited for
    for key, fault in faults.items():
        kind = next(s.kind for s in sources if s.key == key)
        hits = server.hits(BOARD_PATHS[kind].format(key))
        if fault in ("flaky_503", "http_429", "http_500", "http_503"):
            assert hits == 2, (key, fault)  # RETRY_TIMES=1
        else:
            assert hits == 1, (key, fault)
