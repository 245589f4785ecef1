"""Fill ``description_text`` from ``description_html`` with :func:`jobtrend.text.html_to_text`, unless the posting
is stored unchanged (:func:`crawler.pipelines.description.clean_description`).

Every item gets its raw hash (``raw_hash``: :mod:`crawler.pipelines.unchanged`). When the spider opens, the
pipeline reads the raw hashes stored for the spider's sources (one query per source kind, 8 bytes a posting);
an item whose raw hash is among them gets that row's id as ``unchanged`` and is not cleaned (its stored text was
cleaned from this very HTML by this cleaner), and the store pipeline only marks the row seen. Counted as
``jobtrend/clean/skipped_unchanged`` and ``jobtrend/clean/cleaned``. Without a database URL (the pipeline on
its own) or when the stored hashes cannot be read (logged once), every item is cleaned.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from crawler.pipelines.description import clean_description
from crawler.pipelines.unchanged import StoredRawHashes, load_stored_raw_hashes, raw_hash
from jobtrend.db import make_engine
from jobtrend.messages import error_message

logger = logging.getLogger(__name__)

SKIPPED_STAT = "jobtrend/clean/skipped_unchanged"
CLEANED_STAT = "jobtrend/clean/cleaned"


class CleanHtmlPipeline:
    """Turn each posting's HTML description into clean text (one line per block, ``- `` list items), except for a
    posting stored unchanged."""

    def __init__(self, database_url: str | None = None, stats=None, crawler=None):
        self.database_url = database_url
        self.stats = stats
        self.crawler = crawler
        self.stored = StoredRawHashes()
        self.counts = {SKIPPED_STAT: 0, CLEANED_STAT: 0}  # into the stats at close, not one call per item

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("JOBTREND_DATABASE_URL"), crawler.stats, crawler)

    def open_spider(self):
        spider = getattr(self.crawler, "spider", None)
        sources = getattr(spider, "sources", None)
        if not self.database_url or not sources:
            return
        engine = make_engine(self.database_url)
        try:
            self.stored = load_stored_raw_hashes(engine, ((s.kind, s.key) for s in sources))
        except SQLAlchemyError as exc:
            logger.warning("could not read the stored raw hashes (%s); cleaning every posting",
                           error_message(exc))
        finally:
            engine.dispose()

    def process_item(self, item):
        digest = raw_hash(item)
        item["raw_hash"] = digest
        row_id = self.stored.row_id(digest)
        if row_id is not None:
            item["unchanged"] = row_id
            self.counts[SKIPPED_STAT] += 1
            return item
        clean_description(item)
        self.counts[CLEANED_STAT] += 1
        return item

    def close_spider(self):
        for stat, count in self.counts.items():
            if count and self.stats is not None:
                self.stats.inc_value(stat, count)
