"""Store postings in batches through SQLAlchemy Core: insert new ones, update changed ones, touch the rest.

Identity is (source, external id). A posting listed exactly as it is stored (its raw hash) never gets here: the
spider middleware ``crawler/middlewares/unchanged_postings.py`` keeps it back and the crawl-run extension marks
its row seen. For the others, per batch, in one transaction: look up the batch's existing rows, INSERT the new
ones (``first_seen_at = last_seen_at = now``; ``posted_at`` is the source's date, else now), UPDATE the rows whose
``content_hash`` (sha256 of title, newline, text) changed, UPDATE the listed fields and ``raw_hash`` of a row whose
text is the same but whose listed fields are not (a new location, a new cleaner), and touch ``last_seen_at`` of
the others in one set-based UPDATE.

Every stored row is re-opened (``closed_at = NULL``): it is on the board. ``posted_at`` and ``first_seen_at``
never change after the insert. Counts go to ``jobtrend/source/<kind>:<key>/new|updated|unchanged`` (a posting
whose text is the same is ``unchanged`` whatever else changed).

The source's structured pay object (Ashby ``compensation``, Lever ``salaryRange``, JSON-LD ``baseSalary``,
Greenhouse pay ranges: :data:`PAY_EXTRAS`) is kept in ``pay_data`` as ``{"kind", "data"}``. It is not part of the
content hash; an unchanged posting whose pay object changed gets the new one and its ``pay_hash`` cleared, so the
next ``analyze`` reads its pay again (``jobtrend/source/<kind>:<key>/pay_changed``).

A batch that fails for its data (a value the database refuses, a constraint) is stored again row by row, each
in its own transaction, so that one bad posting loses only itself, not its board's other postings nor other
boards' ones in the same batch. Each posting lost is logged and counted (``jobtrend/store_error/<Exception>``,
``jobtrend/source/<kind>:<key>/store_error``, which makes that source's crawl "partial": nothing of it is
closed), and the crawl goes on. A batch lost to the connection or a lock is counted whole, without retrying.

A full disk (SQLite's "database or disk is full", PostgreSQL's "could not extend file" or SQLSTATE 53100, an
OSError ENOSPC: :func:`is_disk_full`) is not retried at all: it is logged once as ``disk full: ...`` without a
traceback, kept as ``jobtrend/disk_full`` in the stats, every posting from then on is counted as lost without a
write, and the spider is closed with the reason ``disk_full`` (the crawl-run extension marks its sources failed,
closing nothing; :func:`crawler.run.run_crawl` stops the other spiders and reports it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from jobtrend.db import (
    disk_full_message,
    ensure_source,
    insert_ignoring_conflicts,
    is_disk_full,
    make_engine,
    session_factory,
)
from jobtrend.messages import error_message
from jobtrend.models import Posting, Source
from jobtrend.weeks import monday_of, month_of, utcnow

logger = logging.getLogger(__name__)

POSTINGS = Posting.__table__
FIELDS = ("url", "title", "company", "location", "remote", "employment_type", "department")
LOOKUP_CHUNK = 500
# the item's extras that hold the source's structured pay, by source kind (the first one present is kept)
PAY_EXTRAS = {"ashby": ("compensation",), "lever": ("salaryRange",), "jsonld": ("baseSalary", "estimatedSalary"),
              "greenhouse": ("pay_ranges",)}
DISK_FULL = "disk_full"  # the close reason, the crawl_runs error and the stat (jobtrend/disk_full) of a full disk
DISK_FULL_STAT = "jobtrend/disk_full"
STORE_ERRORS = (SQLAlchemyError, UnicodeError, OSError)  # UnicodeError: a value the driver could not encode


class StorePostingPipeline:
    """Write postings to the ``postings`` table, ``batch_size`` at a time, and flush the rest at close."""

    def __init__(self, database_url: str, batch_size: int, stats, crawler=None):
        self.database_url = database_url
        self.batch_size = max(1, batch_size)
        self.stats = stats
        self.crawler = crawler
        self.buffer: list = []
        self.source_ids: dict[tuple[str, str], int] = {}
        self.engine = None
        self.sessions = None
        self.disk_full = False

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("JOBTREND_DATABASE_URL")
        if not url:
            raise NotConfigured("JOBTREND_DATABASE_URL is not set")
        return cls(url, crawler.settings.getint("JOBTREND_BATCH_SIZE", 500), crawler.stats, crawler)

    def open_spider(self):
        self.engine = make_engine(self.database_url)
        self.sessions = session_factory(self.engine)
        self.source_ids = stored_source_ids(self.sessions)

    def process_item(self, item):
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def close_spider(self):
        self.flush()
        self.engine.dispose()

    def flush(self) -> None:
        """Store the buffered postings in one transaction; on a data error, again one by one (see the module
        docstring); log and count what is lost."""
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        if self.disk_full:
            self.count_lost(batch, DISK_FULL)
            return
        try:
            self.store(batch)
            return
        except STORE_ERRORS as exc:
            if self.stop_if_disk_full(batch, exc):
                return
            if len(batch) == 1 or not about_rows(exc):
                self.count_failure(batch, exc)
                return
            logger.warning("could not store a batch of %d postings (%s); storing them one by one",
                           len(batch), error_message(exc))
        for at, item in enumerate(batch):
            try:
                self.store([item])
            except STORE_ERRORS as exc:
                if self.stop_if_disk_full(batch[at:], exc):
                    return
                self.count_failure([item], exc)

    def store(self, batch: list) -> None:
        """Store ``batch`` in one transaction and count the outcomes; raise what the database raised."""
        ids = self.resolve_sources(batch)
        with self.sessions.begin() as session:
            counts = store_batch(session, batch, ids, utcnow())
        for (label, outcome), n in counts.items():
            self.stats.inc_value(f"jobtrend/source/{label}/{outcome}", n)

    def resolve_sources(self, batch: list) -> dict[tuple[str, str], int]:
        """Source ids of the batch's (kind, key) pairs, created when missing and cached once committed."""
        wanted = {(i["source_kind"], i["source_key"]): i.get("company") for i in batch}
        missing = {k: c for k, c in wanted.items() if k not in self.source_ids}
        if missing:
            with self.sessions.begin() as session:
                found = {k: ensure_source(session, *k, company=c) for k, c in missing.items()}
            self.source_ids.update(found)
        return self.source_ids

    def count_failure(self, batch: list, exc: Exception) -> None:
        """Log a failed batch (or posting) and count the postings it lost, per source."""
        if len(batch) == 1:
            logger.error("could not store posting %r of %s: %s", batch[0].get("external_id"), label_of(batch[0]),
                         error_message(exc))
        else:
            logger.error("could not store %d postings: %s", len(batch), exc, exc_info=exc)
        self.count_lost(batch, type(exc).__name__)

    def count_lost(self, batch: list, error: str) -> None:
        """Count the postings of ``batch`` as lost to the database, per source (``store_error``)."""
        self.stats.inc_value(f"jobtrend/store_error/{error}", len(batch))
        for label, n in Counter(label_of(i) for i in batch).items():
            self.stats.inc_value(f"jobtrend/source/{label}/store_error", n)

    def stop_if_disk_full(self, batch: list, exc: BaseException) -> bool:
        """When ``exc`` says the disk is full: say so once, count ``batch`` as lost, stop storing and close the
        spider (reason ``disk_full``); return whether it did."""
        if not is_disk_full(exc):
            return False
        if not self.disk_full:
            self.disk_full = True
            message = disk_full_message(exc)
            self.stats.set_value(DISK_FULL_STAT, message)
            logger.error("disk full: %s; stopping the crawl, nothing is closed", message)
            close_spider(self.crawler, DISK_FULL)
        self.count_lost(batch, DISK_FULL)
        return True


def stored_source_ids(sessions) -> dict[tuple[str, str], int]:
    """Every stored source's id by (kind, key), read once (one query instead of one per source crawled); empty
    when the database cannot be read now: :meth:`StorePostingPipeline.resolve_sources` then finds them, and the
    store reports what is wrong."""
    try:
        with sessions.begin() as session:
            return {(kind, key): id_ for id_, kind, key in session.execute(select(Source.id, Source.kind, Source.key))}
    except SQLAlchemyError as exc:
        logger.debug("could not read the sources before storing (%s)", error_message(exc))
        return {}


def label_of(item) -> str:
    return f"{item['source_kind']}:{item['source_key']}"


def about_rows(exc: BaseException) -> bool:
    """Whether a failed batch may hold a few bad rows worth storing one by one: a value the database refused
    (DataError, a NUL on PostgreSQL), a constraint (IntegrityError), a value the driver could not encode. Not a
    lost connection or a lock timeout (OperationalError), which every row would meet again, each after its
    timeout."""
    if isinstance(exc, DBAPIError):
        return isinstance(exc, DataError | IntegrityError | ProgrammingError)
    return isinstance(exc, SQLAlchemyError | UnicodeError)


def close_spider(crawler, reason: str) -> None:
    """Ask the crawler's engine to close its spider with ``reason``, soon; nothing when it has no open spider (a
    test of the pipeline alone, a spider closed in the meantime)."""
    engine = getattr(crawler, "engine", None)
    if engine is None or getattr(engine, "spider", None) is None:
        return
    deferred_from_coro(close_if_open(engine, reason))


async def close_if_open(engine, reason: str) -> None:
    """Close the engine's spider with ``reason`` unless it was closed already."""
    if getattr(engine, "spider", None) is None:
        return
    try:
        await engine.close_spider_async(reason=reason)
    except RuntimeError:  # "Spider not opened": it closed on its own between the two checks
        logger.debug("spider already closed; not closing it again (%s)", reason)


def store_batch(session: Session, items: Iterable, source_ids: dict[tuple[str, str], int],
                now: dt.datetime) -> Counter:
    """Insert, update or touch each item's row; return counts by (source label,
    new|updated|unchanged|pay_changed)."""
    rows, labels = {}, {}
    for item in items:  # the last copy of a posting repeated within a batch wins
        source_id = source_ids[(item["source_kind"], item["source_key"])]
        rows[(source_id, item["external_id"])] = posting_row(item, source_id, now)
        labels[source_id] = label_of(item)
    return store_rows(session, rows, labels, now)


def store_rows(session: Session, rows: dict[tuple[int, str], dict], labels: dict[int, str],
               now: dt.datetime) -> Counter:
    """Insert, update or touch the row of each of ``rows`` (by source id and external id) by comparing it with the
    stored one; return counts by (source label, outcome)."""
    existing = existing_rows(session, rows.keys())
    new, changed, unchanged, pay_changed, relisted, counts = [], [], [], [], [], Counter()
    for key, row in rows.items():
        found = existing.get(key)
        if found is None:
            new.append(row)
            outcome = "new"
        elif found[1] != row["content_hash"]:
            changed.append(changed_values(found[0], row))
            outcome = "updated"
        else:
            unchanged.append(found[0])
            outcome = "unchanged"
            if found[2] != row["pay_data"]:
                pay_changed.append({"row_id": found[0], "pay_data": row["pay_data"], "pay_hash": None})
                counts[(labels[key[0]], "pay_changed")] += 1
            if found[3] != row["raw_hash"]:
                relisted.append(relisted_values(found[0], row))
        counts[(labels[key[0]], outcome)] += 1
    insert_ignoring_conflicts(session, POSTINGS, new)
    for parameters in (changed, pay_changed, relisted):
        if parameters:
            session.execute(update(POSTINGS).where(POSTINGS.c.id == bindparam("row_id")), parameters)
    touch(session, unchanged, now)
    return counts


def posting_row(item, source_id: int, now: dt.datetime) -> dict:
    """The ``postings`` row for a validated item first seen ``now``."""
    posted = item.get("posted_at")
    if not isinstance(posted, dt.datetime):
        posted = now
    text = item.get("description_text") or ""
    row = {name: item.get(name) for name in FIELDS}
    row.update(source_id=source_id, external_id=item["external_id"], description_text=text,
               posted_at=posted, posted_week=monday_of(posted), posted_month=posting_month(item, posted),
               first_seen_at=now, last_seen_at=now,
               closed_at=None, content_hash=content_hash(item["title"], text), pay_data=pay_data(item),
               raw_hash=item.get("raw_hash"))
    return row


def pay_data(item) -> dict | None:
    """The source's structured pay object from the item's extras, as ``{"kind": source kind, "data": object}``,
    or None when the source gave none."""
    extras = item.get("extras")
    if not isinstance(extras, dict):
        return None
    for name in PAY_EXTRAS.get(item.get("source_kind"), ()):
        if extras.get(name) not in (None, "", [], {}):
            return {"kind": item["source_kind"], "data": extras[name]}
    return None


def posting_month(item, posted: dt.datetime) -> dt.date:
    """The first day of the posting's month: the item's own ``posted_month`` ("YYYY-MM", a Hacker News comment's
    thread) when it has a valid one, else the month of ``posted`` (UTC)."""
    month = item.get("posted_month")
    if isinstance(month, str):
        try:
            return dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            pass
    return month_of(posted)


def changed_values(row_id: int, row: dict) -> dict:
    """Parameters of the UPDATE for a row whose content changed: fields, text, hash, seen now, open."""
    values = {name: row[name] for name in (*FIELDS, "description_text", "content_hash", "last_seen_at", "pay_data",
                                           "raw_hash")}
    return {"row_id": row_id, **values, "closed_at": None}


def relisted_values(row_id: int, row: dict) -> dict:
    """Parameters of the UPDATE for a row whose text is the same but whose listed fields are not (its raw hash
    differs): the fields and the raw hash (seen and opened by :func:`touch`)."""
    return {"row_id": row_id, **{name: row[name] for name in (*FIELDS, "raw_hash")}}


def existing_rows(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
    """(id, content_hash, pay_data, raw_hash) of the stored rows among ``keys`` (source_id, external_id)."""
    by_source = defaultdict(list)
    for source_id, external_id in keys:
        by_source[source_id].append(external_id)
    found = {}
    for source_id, external_ids in by_source.items():
        for start in range(0, len(external_ids), LOOKUP_CHUNK):
            chunk = external_ids[start:start + LOOKUP_CHUNK]
            query = select(POSTINGS.c.external_id, POSTINGS.c.id, POSTINGS.c.content_hash,
                           POSTINGS.c.pay_data, POSTINGS.c.raw_hash).where(
                POSTINGS.c.source_id == source_id, POSTINGS.c.external_id.in_(chunk))
            found.update({(source_id, ext): tuple(rest) for ext, *rest in session.execute(query)})
    return found


def touch(session: Session, row_ids: list[int], now: dt.datetime) -> None:
    """Mark unchanged rows as seen now (and open again) in set-based UPDATEs."""
    for start in range(0, len(row_ids), LOOKUP_CHUNK):
        chunk = row_ids[start:start + LOOKUP_CHUNK]
        session.execute(update(POSTINGS).where(POSTINGS.c.id.in_(chunk)).values(last_seen_at=now, closed_at=None))


def content_hash(title: str, text: str) -> str:
    """sha256 hex digest of the title, a newline and the description text."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()

