"""Store postings in batches through SQLAlchemy Core: insert new ones, update changed ones, touch the rest.

Identity is (source, external id). Per batch, in one transaction: look up the batch's existing rows, INSERT the
new ones (``first_seen_at = last_seen_at = now``; ``posted_at`` is the source's date, else now), UPDATE only the
rows whose ``content_hash`` (sha256 of title, newline, text) changed, and touch ``last_seen_at`` of the
unchanged ones in one set-based UPDATE. Every stored row is re-opened (``closed_at = NULL``): it is on the board.
``posted_at`` and ``first_seen_at`` never change after the insert. Counts go to
``jobtrend/source/<kind>:<key>/new|updated|unchanged``; a database error is logged and counted
(``jobtrend/store_error/<Exception>``, ``jobtrend/source/<kind>:<key>/store_error``), and the crawl goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable

from scrapy.exceptions import NotConfigured
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from jobtrend.db import ensure_source, insert_ignoring_conflicts, make_engine, session_factory
from jobtrend.models import Posting
from jobtrend.weeks import monday_of, utcnow

logger = logging.getLogger(__name__)

POSTINGS = Posting.__table__
FIELDS = ("url", "title", "company", "location", "remote", "employment_type", "department")
LOOKUP_CHUNK = 500


class StorePostingPipeline:
    """Write postings to the ``postings`` table, ``batch_size`` at a time, and flush the rest at close."""

    def __init__(self, database_url: str, batch_size: int, stats):
        self.database_url = database_url
        self.batch_size = max(1, batch_size)
        self.stats = stats
        self.buffer: list = []
        self.source_ids: dict[tuple[str, str], int] = {}
        self.engine = None
        self.sessions = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("JOBTREND_DATABASE_URL")
        if not url:
            raise NotConfigured("JOBTREND_DATABASE_URL is not set")
        return cls(url, crawler.settings.getint("JOBTREND_BATCH_SIZE", 500), crawler.stats)

    def open_spider(self):
        self.engine = make_engine(self.database_url)
        self.sessions = session_factory(self.engine)

    def process_item(self, item):
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def close_spider(self):
        self.flush()
        self.engine.dispose()

    def flush(self) -> None:
        """Store the buffered postings in one transaction; log and count a database error."""
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        try:
            ids = self.resolve_sources(batch)
            with self.sessions.begin() as session:
                counts = store_batch(session, batch, ids, utcnow())
        except SQLAlchemyError as exc:
            self.count_failure(batch, exc)
            return
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
        """Log a failed batch and count the postings it lost, per source."""
        logger.error("could not store %d postings: %s", len(batch), exc, exc_info=exc)
        self.stats.inc_value(f"jobtrend/store_error/{type(exc).__name__}")
        for label, n in Counter(label_of(i) for i in batch).items():
            self.stats.inc_value(f"jobtrend/source/{label}/store_error", n)


def label_of(item) -> str:
    return f"{item['source_kind']}:{item['source_key']}"


def store_batch(session: Session, items: Iterable, source_ids: dict[tuple[str, str], int],
                now: dt.datetime) -> Counter:
    """Insert, update or touch each item's row; return counts by (source label, new|updated|unchanged)."""
    rows = {}
    labels = {}
    for item in items:  # the last copy of a posting repeated within a batch wins
        row = posting_row(item, source_ids[(item["source_kind"], item["source_key"])], now)
        rows[(row["source_id"], row["external_id"])] = row
        labels[row["source_id"]] = label_of(item)
    existing = existing_rows(session, rows.keys())
    new, changed, unchanged, counts = [], [], [], Counter()
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
        counts[(labels[key[0]], outcome)] += 1
    insert_ignoring_conflicts(session, POSTINGS, new)
    if changed:
        session.execute(update(POSTINGS).where(POSTINGS.c.id == bindparam("row_id")), changed)
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
               posted_at=posted, posted_week=monday_of(posted), first_seen_at=now, last_seen_at=now,
               closed_at=None, content_hash=content_hash(item["title"], text))
    return row


def changed_values(row_id: int, row: dict) -> dict:
    """Parameters of the UPDATE for a row whose content changed: fields, text, hash, seen now, open."""
    values = {name: row[name] for name in (*FIELDS, "description_text", "content_hash", "last_seen_at")}
    return {"row_id": row_id, **values, "closed_at": None}


def existing_rows(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, str]]:
    """(id, content_hash) of the stored rows among ``keys`` (source_id, external_id)."""
    by_source = defaultdict(list)
    for source_id, external_id in keys:
        by_source[source_id].append(external_id)
    found = {}
    for source_id, external_ids in by_source.items():
        for start in range(0, len(external_ids), LOOKUP_CHUNK):
            chunk = external_ids[start:start + LOOKUP_CHUNK]
            query = select(POSTINGS.c.external_id, POSTINGS.c.id, POSTINGS.c.content_hash).where(
                POSTINGS.c.source_id == source_id, POSTINGS.c.external_id.in_(chunk))
            found.update({(source_id, ext): (pk, digest) for ext, pk, digest in session.execute(query)})
    return found


def touch(session: Session, row_ids: list[int], now: dt.datetime) -> None:
    """Mark unchanged rows as seen now (and open again) in set-based UPDATEs."""
    for start in range(0, len(row_ids), LOOKUP_CHUNK):
        chunk = row_ids[start:start + LOOKUP_CHUNK]
        session.execute(update(POSTINGS).where(POSTINGS.c.id.in_(chunk)).values(last_seen_at=now, closed_at=None))


def content_hash(title: str, text: str) -> str:
    """sha256 hex digest of the title, a newline and the description text."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()

