"""Recognise a posting that has not changed since it was stored, before anything is done to it.

A crawl where nothing changed used to clean every description again (HTML to text), compare content hashes in
the store and pass every posting through Scrapy's item pipelines. Now each posting gets a **raw hash**
(:func:`raw_hash`): 64 bits of sha256 over the cleaner's version and every field of the item the store keeps, as
the spider yielded it (:data:`LISTED_FIELDS`: identity, title, URL, location, ..., the description HTML, the
posted date, and the structured pay, the one part of ``extras`` that is stored:
:func:`crawler.pipelines.store_posting.pay_data`). The store writes it to ``postings.raw_hash``.

The spider middleware ``crawler/middlewares/unchanged_postings.py`` computes it for every item the spider yields,
before any pipeline. When the spider opens, it reads the stored raw hashes of the sources the spider crawls, with
their rows' ids, into a :class:`StoredRawHashes` (:func:`load_stored_raw_hashes`: two arrays of 64-bit ints, 16
bytes a posting: 3.2 MB for 200,000). An item whose raw hash is among them goes no further: its row's id and
hash are kept in the spider's :class:`UnchangedRows` (16 bytes a posting) and, when the source's crawl is
recorded, :func:`mark_seen` marks those rows seen and open in one UPDATE per 500 rows, in the transaction that
records the source's crawl and closes its unseen postings (``crawler/extensions/crawl_run.py``).

Because the identity (kind, key, external id) is hashed too, a match means "a stored row with this identity was
made from exactly these fields". A false match (two different postings or versions with the same 64 bits, about
1 in 10^14 per posting against 200,000 stored ones) would leave one changed posting as it was until its next
change. A row deleted (or rewritten) between the spider's opening and the source's record is not marked and the
posting is not stored this time (counted, ``unchanged_row_gone``); it is not closed either, and the next crawl
finds no stored hash for it and stores it again.

:data:`CLEANER_VERSION` is a fingerprint of the code that turns listed fields into a stored row (the source of
jobtrend/text.py and of the pipelines and helpers in this folder, and the lxml, libxml2, libxslt and BeautifulSoup
versions): any edit to that code gives every posting a new raw hash, so the next crawl cleans and compares every
posting once, as before, and stores the new hashes. Nobody has to remember to bump a version.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import bs4
from lxml import etree
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from crawler.pipelines.store_posting import FIELDS, pay_data
from jobtrend.models import Posting, Source

logger = logging.getLogger(__name__)

# what the store keeps of an item, as listed (extras: only the pay, hashed apart)
LISTED_FIELDS = ("source_kind", "source_key", "external_id", *FIELDS, "description_html", "posted_at",
                 "posted_month")
PIPELINES = Path(__file__).resolve().parent
CLEANER_MODULES = ("strip_control_chars.py", "clean_html.py", "validate_posting.py",
                   "store_posting.py", "unchanged.py")
LOAD_BATCH = 10_000
MARK_CHUNK = 500


def cleaner_version() -> str:
    """sha256 of the cleaning code's source and the versions of the parsers it relies on."""
    digest = hashlib.sha256()
    text_module = importlib.util.find_spec("jobtrend.text").origin
    for path in (Path(text_module), *(PIPELINES / name for name in CLEANER_MODULES)):
        digest.update(path.read_bytes())
    libraries = (etree.LXML_VERSION, etree.LIBXML_VERSION, etree.LIBXSLT_VERSION, bs4.__version__)
    digest.update(repr(libraries).encode())
    return digest.hexdigest()


CLEANER_VERSION = cleaner_version()


def raw_hash(item, version: str | None = None) -> int:
    """The item's raw hash: a signed 64-bit int, the first 8 bytes of sha256 over ``version`` (default
    :data:`CLEANER_VERSION`), the :data:`LISTED_FIELDS` and the structured pay. The values are written with
    ``repr``: the item holds what JSON decoding and the spiders make (strings, numbers, booleans, None, lists,
    dicts in the order the source sent them), whose ``repr`` is the same in every process. A source that reorders
    the keys of its pay object gives a new hash: the posting is cleaned and compared once more, nothing worse."""
    values = dict(item)  # an Item's own get() is several times slower
    listed = (*map(values.get, LISTED_FIELDS), pay_data(values))
    digest = hashlib.sha256((version or CLEANER_VERSION).encode())
    digest.update(repr(listed).encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


class StoredRawHashes:
    """The raw hashes stored for some sources and their rows' ids, as two arrays of 64-bit ints sorted by hash;
    looked up by binary search."""

    __slots__ = ("_hashes", "_ids")

    def __init__(self, rows: Iterable[tuple[int, int]] = ()):
        """``rows``: (raw hash, row id) pairs."""
        ordered = sorted(rows)
        self._hashes = array("q", (digest for digest, _ in ordered))
        self._ids = array("q", (row_id for _, row_id in ordered))

    def row_id(self, value: object) -> int | None:
        """The id of the row stored with raw hash ``value``, or None."""
        if not isinstance(value, int):
            return None
        at = bisect_left(self._hashes, value)
        return self._ids[at] if at < len(self._hashes) and self._hashes[at] == value else None

    def __contains__(self, value: object) -> bool:
        return self.row_id(value) is not None

    def __len__(self) -> int:
        return len(self._hashes)

    def __repr__(self) -> str:
        return f"StoredRawHashes({len(self)} hashes)"


def load_stored_raw_hashes(engine: Engine, sources: Iterable[tuple[str, str]]) -> StoredRawHashes:
    """The stored raw hashes and row ids of the postings of ``sources`` ((kind, key) pairs): one query per kind,
    read in batches, the keys filtered here (one IN list of 6,000 keys would be a slower query than reading the
    kind)."""
    keys_by_kind: dict[str, set[str]] = defaultdict(set)
    for kind, key in sources:
        keys_by_kind[kind].add(key)
    postings, sources_table = Posting.__table__, Source.__table__
    found: list[tuple[int, int]] = []
    with engine.connect() as conn:
        for kind, keys in keys_by_kind.items():
            query = (select(sources_table.c.key, postings.c.raw_hash, postings.c.id)
                     .join(sources_table, sources_table.c.id == postings.c.source_id)
                     .where(sources_table.c.kind == kind, postings.c.raw_hash.is_not(None)))
            result = conn.execution_options(yield_per=LOAD_BATCH).execute(query)
            for rows in result.partitions():
                found += [(digest, row_id) for key, digest, row_id in rows if key in keys]
    return StoredRawHashes(found)


class UnchangedRows:
    """The rows of postings a crawl recognised unchanged, per source key: row ids and their raw hashes, as two
    arrays of 64-bit ints (16 bytes a posting), kept until the source's crawl is recorded."""

    __slots__ = ("_rows",)

    def __init__(self):
        self._rows: dict[str, tuple[array, array]] = {}

    def add(self, source_key: str, row_id: int, digest: int) -> None:
        ids, hashes = self._rows.setdefault(source_key, (array("q"), array("q")))
        ids.append(row_id)
        hashes.append(digest)

    def of(self, source_key: str) -> list[tuple[int, int]]:
        """The (row id, raw hash) pairs of one source, each row once."""
        ids, hashes = self._rows.get(source_key, ((), ()))
        return list(dict(zip(ids, hashes, strict=True)).items())

    def __len__(self) -> int:
        return sum(len(ids) for ids, _ in self._rows.values())

    def __repr__(self) -> str:
        return f"UnchangedRows({len(self)} rows of {len(self._rows)} sources)"


def mark_seen(session: Session, rows: list[tuple[int, int]], now) -> set[int]:
    """Mark the rows of ``rows`` ((row id, raw hash) pairs) seen ``now`` and open, one UPDATE per chunk of 500
    ids; return the ids of the rows still there with that raw hash (the hash guards against a row rewritten, or
    an id reused by another posting, since the hashes were read). A chunk that updated fewer rows than it named is
    read back to find which."""
    postings = Posting.__table__
    marked: set[int] = set()
    for start in range(0, len(rows), MARK_CHUNK):
        chunk = dict(rows[start:start + MARK_CHUNK])
        where = (postings.c.id.in_(list(chunk)), postings.c.raw_hash.in_(list(chunk.values())))
        result = session.execute(update(postings).where(*where).values(last_seen_at=now, closed_at=None))
        if result.rowcount == len(chunk):
            marked.update(chunk)
            continue
        marked.update(row_id for row_id, digest in session.execute(select(postings.c.id, postings.c.raw_hash)
                                                                   .where(*where))
                      if chunk.get(row_id) == digest)
    return marked
