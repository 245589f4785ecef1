"""Let a posting listed exactly as it is stored go no further than the spider: no item pipeline, no store.

A spider middleware, the closest one to the spider (``SPIDER_MIDDLEWARES`` in ``crawler/settings.py``). When the
spider opens, it reads the raw hashes stored for the spider's sources, with their rows' ids
(:func:`crawler.pipelines.unchanged.load_stored_raw_hashes`: one query per source kind). Every
:class:`~crawler.items.JobPosting` the spider yields then gets its raw hash (``item["raw_hash"]``, which the
store writes, :func:`crawler.pipelines.unchanged.raw_hash`), over its fields as the spider yielded them, before
control characters are stripped. An item whose raw hash is stored is the row it was made from: it is not passed
on. Its row's id and hash go into ``spider.unchanged_rows`` (:class:`~crawler.pipelines.unchanged.UnchangedRows`),
and the crawl-run extension marks those rows seen and open when it records the source's crawl, before it closes
the postings the source no longer lists (``crawler/extensions/crawl_run.py``). Every other item, and anything
else the spider yields (requests), passes on unchanged.

So a crawl where nothing changed costs, per posting, the spider's parsing and one hash: no control-character
stripping, no cleaning, no validation, no Scrapy item pipeline chain and no ``item_scraped`` handlers, and one
UPDATE per 500 postings (docs/capacity.md, "A second crawl where nothing changed").

Counted as ``jobtrend/unchanged`` (recognised, crawl-wide) and, per source, ``unchanged`` (rows marked seen, by
the crawl-run extension). Without a database URL the middleware is off; when the stored hashes cannot be read
(logged once) nothing is recognised and every item goes through the pipelines, as on a first crawl.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from sqlalchemy.exc import SQLAlchemyError

from crawler.items import JobPosting
from crawler.pipelines.unchanged import StoredRawHashes, UnchangedRows, load_stored_raw_hashes, raw_hash
from jobtrend.db import DatabaseUnavailable, make_engine
from jobtrend.messages import error_message

logger = logging.getLogger(__name__)

UNCHANGED_ROWS = "unchanged_rows"  # the spider attribute holding the UnchangedRows
RECOGNISED_STAT = "jobtrend/unchanged"


class UnchangedPostingsMiddleware:
    """Hash every posting the spider yields; keep back the ones stored exactly so, noting their rows."""

    def __init__(self, crawler, database_url: str):
        self.crawler = crawler
        self.database_url = database_url
        self.stored = StoredRawHashes()
        self.rows = UnchangedRows()
        self.recognised = 0  # into the stats at close, not one stats call per item

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("JOBTREND_DATABASE_URL")
        if not url:
            raise NotConfigured("JOBTREND_DATABASE_URL is not set")
        middleware = cls(crawler, url)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider) -> None:
        setattr(spider, UNCHANGED_ROWS, self.rows)
        sources = getattr(spider, "sources", None)
        if not sources:
            return
        engine = None
        try:
            engine = make_engine(self.database_url)
            self.stored = load_stored_raw_hashes(engine, ((s.kind, s.key) for s in sources))
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            logger.warning("could not read the stored raw hashes (%s); every posting goes through the pipelines",
                           error_message(exc))
        finally:
            if engine is not None:
                engine.dispose()

    def spider_closed(self, spider) -> None:
        if self.recognised:
            self.crawler.stats.inc_value(RECOGNISED_STAT, self.recognised)

    def process_spider_output(self, response, result: Iterable[Any]) -> Iterator[Any]:
        for element in result:
            if not self.kept_back(element):
                yield element

    async def process_spider_output_async(self, response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for element in result:
            if not self.kept_back(element):
                yield element

    def kept_back(self, element: Any) -> bool:
        """Give a posting its raw hash; return True (and note its row) when a row was stored from exactly it."""
        if not isinstance(element, JobPosting):
            return False
        digest = raw_hash(element)
        element["raw_hash"] = digest
        row_id = self.stored.row_id(digest)
        if row_id is None:
            return False
        self.rows.add(element["source_key"], row_id, digest)
        self.recognised += 1
        return True
