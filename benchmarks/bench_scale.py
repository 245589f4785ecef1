"""A crawl at market scale: thousands of boards from the replay server through every pipeline, SQLite and PostgreSQL.

Example:
    .venv/bin/python benchmarks/bench_scale.py                # 6,000 boards / 200,000 postings (as `make bench`)
    .venv/bin/python benchmarks/bench_scale.py --boards 1000  # 1,000 boards / 33,333 postings, about 4 minutes
    BENCH_SCALE_BOARDS=1000 make bench BENCH_ARGS=scale        # the same through `make bench`

The boards are a synthetic replay (benchmarks/synthetic_boards.py: real Ashby, Greenhouse and Lever response
shapes, generated text), cached under /tmp/jobtrend-bench/, served by crawler/replay.py on 127.0.0.1 with
politeness off (crawler.run's REPLAY_SETTINGS: a replay only). Each crawl is ``python -m crawler.run --replay``
in a child process, timed from its start to its exit (imports and the configuration's 6,000 tables included);
its peak RSS and CPU time (user + system) are the child's own (``os.wait4``; a PostgreSQL server's own CPU is not
in it). Figures, each beside its reference from the same run:

- first crawl into a fresh database, postings/s, against a no-op crawl of the same responses (no pipelines, no
  crawl-run records, no raw hashes: what download and parsing alone cost). The no-op crawl runs before and after
  each database's two crawls, and the floor is the lesser of the two (:func:`floor`: the conservative choice,
  since the machine's pace drifts between runs);
- second crawl where nothing changed, against the first crawl. Every board is still downloaded and parsed (the
  APIs send no validators to ask "changed since?"), so the no-op crawl is its floor; a posting stored unchanged
  costs one raw hash above it and goes no further than the spider, its row marked seen by one set-based UPDATE
  per 500 (crawler/middlewares/unchanged_postings.py). The target is on what the crawl spends above that
  floor, in CPU seconds of the crawl process: :data:`SECOND_CRAWL_TARGET` of the first crawl's (docs/capacity.md
  says why CPU, not wall time: with politeness on both crawls send the same requests at the same pace). Its wall
  time and CPU time against the first crawl's are printed and kept as figures without a target;
- peak RSS of the full crawl, against the same crawl of a sixth of the boards (``--small-boards``): flat when the
  ratio stays near 1 (one board's postings are held at a time, batches of ``batch_size``);
- database size per posting after the first crawl, against the description text stored per posting.

PostgreSQL: the server at ``JOBTREND_BENCH_POSTGRES_URL``, else a throwaway one from scripts/pg-test-server, else
its figures are skipped with a line saying so (as bench_trends.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks._figures import figure  # noqa: E402
from benchmarks.bench_trends import PG_ENV, postgres_server  # noqa: E402
from benchmarks.synthetic_boards import write_replay  # noqa: E402
from jobtrend.db import migrate  # noqa: E402

CACHE = Path("/tmp/jobtrend-bench")
NOOP = ["-s", "ITEM_PIPELINES={}", "-s", 'EXTENSIONS={"crawler.extensions.crawl_run.CrawlRunExtension": null}',
        "-s", 'SPIDER_MIDDLEWARES={"crawler.middlewares.unchanged_postings.UnchangedPostingsMiddleware": null}']
DEFAULT_BOARDS = 6000
# the second crawl's CPU above the no-op crawl, at most this share of the first crawl's (docs/capacity.md)
SECOND_CRAWL_TARGET = 0.5


def replay_dir(boards: int, postings: int) -> Path:
    """The synthetic replay of ``boards`` boards and ``postings`` postings, written once and cached."""
    root = CACHE / f"boards-{boards}-{postings}-v1"
    if not (root / "sources.toml").exists():
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        write_replay(root, boards, postings)
        print(f"replay of {boards:,} boards / {postings:,} postings written in {time.perf_counter() - started:.0f} s "
              f"to {root}", flush=True)
    return root


def config_dir(folder: Path, replay: Path) -> Path:
    directory = folder / "config"
    directory.mkdir(exist_ok=True)
    shutil.copy(REPO / "config" / "jobtrend.toml", directory / "jobtrend.toml")
    shutil.copy(replay / "sources.toml", directory / "sources.toml")
    (directory / "frameworks.toml").write_text("")
    return directory


def crawl(replay: Path, config: Path, url: str, extra: list[str] = ()) -> dict:
    """One ``python -m crawler.run --replay`` child: wall and CPU seconds, peak RSS (MiB), postings stored, sources
    not ok."""
    env = os.environ | {"JOBTREND_CONFIG_DIR": str(config), "JOBTREND_DATABASE_URL": url,
                        "JOBTREND_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "crawler.run", "--replay", str(replay), "-s",
                                  "LOG_LEVEL=WARNING", *extra], cwd=REPO, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"crawl failed ({child.returncode}):\n{err.read().decode()[-3000:]}")
        summary = json.loads(out.read())
    not_ok = sum(1 for s in summary["sources"].values() if s["status"] != "ok")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "stored": summary["postings_stored"],
            "seen": summary["postings_seen"], "not_ok": not_ok}


def scalar(url: str, sql: str, **params):
    """The one value ``sql`` selects from the database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def last_seen(url: str):
    """The latest ``last_seen_at`` of the postings."""
    return scalar(url, "SELECT max(last_seen_at) FROM postings")


def open_seen_since(url: str, since) -> int:
    """How many postings are open and were seen after ``since``."""
    return scalar(url, "SELECT count(*) FROM postings WHERE closed_at IS NULL AND last_seen_at > :t", t=since)


def database_bytes(url: str) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database).stat().st_size
    return scalar(url, "SELECT pg_database_size(current_database())")


def text_bytes(url: str) -> float:
    """The mean length of the stored description text (what the database size is mostly made of)."""
    return float(scalar(url, "SELECT avg(length(description_text)) FROM postings"))


@contextmanager
def fresh_database(server: str, name: str):
    """A new, migrated PostgreSQL database on ``server``, dropped afterwards."""
    url = make_url(server).set(database=name).render_as_string(False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(label: str, url: str, replay: Path, config: Path, postings: int, noop_before: dict,
            noop_crawl: Callable[[], dict]) -> tuple[dict, dict]:
    """First and second crawl of ``replay`` into the fresh database ``url``, then a no-op crawl; print the figures
    against the floor of the two no-op crawls around them (:func:`floor`); return the first crawl's figures and
    the closing no-op crawl's."""
    migrate(url)
    first = crawl(replay, config, url)
    size = database_bytes(url)
    first_seen = last_seen(url)
    second = crawl(replay, config, url)
    if first["stored"] != postings or first["not_ok"] or second["not_ok"]:
        raise SystemExit(f"{label}: expected {postings} postings and every source ok, got {first} / {second}")
    marked = open_seen_since(url, first_seen)
    if marked != postings:  # the second crawl stores nothing: each row must still be marked seen by it, and open
        raise SystemExit(f"{label}: the second crawl marked {marked:,} of {postings:,} postings seen and open")
    noop_after = noop_crawl()
    noop = floor(noop_before, noop_after)
    print(f"{label}: first crawl {first['wall_s']:.1f} s ({postings / first['wall_s']:,.0f} postings/s, "
          f"{first['cpu_s']:.1f} s CPU, peak RSS {first['rss_mib']:.0f} MiB), database {size / 2**20:.0f} MiB "
          f"({size / postings:,.0f} bytes/posting)", flush=True)
    boards = sum(1 for _ in replay.rglob("*.json.gz"))
    figure(f"scale {label}", f"first crawl, {boards:,} boards / {postings:,} postings, every pipeline",
           postings / first["wall_s"], "postings/s", reference="no-op crawl (no pipelines)",
           reference_value=postings / noop["wall_s"], target=">= 50 % of the no-op rate",
           met=first["wall_s"] <= 2 * noop["wall_s"])
    second_crawl_figures(label, first, second, noop)
    figure(f"scale {label}", "database size per posting", size / postings, "bytes",
           reference="description text stored per posting", reference_value=text_bytes(url))
    return first, noop_after


def floor(*noops: dict) -> dict:
    """The floor of a crawl from no-op crawls of the same responses run around it: the least wall and CPU time of
    them. The machine's pace drifts between runs (the same no-op crawl took 82 and 102 s of CPU in two runs of
    this benchmark on one day), and the least is the conservative floor: it leaves the most to the crawls
    measured above it, so it can only make the second crawl's share of the first's larger."""
    least = {"wall_s": min(n["wall_s"] for n in noops), "cpu_s": min(n["cpu_s"] for n in noops)}
    print(f"no-op floor: {least['wall_s']:.1f} s, {least['cpu_s']:.1f} s CPU (least of "
          + ", ".join(f"{n['cpu_s']:.1f}" for n in noops) + " s CPU)", flush=True)
    return least


def above_floor(crawl_figures: dict, noop: dict) -> float:
    """CPU seconds a crawl spent above the no-op crawl of the same responses (its pipelines and records)."""
    return crawl_figures["cpu_s"] - noop["cpu_s"]


def second_crawl_met(first: dict, second: dict, noop: dict) -> bool:
    """Whether the second crawl's CPU above the floor is at most :data:`SECOND_CRAWL_TARGET` of the first's."""
    return above_floor(second, noop) <= SECOND_CRAWL_TARGET * above_floor(first, noop)


def second_crawl_figures(label: str, first: dict, second: dict, noop: dict) -> None:
    """Print the second crawl's line and figures: wall and CPU against the first crawl, and its CPU above the no-op
    floor against the first crawl's, beside the target."""
    stage = f"scale {label}"
    second_extra, first_extra = above_floor(second, noop), above_floor(first, noop)
    share = second_extra / first_extra if first_extra > 0 else float("nan")
    print(f"{label}: second crawl, nothing changed, {second['wall_s']:.1f} s ({second['wall_s'] / first['wall_s']:.0%}"
          f" of the first crawl's wall time), {second['cpu_s']:.1f} s CPU ({second['cpu_s'] / first['cpu_s']:.0%} of "
          f"its CPU); above the no-op crawl ({noop['cpu_s']:.1f} s CPU) it spent {second_extra:.1f} s against "
          f"{first_extra:.1f} s: {share:.0%}, target <= {SECOND_CRAWL_TARGET:.0%} "
          f"({'met' if second_crawl_met(first, second, noop) else 'NOT met'})", flush=True)
    figure(stage, "second crawl, nothing changed, wall time", second["wall_s"], "s",
           reference="first crawl", reference_value=first["wall_s"])
    figure(stage, "second crawl, nothing changed, CPU time", second["cpu_s"], "s",
           reference="first crawl", reference_value=first["cpu_s"])
    figure(stage, "second crawl, nothing changed, CPU above the no-op crawl", second_extra, "s",
           reference="first crawl's", reference_value=first_extra,
           target=f"<= {SECOND_CRAWL_TARGET:.0%} of the first's", met=second_crawl_met(first, second, noop))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_boards = os.environ.get("BENCH_SCALE_BOARDS", str(DEFAULT_BOARDS))
    if not default_boards.isdigit() or int(default_boards) < 1:
        raise SystemExit(f"BENCH_SCALE_BOARDS must be a number of boards, got {default_boards!r}")
    parser.add_argument("--boards", type=int, default=int(default_boards),
                        help=f"boards (default {DEFAULT_BOARDS:,}; BENCH_SCALE_BOARDS sets it for `make bench`)")
    parser.add_argument("--postings", type=int, help="postings (default 33.3 per board: 200,000 for 6,000)")
    parser.add_argument("--small-boards", type=int, help="the size peak RSS is compared with (default a sixth)")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    postings = args.postings or round(args.boards * 100 / 3)
    small = args.small_boards or max(100, args.boards // 6)
    replay = replay_dir(args.boards, postings)
    small_replay = replay_dir(small, round(small * postings / args.boards))
    with tempfile.TemporaryDirectory(prefix="jobtrend-bench-scale-") as tmp:
        folder = Path(tmp)
        config = config_dir(folder, replay)
        noop_url = f"sqlite:///{folder / 'noop.db'}"
        migrate(noop_url)

        def noop_crawl() -> dict:
            noop = crawl(replay, config, noop_url, NOOP)
            print(f"no-op crawl: {postings:,} postings in {noop['wall_s']:.1f} s ({noop['cpu_s']:.1f} s CPU), peak "
                  f"RSS {noop['rss_mib']:.0f} MiB", flush=True)
            return noop

        first, noop = measure("SQLite", f"sqlite:///{folder / 'scale.db'}", replay, config, postings, noop_crawl(),
                              noop_crawl)
        small_folder = folder / "small"
        small_folder.mkdir()
        small_url = f"sqlite:///{small_folder / 'small.db'}"
        migrate(small_url)
        small_run = crawl(small_replay, config_dir(small_folder, small_replay), small_url)
        print(f"peak RSS: {small_run['rss_mib']:.0f} MiB at {small:,} boards, {first['rss_mib']:.0f} MiB at "
              f"{args.boards:,} boards", flush=True)
        figure("scale SQLite", f"peak RSS of a crawl of {args.boards:,} boards", first["rss_mib"], "MiB",
               reference=f"peak RSS at {small:,} boards", reference_value=small_run["rss_mib"],
               target="<= 1.5x (flat)", met=first["rss_mib"] <= 1.5 * small_run["rss_mib"])
        if args.skip_postgres:
            print("PostgreSQL: skipped (--skip-postgres); no PostgreSQL figures")
            return 0
        with postgres_server() as server:
            if server is None:
                print(f"PostgreSQL: no server ({PG_ENV} unset and scripts/pg-test-server cannot start one here); "
                      "PostgreSQL figures skipped")
                return 0
            with fresh_database(server, f"jt_bench_scale_{os.getpid()}") as url:
                measure("PostgreSQL", url, replay, config, postings, noop, noop_crawl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
