"""Duplicate detection over a large database: the full recompute of :func:`analysis.duplicates.dedupe`, timed.

Example:
    .venv/bin/jobtrend demo && .venv/bin/python benchmarks/bench_duplicates.py --copies 40

Copies the postings of the demo database (``data/demo.db``, 5,072 real postings) ``--copies`` times into a new
SQLite file, each copy under other company names (``"Acme #3"``) and with its texts marked with the copy number,
so the database grows while every company keeps the shape of a real one. Times a first run (links everything)
and a second run (changes nothing); the second run is the reference: what reading the database costs when there
is nothing to link.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.duplicates import dedupe  # noqa: E402
from benchmarks._figures import figure  # noqa: E402
from jobtrend.db import make_engine, migrate  # noqa: E402

COLUMNS = ("source_id, external_id, url, title, company, location, remote, employment_type, department, "
           "description_text, posted_at, posted_week, first_seen_at, last_seen_at, closed_at, content_hash")


def build(demo: Path, target: Path, copies: int) -> int:
    """A migrated SQLite file holding ``copies`` renamed copies of the demo postings; return the row count."""
    migrate(f"sqlite:///{target}")
    con = sqlite3.connect(target)
    con.execute("ATTACH DATABASE ? AS demo", (str(demo),))
    con.execute("INSERT INTO sources SELECT * FROM demo.sources")
    for copy in range(copies):
        rename = (COLUMNS.replace("external_id", f"external_id || '#{copy}'")
                  .replace("company", f"company || ' #{copy}'")
                  .replace("description_text", f"description_text || CASE WHEN description_text = '' THEN '' "
                                               f"ELSE ' (copy {copy})' END"))
        con.execute(f"INSERT INTO postings ({COLUMNS}) SELECT {rename} FROM demo.postings")
    con.commit()
    count = con.execute("SELECT count(*) FROM postings").fetchone()[0]
    con.close()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=REPO / "data" / "demo.db")
    parser.add_argument("--copies", type=int, default=40)
    args = parser.parse_args()
    if not args.demo.exists():
        print(f"no demo database at {args.demo}: run `jobtrend demo` first")
        return 1
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "dedupe-bench.db"
        started = time.perf_counter()
        rows = build(args.demo, target, args.copies)
        print(f"built {rows} postings in {time.perf_counter() - started:.1f} s")
        engine = make_engine(f"sqlite:///{target}")
        rates = []
        for label in ("first run", "second run"):
            result = dedupe(engine)
            rates.append(rows / result.seconds)
            print(f"{label}: {result.seconds:.2f} s, {rows / result.seconds:,.0f} postings/s; "
                  f"{result.texts_read} descriptions read, {result.duplicates} duplicates, {result.changed} changed")
        figure("duplicates", f"dedupe full recompute, {rows:,} postings, SQLite", rates[0], "postings/s",
               reference="second run (nothing to change)", reference_value=rates[1])
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
