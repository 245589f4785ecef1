"""Weekly trends over a large synthetic database: full recompute and the incremental recompute of one week.

Example:
    .venv/bin/python benchmarks/bench_trends.py                          # 1,000,000 postings, SQLite + PostgreSQL
    .venv/bin/python benchmarks/bench_trends.py --postings 100000 --before

Builds (or reuses, see benchmarks/synthetic.py) a database of ``--postings`` synthetic postings, copies it, and
times on that copy:

- the reference: one bare GROUP BY over mentions x postings x classifications (count by week and framework),
  what any full recompute has to read at least once;
- ``compute_trends(full=True)``, best of ``--repeat`` runs (target: 3 s);
- the incremental recompute after one week was touched: a posting of the latest week re-analysed (a new
  mention, a new ``analyzed_at``) and another re-classified (the other role), best of ``--repeat`` (target: 0.2 s);
- the incremental recompute when nothing changed.

``--before`` also times the implementation at ``git show HEAD:analysis/trends.py`` (``--before-rev``) the same
way, once (it computes week by week and takes minutes at 1,000,000 postings).

PostgreSQL: the server at ``JOBTREND_BENCH_POSTGRES_URL``, else a throwaway one started with
``scripts/pg-test-server`` (and stopped at the end); without either, the PostgreSQL figures are skipped with a
line saying so. The machine may be shared: figures are wall time and move with its load.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, insert, select, update  # noqa: E402

from benchmarks import synthetic  # noqa: E402
from benchmarks._figures import figure as shared_figure  # noqa: E402
from jobtrend.db import make_engine  # noqa: E402
from jobtrend.models import Classification, Framework, Mention, Posting, utcnow  # noqa: E402

PG_ENV = "JOBTREND_BENCH_POSTGRES_URL"
FULL_TARGET = 3.0
WEEK_TARGET = 0.2
FLOOR_SQL = ("SELECT p.posted_week, m.framework_id, count(*) FROM mentions m JOIN postings p ON p.id = m.posting_id "
             "JOIN classifications c ON c.posting_id = p.id GROUP BY p.posted_week, m.framework_id")
FLOOR = "one GROUP BY over mentions×postings×classifications"


def figure(stage: str, name: str, value: float, unit: str, reference: str | None = None,
           reference_value: float | None = None, target: str | None = None, met: bool | None = None) -> None:
    """Print one ``BENCH {json}`` line (:func:`benchmarks._figures.figure`), the value in seconds to the ms."""
    shared_figure(stage, name, round(value, 3), unit, reference=reference, reference_value=reference_value,
                  target=target, met=met)


def timed(run: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def implementation_at(rev: str) -> types.ModuleType:
    """analysis/trends.py as committed at ``rev``, loaded as a module of its own."""
    source = subprocess.run(["git", "show", f"{rev}:analysis/trends.py"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout
    module = types.ModuleType(f"trends_at_{rev}")
    module.__file__ = f"{rev}:analysis/trends.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own committed source
    return module


def touch_one_week(engine: Engine, rep: int) -> dt.date:
    """Re-analyse one measured posting of the latest week (it gains a mention) and re-classify another (it
    changes role), as `jobtrend analyze` would; return the week."""
    now = utcnow()
    with engine.begin() as conn:
        week = conn.scalar(select(Posting.posted_week).order_by(Posting.posted_week.desc()).limit(1))
        ids = list(conn.scalars(
            select(Posting.id).join(Classification, Classification.posting_id == Posting.id)
            .where(Posting.posted_week == week, Posting.duplicate_of_id.is_(None), Posting.analyzed_at.is_not(None),
                   Classification.is_ai_role.is_(True))
            .order_by(Posting.id).offset(2 * rep).limit(2)))
        analysed, reclassified = ids
        mentioned = select(Mention.framework_id).where(Mention.posting_id == analysed)
        framework = conn.scalar(select(Framework.id).where(Framework.id.not_in(mentioned)).order_by(Framework.id)
                                .limit(1))
        conn.execute(insert(Mention), {"posting_id": analysed, "framework_id": framework, "count": 1,
                                       "taxonomy_version": "bench"})
        conn.execute(update(Posting).where(Posting.id == analysed).values(analyzed_at=now))
        role = conn.scalar(select(Classification.role).where(Classification.posting_id == reclassified))
        conn.execute(update(Classification).where(Classification.posting_id == reclassified)
                     .values(role="ml_engineer" if role == "ai_swe" else "ai_swe", classified_at=now))
    return week


def periods(result) -> int:
    """The (cohort, week) and (cohort, month) pairs a recompute wrote: one trend point per framework each."""
    return sum(len(weeks) for weeks, _ in result.by_cohort.values()) + \
        sum(len(months) for months, _ in result.by_cohort_month.values())


def measure(kind: str, url: str, postings: int, repeat: int, before: types.ModuleType | None,
            before_rev: str) -> None:
    from analysis.trends import compute_trends

    label = f"{postings:,} postings, {kind}"
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":  # the clone's visibility map, as autovacuum keeps it
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        with engine.connect() as conn:
            frameworks = len(conn.scalars(select(Framework.id)).all())
            floor = min(timed(lambda: conn.exec_driver_sql(FLOOR_SQL).all())[0] for _ in range(repeat))
        print(f"{kind}: reference {FLOOR}: {floor:.3f} s", flush=True)
        if before is not None:
            seconds, result = timed(lambda: before.compute_trends(engine, full=True))
            print(f"{kind}: before ({before_rev}): full recompute {seconds:.2f} s, {result.rows} rows", flush=True)
            figure("trends", f"full recompute before the rewrite ({before_rev}), {label}", seconds, "s", FLOOR,
                   round(floor, 3), f"<= {FULL_TARGET:g} s", seconds <= FULL_TARGET)
            week = touch_one_week(engine, repeat)
            seconds, result = timed(lambda: before.compute_trends(engine))
            assert result.weeks == (week,), result.weeks
            print(f"{kind}: before ({before_rev}): one week {seconds:.2f} s", flush=True)
            figure("trends", f"incremental recompute of one week before the rewrite ({before_rev}), {label}",
                   seconds, "s", "target", WEEK_TARGET, f"<= {WEEK_TARGET:g} s", seconds <= WEEK_TARGET)
        runs = []
        for _ in range(repeat):
            seconds, result = timed(lambda: compute_trends(engine, full=True))
            runs.append(seconds)
        if not result.rows or result.rows != frameworks * periods(result):
            raise AssertionError(f"full recompute wrote {result.rows} rows")
        print(f"{kind}: full recompute {', '.join(f'{s:.2f}' for s in runs)} s ({result.rows} rows, "
              f"{len(result.weeks)} weeks)", flush=True)
        figure("trends", f"full recompute, {label}", min(runs), "s", FLOOR, round(floor, 3),
               f"<= {FULL_TARGET:g} s", min(runs) <= FULL_TARGET)
        runs = []
        for rep in range(repeat):
            week = touch_one_week(engine, rep)
            seconds, result = timed(lambda: compute_trends(engine))
            if result.weeks != (week,) or result.rows != frameworks * periods(result):
                raise AssertionError(f"touched {week}, recomputed {result.weeks} ({result.rows} rows)")
            runs.append(seconds)
        print(f"{kind}: one week {', '.join(f'{s:.3f}' for s in runs)} s", flush=True)
        figure("trends", f"incremental recompute of one touched week, {label}", min(runs), "s", "target",
               WEEK_TARGET, f"<= {WEEK_TARGET:g} s", min(runs) <= WEEK_TARGET)
        seconds = min(timed(lambda: compute_trends(engine))[0] for _ in range(repeat))
        print(f"{kind}: nothing changed {seconds:.3f} s", flush=True)
        figure("trends", f"incremental recompute, nothing changed, {label}", seconds, "s", "one-week target",
               WEEK_TARGET, None, None)
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_server() -> Iterator[str | None]:
    """The benchmark PostgreSQL server URL: from the environment, or a throwaway server, or None."""
    if os.environ.get(PG_ENV):
        yield os.environ[PG_ENV]
        return
    script = REPO / "scripts" / "pg-test-server"
    if subprocess.run([str(script), "check"], capture_output=True).returncode != 0:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="jobtrend-bench-pg-") as folder:
        os.chmod(folder, 0o755)
        data = Path(folder) / "pg"
        started = subprocess.run([str(script), "start", str(data)], capture_output=True, text=True)
        if started.returncode != 0:
            print(f"PostgreSQL: could not start a throwaway server: {started.stderr.strip()}")
            yield None
            return
        try:
            yield started.stdout.strip()
        finally:
            subprocess.run([str(script), "stop", str(data)], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=1_000_000, help="synthetic postings (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--text-chars", type=int, default=1500, help="mean description length (default 1500)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is reported")
    parser.add_argument("--before", action="store_true", help="also time the committed implementation")
    parser.add_argument("--before-rev", default="HEAD")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if args.postings < 1000 or args.repeat < 1:
        parser.error("need --postings >= 1000 and --repeat >= 1")
    before = implementation_at(args.before_rev) if args.before else None
    with tempfile.TemporaryDirectory(prefix="jobtrend-bench-") as folder:
        cached = synthetic.sqlite_database(args.postings, args.seed, args.text_chars)
        measure("SQLite", synthetic.sqlite_copy(cached, Path(folder)), args.postings, args.repeat, before,
                args.before_rev)
    if args.skip_postgres:
        print("PostgreSQL: skipped (--skip-postgres); no PostgreSQL figures")
        return 0
    with postgres_server() as server:
        if server is None:
            print(f"PostgreSQL: no server ({PG_ENV} unset and scripts/pg-test-server cannot start one here); "
                  "PostgreSQL figures skipped")
            return 0
        template = synthetic.postgres_database(server, args.postings, args.seed, args.text_chars)
        url = synthetic.postgres_copy(server, template)
        try:
            measure("PostgreSQL", url, args.postings, args.repeat, before, args.before_rev)
        finally:
            synthetic.postgres_drop(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
