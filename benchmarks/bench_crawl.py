"""Ingest throughput on the bundled demo corpus, each figure against its reference in the same run.

Example:
    .venv/bin/python benchmarks/bench_crawl.py              # both figures
    .venv/bin/python benchmarks/bench_crawl.py --text-only  # html_to_text only

- HTML to text: pages/s of :func:`jobtrend.text.html_to_text` on every Ashby ``descriptionHtml`` of the demo
  corpus, against ``lxml.html.fromstring(page).text_content()`` on the same pages (best of ``--rounds``, CPU time
  of this process, so other work on a shared machine moves it less).
- ingest: postings/s of a whole crawl of every bundled board (91 sources, 5 spiders) from the replay server
  through every pipeline into a fresh, migrated SQLite file, against a no-op crawl of the same responses: the same
  spiders and settings with ``ITEM_PIPELINES = {}`` and the crawl-run extension off, so nothing is cleaned,
  validated or written. Target: at least 50 % of the no-op rate. Each crawl runs in a child process (the Twisted
  reactor cannot restart), serving data/demo itself; the clock runs from building the CrawlerProcess to the end of
  the crawl in both (``run_crawl`` times ``run_spiders``), the two kinds alternate ``--crawls`` times and the best
  of each is kept. The full crawl counts the postings stored, the no-op crawl the items scraped (the validate
  pipeline drops a few, so the no-op count is slightly higher: the ratio errs low).
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

from benchmarks._figures import figure  # noqa: E402

DEMO = REPO / "data" / "demo"
NOOP_SETTINGS = {"ITEM_PIPELINES": {}, "EXTENSIONS": {"crawler.extensions.crawl_run.CrawlRunExtension": None},
                 "SPIDER_MIDDLEWARES": {"crawler.middlewares.unchanged_postings.UnchangedPostingsMiddleware": None}}


def demo_descriptions() -> list[str]:
    """Every Ashby ``descriptionHtml`` in the demo corpus (Greenhouse demo files carry no content)."""
    pages = []
    for path in sorted((DEMO / "posting-api" / "job-board").glob("*.json.gz")):
        pages += [job.get("descriptionHtml") or "" for job in json.loads(gzip.decompress(path.read_bytes()))["jobs"]]
    return pages


def bench_text(rounds: int) -> None:
    import lxml.html

    from jobtrend.text import html_to_text

    pages = [p for p in demo_descriptions() if p.strip()]
    ours = len(pages) / min(_cpu_timed(lambda: [html_to_text(p) for p in pages]) for _ in range(rounds))
    lxml_rate = len(pages) / min(_cpu_timed(lambda: [lxml.html.fromstring(p).text_content() for p in pages])
                                 for _ in range(rounds))
    size = sum(len(p) for p in pages) / len(pages)
    print(f"html_to_text: {len(pages)} pages (mean {size / 1000:.1f} kB), best of {rounds}: {ours:,.0f} pages/s; "
          f"lxml text_content(): {lxml_rate:,.0f} pages/s")
    figure("HTML to text", f"html_to_text, {len(pages)} demo pages", ours, "pages/s",
           reference="lxml.html text_content()", reference_value=lxml_rate)


def bench_ingest(crawls: int) -> None:
    full, noop = [], []
    for _ in range(crawls):
        noop.append(run_child("noop"))
        full.append(run_child("full"))
    best_full = max(full, key=lambda r: r["rate"])
    best_noop = max(noop, key=lambda r: r["rate"])
    for label, r in (("no-op crawl", best_noop), ("full crawl", best_full)):
        print(f"{label}: {r['postings']} postings in {r['elapsed_s']:.2f} s, {r['rate']:,.0f} postings/s "
              f"(best of {crawls})")
    figure("ingest", f"demo crawl, {best_full['postings']:,} postings, every pipeline into SQLite",
           best_full["rate"], "postings/s", reference="no-op crawl of the same responses",
           reference_value=best_noop["rate"], target=">= 50 % of the no-op rate",
           met=best_full["rate"] >= 0.5 * best_noop["rate"])


def run_child(kind: str) -> dict:
    """One crawl of data/demo in a child process, into a fresh SQLite file; its postings, time and rate."""
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp) / "config"
        config_dir.mkdir()
        shutil.copy(REPO / "config" / "jobtrend.toml", config_dir / "jobtrend.toml")
        shutil.copy(DEMO / "sources.toml", config_dir / "sources.toml")
        (config_dir / "frameworks.toml").write_text("")
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = os.environ | {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": url}
        done = subprocess.run([sys.executable, __file__, "--child", kind], cwd=REPO, env=env,
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} crawl failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(kind: str) -> None:
    """In the child: crawl data/demo (``full``: :func:`crawler.run.run_crawl`; ``noop``: no pipelines, no
    crawl-run extension) and print {"postings", "elapsed_s", "rate"} as the last line."""
    import logging

    from crawler.replay import ReplayServer
    from crawler.run import SPIDERS, crawl_settings, make_process, plan_sources, run_crawl
    from jobtrend.config import load_config
    from jobtrend.db import migrate

    logging.basicConfig(level=logging.WARNING)
    config = load_config(None)
    migrate(config.database_url)
    if kind == "full":
        summary = run_crawl(config, replay_dir=DEMO)
        postings, elapsed = summary["postings_stored"], summary["elapsed_s"]
        bad = {k: s["status"] for k, s in summary["sources"].items() if s["status"] != "ok"}
        if bad:
            raise SystemExit(f"sources not ok: {bad}")
    else:
        plan = plan_sources(config, tuple(SPIDERS), None)
        with ReplayServer(DEMO) as server:
            settings = crawl_settings(config, api_base=server.url, replay=True, extra=NOOP_SETTINGS)
            started = time.perf_counter()  # as run_crawl's clock: the process and crawlers are built inside it
            process = make_process(settings)
            crawlers = []
            for spider_kind, sources in plan.items():
                if sources:
                    crawler = process.create_crawler(SPIDERS[spider_kind])
                    process.crawl(crawler, sources=sources)
                    crawlers.append(crawler)
            process.start()
            elapsed = time.perf_counter() - started
        postings = sum(c.stats.get_value("item_scraped_count", 0) for c in crawlers)
    print(json.dumps({"postings": postings, "elapsed_s": elapsed, "rate": postings / elapsed}))


def _cpu_timed(func) -> float:
    started = time.process_time()
    func()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="html_to_text rounds (the best one is reported)")
    parser.add_argument("--crawls", type=int, default=2, help="crawls of each kind (the best one is reported)")
    parser.add_argument("--text-only", action="store_true", help="skip the crawls")
    parser.add_argument("--child", choices=("full", "noop"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    bench_text(args.rounds)
    if not args.text_only:
        bench_ingest(args.crawls)


if __name__ == "__main__":
    main()
