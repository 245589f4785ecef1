"""Peak memory of a crawl: ingesting 10,000 and 100,000 postings should take about the same RSS.

Example:
    .venv/bin/python benchmarks/bench_memory.py                       # 10,000 and 100,000 postings
    .venv/bin/python benchmarks/bench_memory.py --small 2000 --large 20000

Writes a synthetic replay corpus: Ashby boards of ``--per-board`` postings each, made by cycling the demo corpus's
Ashby postings with new ids and numbered titles (``descriptionPlain`` left out: the spider does not read it).
Serves it with :class:`crawler.replay.ReplayServer` in this process, and crawls the first ``--small`` postings,
then the first ``--large``, each with ``python -m crawler.run --source ashby`` in a child process into a fresh,
migrated SQLite file. The child's peak RSS is what ``os.wait4`` reports for it (``ru_maxrss``); the replay
server's memory is not in it. Target: the larger crawl's peak at most 1.2x the smaller's, i.e. memory does not
grow with the number of postings.

A peak is the highest of many transient states (up to 8 board responses of ~4 MB in flight, and the items being
stored), so one crawl's peak moves by 10 to 30 MiB from run to run: each size is crawled ``--runs`` times (3) and
the figure is the median peak; every run's peak is printed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks._figures import figure  # noqa: E402
from crawler.replay import ReplayServer  # noqa: E402
from crawler.run import REPLAY_SETTINGS  # noqa: E402
from jobtrend.db import migrate  # noqa: E402

DEMO_BOARDS = REPO / "data" / "demo" / "posting-api" / "job-board"
FAST = [arg for name, value in REPLAY_SETTINGS.items() for arg in ("-s", f"{name}={value}")]


def demo_jobs() -> list[dict]:
    jobs = []
    for path in sorted(DEMO_BOARDS.glob("*.json.gz")):
        jobs += [job for job in json.loads(gzip.decompress(path.read_bytes()))["jobs"] if job.get("isListed", True)]
    return jobs


def write_corpus(root: Path, postings: int, per_board: int) -> list[str]:
    """Boards ``synthetic-0000``, ... holding ``postings`` postings in all; return their keys."""
    jobs = demo_jobs()
    folder = root / "posting-api" / "job-board"
    folder.mkdir(parents=True)
    keys = []
    for board in range(0, postings, per_board):
        key = f"synthetic-{board // per_board:04d}"
        batch = []
        for n in range(board, min(postings, board + per_board)):
            job = dict(jobs[n % len(jobs)])
            job.pop("descriptionPlain", None)
            job["id"] = f"{key}-{n:07d}"
            job["title"] = f"{job.get('title') or 'Engineer'} #{n}"
            job["jobUrl"] = f"https://jobs.example/{key}/{n}"
            batch.append(job)
        (folder / f"{key}.json.gz").write_bytes(gzip.compress(json.dumps({"jobs": batch}).encode(), 1))
        keys.append(key)
    return keys


def crawl(api_base: str, keys: list[str], workdir: Path) -> dict:
    """Crawl ``keys`` in a child process; its summary, wall time and peak RSS (MiB)."""
    config_dir = workdir / "config"
    config_dir.mkdir(parents=True)
    shutil.copy(REPO / "config" / "jobtrend.toml", config_dir / "jobtrend.toml")
    (config_dir / "frameworks.toml").write_text("")
    (config_dir / "sources.toml").write_text("".join(
        f'[[sources]]\nkind = "ashby"\nkey = "{key}"\ncompany = "Synthetic {key}"\n\n' for key in keys))
    url = f"sqlite:///{workdir / 'memory.db'}"
    migrate(url)
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": url}
    out = workdir / "summary.json"
    started = time.perf_counter()
    with open(out, "w") as stdout, open(workdir / "stderr.log", "w") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "crawler.run", "--source", "ashby", "--api-base", api_base,
                                  *FAST], cwd=REPO, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"crawl failed ({child.returncode}):\n{(workdir / 'stderr.log').read_text()[-3000:]}")
    summary = json.loads(out.read_text())
    return {"summary": summary, "elapsed_s": elapsed, "peak_mib": usage.ru_maxrss / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--per-board", type=int, default=500, help="postings per synthetic board")
    parser.add_argument("--runs", type=int, default=3, help="crawls of each size; the figure is the median peak")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobtrend-memory-") as tmp:
        root = Path(tmp) / "replay"
        started = time.perf_counter()
        keys = write_corpus(root, args.large, args.per_board)
        print(f"synthetic corpus: {args.large:,} postings on {len(keys)} boards, "
              f"{sum(p.stat().st_size for p in root.rglob('*.gz')) / 2**20:.0f} MiB gzip, "
              f"written in {time.perf_counter() - started:.0f} s", flush=True)
        results = {}
        with ReplayServer(root) as server:
            for run in range(args.runs):
                for postings in (args.small, args.large):
                    boards = keys[:-(-postings // args.per_board)]
                    result = crawl(server.url, boards, Path(tmp) / f"crawl-{postings}-{run}")
                    stored = result["summary"]["postings_stored"]
                    if stored != postings:
                        raise SystemExit(f"stored {stored} of {postings} postings: {result['summary']}")
                    print(f"run {run + 1}, {postings:,} postings: peak RSS {result['peak_mib']:.0f} MiB, "
                          f"{result['elapsed_s']:.0f} s ({stored / result['summary']['elapsed_s']:,.0f} postings/s)",
                          flush=True)
                    results.setdefault(postings, []).append(result["peak_mib"])
    small, large = statistics.median(results[args.small]), statistics.median(results[args.large])
    runs = f"median of {args.runs}"
    figure("memory", f"peak RSS of a crawl of {args.small:,} postings ({runs})", small, "MiB")
    figure("memory", f"peak RSS of a crawl of {args.large:,} postings ({runs})", large, "MiB",
           reference=f"the {args.small:,}-posting crawl", reference_value=small,
           target=f"<= 1.2x the {args.small:,}-posting peak", met=large <= 1.2 * small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
