"""A synthetic jobtrend database for benchmarks: N postings over 260 weeks with realistic mentions and roles.

Example:
    .venv/bin/python benchmarks/synthetic.py --postings 100000                  # SQLite, cached under /tmp
    .venv/bin/python benchmarks/synthetic.py --postings 100000 --url postgresql+psycopg://...

What is in it (seeded, so the same N and seed give the same rows):

- the ~145 frameworks of ``config/frameworks.toml``, mentioned with Zipf-like rates (rank r gets weight 1/r):
  the top few in 10-25 % of postings, the long tail under 1 %; 40 % of postings mention nothing, the others
  1-4 frameworks;
- postings spread over 260 weeks, more in recent weeks; about 4 % without description text, 2 % not analysed
  yet, 3 % duplicates of an earlier posting (``duplicate_of_id`` set); descriptions are filler text of 300 to
  2,700 characters (``--text-chars`` moves the mean), since the trend queries must skip empty ones;
- a classification for 95 % of the postings with text: 25 % AI roles (55 % ``ai_swe``, 45 % ``ml_engineer``), the
  rest not AI roles; every ``analyzed_at`` and ``classified_at`` lies in the past (2026-11-20).

SQLite files are cached as ``/tmp/jobtrend-bench/trends-<N>-<seed>-<text>-<alembic head>.db`` and reused; callers
copy them before writing (:func:`sqlite_copy`). On PostgreSQL the database ``jt_bench_<N>_<seed>_<text>_<head>`` is
built once per server with COPY and reused; callers clone it (:func:`postgres_copy`, ``CREATE DATABASE ...
TEMPLATE``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from jobtrend.config import REPO_ROOT, load_frameworks  # noqa: E402
from jobtrend.db import alembic_config, make_engine, migrate, sync_frameworks  # noqa: E402

CACHE = Path("/tmp/jobtrend-bench")
WEEKS = 260
LAST_WEEK = dt.date(2026, 11, 16)  # a Monday
PAST = dt.datetime(2026, 11, 20, 12, 0, 0)  # analyzed_at / classified_at of every synthetic row (UTC)
BATCH = 50_000
POSTING_COLUMNS = ("id", "source_id", "external_id", "title", "description_text", "posted_at", "posted_week",
                   "posted_month", "first_seen_at", "last_seen_at", "content_hash", "duplicate_of_id", "analyzed_hash",
                   "analyzed_at")
CLASSIFICATION_COLUMNS = ("posting_id", "model_version", "content_hash", "is_ai_role", "relevance_probability",
                          "role", "probability", "evidence", "classified_at")
MENTION_COLUMNS = ("posting_id", "framework_id", "count", "taxonomy_version")


@dataclass
class Data:
    """The synthetic rows as columns (numpy arrays), ids from 1."""

    week_index: np.ndarray  # 0..WEEKS-1 per posting
    seconds: np.ndarray  # offset of posted_at within its week
    text_index: np.ndarray  # index into the text pool, -1 = empty description
    analysed: np.ndarray  # bool
    duplicate_of: np.ndarray  # 0 = canonical
    classified: np.ndarray  # bool
    role: np.ndarray  # 0 = not an AI role, 1 = ai_swe, 2 = ml_engineer
    mention_posting: np.ndarray  # posting id per mention row
    mention_framework: np.ndarray  # framework id per mention row
    mention_count: np.ndarray


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or "base"


def generate(postings: int, framework_ids: list[int], seed: int) -> Data:
    """Draw every column with numpy from ``seed``."""
    rng = np.random.default_rng(seed)
    n = postings
    weights = np.linspace(1.0, 3.0, WEEKS)  # the market grows: recent weeks hold three times the postings
    week_index = rng.choice(WEEKS, size=n, p=weights / weights.sum())
    seconds = rng.integers(0, 7 * 86400, size=n)
    text_index = rng.integers(0, TEXT_POOL, size=n)
    text_index[rng.random(n) < 0.04] = -1
    analysed = rng.random(n) >= 0.02
    ids = np.arange(1, n + 1)
    duplicate_of = np.where(rng.random(n) < 0.03, ids - rng.integers(1, 1000, size=n), 0)
    duplicate_of[duplicate_of < 1] = 0
    classified = (text_index >= 0) & (rng.random(n) < 0.95)
    ai = rng.random(n) < 0.25
    role = np.where(ai, np.where(rng.random(n) < 0.55, 1, 2), 0)
    # mentions: 40 % none, else 1-4 frameworks drawn by Zipf weight (duplicates in a posting collapse)
    how_many = rng.choice([0, 1, 2, 3, 4], size=n, p=[0.40, 0.21, 0.18, 0.12, 0.09])
    order = rng.permutation(np.array(framework_ids))  # which framework gets which popularity rank
    zipf = 1.0 / np.arange(1, len(order) + 1)
    posting_of = np.repeat(ids, how_many)
    framework_of = order[rng.choice(len(order), size=posting_of.size, p=zipf / zipf.sum())]
    pairs = np.unique(posting_of.astype(np.int64) * 100_000 + framework_of)
    mention_posting, mention_framework = pairs // 100_000, pairs % 100_000
    mention_count = rng.integers(1, 4, size=pairs.size)
    return Data(week_index, seconds, text_index, analysed, duplicate_of, classified, role,
                mention_posting, mention_framework, mention_count)


TEXT_POOL = 64


def text_pool(mean_chars: int) -> list[str]:
    """TEXT_POOL filler descriptions from 20 % to 180 % of ``mean_chars`` long."""
    words = ("We are hiring engineers to build reliable systems with modern tools. You will design, ship and "
             "operate services, work with product and research, and mentor others. ")
    lengths = np.linspace(0.2 * mean_chars, 1.8 * mean_chars, TEXT_POOL).astype(int)
    return [(f"posting text {i}: " + words * (length // len(words) + 1))[:length] for i, length in enumerate(lengths)]


def _posting_rows(data: Data, start: int, stop: int, pool: list[str], kind: str):
    """Posting rows ``start..stop-1`` (0-based) as tuples in POSTING_COLUMNS order."""
    fmt = "%Y-%m-%d %H:%M:%S.%f" if kind == "sqlite" else "%Y-%m-%d %H:%M:%S.%f+00"
    past = PAST.strftime(fmt)
    first_week = LAST_WEEK - dt.timedelta(weeks=WEEKS - 1)
    week_dates = [(first_week + dt.timedelta(weeks=i)).isoformat() for i in range(WEEKS)]
    week_starts = [dt.datetime.combine(first_week + dt.timedelta(weeks=i), dt.time()) for i in range(WEEKS)]
    rows = []
    for i in range(start, stop):
        posting_id = i + 1
        w = int(data.week_index[i])
        moment = week_starts[w] + dt.timedelta(seconds=int(data.seconds[i]))
        posted = moment.strftime(fmt)
        t = int(data.text_index[i])
        body = pool[t] if t >= 0 else ""
        digest = f"{posting_id:064x}"
        dup = int(data.duplicate_of[i]) or None
        analysed = bool(data.analysed[i])
        rows.append((posting_id, 1, str(posting_id), "Engineer", body, posted, week_dates[w],
                     moment.date().replace(day=1).isoformat(), past, past, digest,
                     dup, digest if analysed else None, past if analysed else None))
    return rows


def _classification_rows(data: Data, start: int, stop: int, kind: str):
    fmt = "%Y-%m-%d %H:%M:%S.%f" if kind == "sqlite" else "%Y-%m-%d %H:%M:%S.%f+00"
    past = PAST.strftime(fmt)
    roles = (None, "ai_swe", "ml_engineer")
    true, false = (1, 0) if kind == "sqlite" else ("t", "f")
    rows = []
    for i in np.flatnonzero(data.classified[start:stop]) + start:
        r = int(data.role[i])
        rows.append((int(i) + 1, "synth", f"{int(i) + 1:064x}", true if r else false, 0.9 if r else 0.1,
                     roles[r], 0.8 if r else None, '{"terms": ["pytorch", "llm"]}', past))
    return rows


def _mention_rows(data: Data, start: int, stop: int):
    return list(zip(data.mention_posting[start:stop].tolist(), data.mention_framework[start:stop].tolist(),
                    data.mention_count[start:stop].tolist(), ["synth"] * (stop - start), strict=True))


def _prepare(url: str) -> list[int]:
    """Migrate ``url``, load the real taxonomy and one source; return the framework ids."""
    migrate(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ids = sync_frameworks(session, load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
            session.execute(text("INSERT INTO sources (id, kind, key, company, enabled, created_at, health, "
                                 "consecutive_failures) VALUES (1, 'ashby', 'synthetic', 'Synthetic', :t, :now, "
                                 "'ok', 0)"), {"t": True, "now": PAST})
            session.commit()
    finally:
        engine.dispose()
    return sorted(ids.values())


def _fill_sqlite(path: Path, data: Data, pool: list[str]) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    n = data.week_index.size
    for table, columns, total, rows_of in (
        ("postings", POSTING_COLUMNS, n, lambda a, b: _posting_rows(data, a, b, pool, "sqlite")),
        ("classifications", CLASSIFICATION_COLUMNS, n, lambda a, b: _classification_rows(data, a, b, "sqlite")),
        ("mentions", MENTION_COLUMNS, data.mention_posting.size, lambda a, b: _mention_rows(data, a, b)),
    ):
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for start in range(0, total, BATCH):
            con.executemany(sql, rows_of(start, min(total, start + BATCH)))
        con.commit()
    con.execute("PRAGMA journal_mode=WAL")
    con.close()


def _fill_postgres(url: str, data: Data, pool: list[str]) -> None:
    engine = make_engine(url)
    n = data.week_index.size
    try:
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for table, columns, total, rows_of in (
                ("postings", POSTING_COLUMNS, n, lambda a, b: _posting_rows(data, a, b, pool, "postgresql")),
                ("classifications", CLASSIFICATION_COLUMNS, n,
                 lambda a, b: _classification_rows(data, a, b, "postgresql")),
                ("mentions", MENTION_COLUMNS, data.mention_posting.size, lambda a, b: _mention_rows(data, a, b)),
            ):
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for start in range(0, total, BATCH):
                        for row in rows_of(start, min(total, start + BATCH)):
                            copy.write_row(row)
            cursor.execute("SELECT setval('postings_id_seq', (SELECT max(id) FROM postings))")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load
    finally:
        engine.dispose()


def _name(postings: int, seed: int, text_chars: int) -> str:
    return f"trends-{postings}-{seed}-{text_chars}-{head_revision()}"


def sqlite_database(postings: int, seed: int = 1, text_chars: int = 1500) -> Path:
    """The cached SQLite file with ``postings`` synthetic postings, built when missing."""
    path = CACHE / f"{_name(postings, seed, text_chars)}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{uuid.uuid4().hex[:6]}.partial")
    started = time.perf_counter()
    framework_ids = _prepare(f"sqlite:///{partial}")
    _fill_sqlite(partial, generate(postings, framework_ids, seed), text_pool(text_chars))
    partial.rename(path)
    print(f"built {path} ({postings:,} postings) in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def sqlite_copy(source: Path, folder: Path) -> str:
    """A writable copy of a cached SQLite file in ``folder``; return its URL."""
    target = folder / source.name
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def _admin(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _admin_exec(url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP/ALTER DATABASE) on the server's maintenance database."""
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        admin.dispose()


def postgres_database(admin_url: str, postings: int, seed: int = 1, text_chars: int = 1500) -> str:
    """The name of the database on ``admin_url``'s server with ``postings`` synthetic postings, built when
    missing."""
    name = _name(postings, seed, text_chars).replace("-", "_").replace("trends", "jt_bench")
    admin = _admin(admin_url)
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                return name
            partial = f"{name}_partial"
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{partial}"')
        started = time.perf_counter()
        url = make_url(admin_url).set(database=partial).render_as_string(hide_password=False)
        framework_ids = _prepare(url)
        _fill_postgres(url, generate(postings, framework_ids, seed), text_pool(text_chars))
        _admin_exec(admin_url, f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
        print(f"built PostgreSQL database {name} ({postings:,} postings) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        return name
    finally:
        admin.dispose()


def postgres_copy(admin_url: str, template: str) -> str:
    """A new database cloned from ``template``; return its URL (drop it with :func:`postgres_drop`)."""
    name = f"jt_bench_run_{uuid.uuid4().hex[:8]}"
    _admin_exec(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def postgres_drop(url: str) -> None:
    _admin_exec(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--text-chars", type=int, default=1500, help="mean description length (default 1500)")
    parser.add_argument("--url", help="a PostgreSQL server URL to build on (default: a cached SQLite file)")
    args = parser.parse_args()
    if args.postings < 1:
        parser.error("--postings must be at least 1")
    if args.url:
        print(postgres_database(args.url, args.postings, args.seed, args.text_chars))
    else:
        print(sqlite_database(args.postings, args.seed, args.text_chars))
    return 0


if __name__ == "__main__":
    sys.exit(main())
