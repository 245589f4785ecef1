"""Ingest throughput on the bundled demo corpus: html_to_text pages/s, then a whole crawl in postings/s.

Example:
    .venv/bin/python benchmarks/bench_crawl.py              # both
    .venv/bin/python benchmarks/bench_crawl.py --text-only  # html_to_text only

The crawl runs ``python -m crawler.run --replay data/demo`` in a child process (the Twisted reactor cannot
restart) into a fresh, migrated SQLite file, with every bundled board as a source, and prints its summary line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jobtrend.db import migrate  # noqa: E402
from jobtrend.text import html_to_text  # noqa: E402

DEMO = REPO / "data" / "demo"


def demo_descriptions() -> list[str]:
    """Every Ashby ``descriptionHtml`` in the demo corpus (Greenhouse demo files carry no content)."""
    pages = []
    for path in sorted((DEMO / "posting-api" / "job-board").glob("*.json.gz")):
        pages += [job.get("descriptionHtml") or "" for job in json.loads(gzip.decompress(path.read_bytes()))["jobs"]]
    return pages


def bench_text(rounds: int) -> None:
    pages = demo_descriptions()
    best = min(_timed(lambda: [html_to_text(p) for p in pages]) for _ in range(rounds))
    size = sum(len(p) for p in pages) / len(pages)
    print(f"html_to_text: {len(pages)} pages (mean {size / 1000:.1f} kB), best of {rounds}: "
          f"{best:.2f} s, {len(pages) / best:.0f} pages/s")


def bench_crawl() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp) / "config"
        config_dir.mkdir()
        shutil.copy(REPO / "config" / "jobtrend.toml", config_dir / "jobtrend.toml")
        shutil.copy(DEMO / "sources.toml", config_dir / "sources.toml")
        (config_dir / "frameworks.toml").write_text("")
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": url}
        done = subprocess.run([sys.executable, "-m", "crawler.run", "--replay", str(DEMO)], cwd=REPO, env=env,
                              capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)
    statuses = {s["status"] for s in summary["sources"].values()}
    print(f"demo crawl: {len(summary['sources'])} sources ({', '.join(sorted(statuses))}), "
          f"{summary['postings_stored']} postings stored in {summary['elapsed_s']:.2f} s, "
          f"{summary['postings_per_s']:.0f} postings/s (fresh SQLite)")


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="html_to_text rounds (best one is reported)")
    parser.add_argument("--text-only", action="store_true", help="skip the crawl")
    args = parser.parse_args()
    bench_text(args.rounds)
    if not args.text_only:
        bench_crawl()


if __name__ == "__main__":
    main()
