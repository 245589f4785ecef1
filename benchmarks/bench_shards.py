"""Two crawler processes sharing one PostgreSQL at market scale: the boards split by ``--shard K/N``.

Example:
    .venv/bin/python benchmarks/bench_shards.py                          # 6,000 boards / 200,000 postings
    .venv/bin/python benchmarks/bench_shards.py --boards 1000            # a smaller replay
    make bench BENCH_ARGS=shards                                         # the same through `make bench`

The replay is bench_scale.py's (benchmarks/synthetic_boards.py: real Ashby, Greenhouse and Lever response shapes,
generated text, cached under /tmp/jobtrend-bench/), served on 127.0.0.1 with politeness off (a replay only).
First one worker (``python -m crawler.run --replay``) crawls every board into a fresh PostgreSQL database; then
two workers (``--shard 1/2`` and ``--shard 2/2``, crawler/plan.py: a stable hash of ``kind:key``) crawl the same
replay at the same time into a second fresh database. Figures, each beside its reference from the same run:

- the two workers' wall time (the later one to finish), against the one worker's: the target is the same totals
  (sources, postings per source, one ``ok`` crawl run per source), which is what the two-worker layout promises;
  the time is what it buys on this machine (the workers share its cores and the one PostgreSQL server);
- each shard's share of the boards, against half: a stable hash splits evenly but not exactly.

The same check on 300 boards runs in the test suite (tests/crawler/test_shards.py) on both databases. Without
PostgreSQL (``JOBTREND_BENCH_POSTGRES_URL`` unset and scripts/pg-test-server unable to start one) the figures are
skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks._figures import figure  # noqa: E402
from benchmarks.bench_scale import config_dir, fresh_database, replay_dir  # noqa: E402
from benchmarks.bench_trends import PG_ENV, postgres_server  # noqa: E402

WORKERS = 2


def start_worker(replay: Path, config: Path, url: str, extra: list[str], logs: Path) -> subprocess.Popen:
    """Start one ``python -m crawler.run --replay`` child writing its stdout and stderr to ``logs``.out/.err (the
    child holds its own copies of the files, so they are closed here at once)."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config), "JOBTREND_DATABASE_URL": url,
                        "JOBTREND_LOG_LEVEL": "WARNING"}
    with open(logs.with_suffix(".out"), "wb") as out, open(logs.with_suffix(".err"), "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "crawler.run", "--replay", str(replay), "-s",
                                 "LOG_LEVEL=WARNING", *extra], cwd=REPO, env=env, stdout=out, stderr=err)


def wait_worker(child: subprocess.Popen, logs: Path) -> dict:
    """Wait for a worker; its summary (JSON on stdout) and peak RSS. A failed worker ends the benchmark."""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"crawl failed ({child.returncode}):\n{logs.with_suffix('.err').read_text()[-3000:]}")
    return {"summary": json.loads(logs.with_suffix(".out").read_bytes()), "rss_mib": usage.ru_maxrss / 1024}


def run_workers(replay: Path, config: Path, url: str, shards: list[list[str]], folder: Path
                ) -> tuple[float, list[dict]]:
    """Run one worker per entry of ``shards`` at the same time (their output in ``folder``); the wall time until
    the last ends, and each worker's result."""
    logs = [folder / f"worker-{os.getpid()}-{url.rsplit('/', 1)[-1]}-{n}" for n in range(len(shards))]
    started = time.perf_counter()
    children = [start_worker(replay, config, url, extra, log) for extra, log in zip(shards, logs, strict=True)]
    results = [wait_worker(child, log) for child, log in zip(children, logs, strict=True)]
    return time.perf_counter() - started, results


def totals(url: str) -> dict:
    """Sources, postings per source, and (source, status) -> crawl runs: what one worker and two must agree on."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            postings = dict(conn.execute(text(
                "SELECT s.kind || ':' || s.key, count(p.id) FROM sources s JOIN postings p ON p.source_id = s.id "
                "GROUP BY 1")).all())
            runs = Counter({(label, status): n for label, status, n in conn.execute(text(
                "SELECT s.kind || ':' || s.key, r.status, count(*) FROM crawl_runs r JOIN sources s "
                "ON s.id = r.source_id GROUP BY 1, 2"))})
            sources = conn.execute(text("SELECT count(*) FROM sources")).scalar_one()
    finally:
        engine.dispose()
    return {"sources": sources, "postings": postings, "runs": runs}


def compare(boards: int, postings: int, one: dict, two: dict) -> list[str]:
    """What differs between the one-worker and the two-worker totals, and from what the replay holds."""
    problems = []
    if one["sources"] != boards or sum(one["postings"].values()) != postings:
        problems.append(f"one worker: {one['sources']} sources, {sum(one['postings'].values())} postings; "
                        f"the replay holds {boards} and {postings}")
    if {status for _, status in one["runs"]} != {"ok"} or set(one["runs"].values()) != {1}:
        problems.append(f"one worker: crawl runs not one ok per source: {dict(Counter(one['runs'].values()))}")
    for name in ("sources", "postings", "runs"):
        if one[name] != two[name]:
            problems.append(f"{name} differ between one worker and two")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boards", type=int, default=6000, help="boards (default 6,000)")
    parser.add_argument("--postings", type=int, help="postings (default 33.3 per board: 200,000 for 6,000)")
    args = parser.parse_args()
    postings = args.postings or round(args.boards * 100 / 3)
    replay = replay_dir(args.boards, postings)
    with tempfile.TemporaryDirectory(prefix="jobtrend-bench-shards-") as tmp, postgres_server() as server:
        if server is None:
            print(f"PostgreSQL: no server ({PG_ENV} unset and scripts/pg-test-server cannot start one here); "
                  "shard figures skipped")
            return 0
        config = config_dir(Path(tmp), replay)
        with fresh_database(server, f"jt_bench_one_{os.getpid()}") as url:
            one_wall, _ = run_workers(replay, config, url, [[]], Path(tmp))
            one = totals(url)
        with fresh_database(server, f"jt_bench_two_{os.getpid()}") as url:
            shards = [["--shard", f"{k}/{WORKERS}"] for k in range(1, WORKERS + 1)]
            two_wall, results = run_workers(replay, config, url, shards, Path(tmp))
            two = totals(url)
    problems = compare(args.boards, postings, one, two)
    parts = [len(result["summary"]["sources"]) for result in results]
    print(f"one worker: {args.boards:,} boards / {postings:,} postings in {one_wall:.1f} s; two workers at once: "
          f"{two_wall:.1f} s ({' + '.join(f'{n:,}' for n in parts)} boards, peak RSS "
          f"{', '.join(format(r['rss_mib'], '.0f') for r in results)} MiB); totals "
          f"{'the same' if not problems else 'DIFFER: ' + '; '.join(problems)}", flush=True)
    figure("shards PostgreSQL", f"two workers at once, {args.boards:,} boards / {postings:,} postings", two_wall, "s",
           reference="one worker", reference_value=one_wall, target="same totals as one worker", met=not problems)
    figure("shards PostgreSQL", "largest shard's boards", max(parts), "boards", reference="half of the boards",
           reference_value=args.boards / WORKERS, target="<= 1.1x half", met=max(parts) <= 1.1 * args.boards / WORKERS)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
