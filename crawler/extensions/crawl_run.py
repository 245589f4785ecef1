"""Record one ``crawl_runs`` row per source a spider crawls, and close postings gone from complete crawls.

On ``spider_opened`` a "running" row is inserted for every source in ``spider.sources``, recording the host and
process id of the crawl in its ``stats`` (``{"process": {"host": ..., "pid": ...}}``). First, the "running" rows
that earlier crawls of those sources left behind when their process died (SIGKILL, out of memory, a power cut)
are marked "failed" with ``error = "interrupted"`` (:func:`mark_interrupted`): a row is taken as dead when its
process ran on this host and no longer exists, when it names no process, or when it was started on another host
more than :data:`STALE_AFTER` ago. A dead crawl closed nothing and its stored postings stay as they are; it does
not change the source's health either (the board did not fail, the process did). On ``spider_closed``
(Scrapy sends it after the item pipelines' ``close_spider`` has run, so the store has flushed its last batch:
see ``ExecutionEngine.close_spider_async``) each row is finished from ``spider.source_results`` and the
source's stats (``jobtrend/source/<kind>:<key>/...``):

- "ok": the board answered and was read, the spider finished normally and nothing failed to store;
- "failed": the board could not be read (``error`` says why: ``http_404``, ``invalid_json``, ...);
- "partial": the crawl was cut short (another close reason), the board never answered, or a batch was lost.

In the same transaction, first, the rows of the postings the spider middleware recognised unchanged
(``spider.unchanged_rows``: ``crawler/middlewares/unchanged_postings.py``), which never reached the store, are
marked seen and open (:func:`crawler.pipelines.unchanged.mark_seen`, one UPDATE per 500 rows) and counted as the
source's ``unchanged``; whatever the source's outcome, since they were listed (a full disk marks none: they keep
their last ``last_seen_at`` and are not closed). A recognised posting whose row is gone meanwhile is counted as
``unchanged_row_gone`` and logged (the next crawl stores it again).

Only after an "ok" crawl are the source's open postings whose external id was not seen given ``closed_at``;
a failed or partial crawl never closes anything, and neither does the first crawl that finds a board empty
after it listed postings (``jobtrend.health`` keeps the source's health and makes that call). A source whose
result says ``closes_unseen = False`` never closes postings: a Hacker News crawl reads only some monthly threads,
so a posting it did not list is not gone. A spider may itself end a source "partial" (some of its requests
failed, the others were read); ``errors`` then counts the failed requests (``source_error/<reason>``).

The start must be recorded: a crawl whose "running" rows cannot be written (SQLite locked past its busy timeout,
a full disk) would crawl sources nobody hears of, missing from ``crawl_runs`` and from the summary. So when
``spider_opened`` cannot write them, the spider is closed before it sends a request (``CloseSpider``, reason
``not_recorded``, or ``disk_full``), each of its sources is counted (``jobtrend/source_error/not_recorded:<error>``)
and listed in ``spider.unrecorded`` (``kind:key`` -> ``not_recorded:<error>``, the error being the exception's
class, or ``disk_full``), which :func:`crawler.run.run_crawl` reports as failed sources.

A full disk (``jobtrend/disk_full`` in the stats, set by the store pipeline or here; reason ``disk_full``) ends
every source of the spider ``failed`` with the error ``disk_full``: the row gets its status, error and counts (a
small in-place update, which a full disk often still allows; without ``stats``), nothing is closed and the
source's health is left alone (the disk failed, not the board). A row that cannot be written stays "running" and
the next crawl marks it ``interrupted``.

A posting whose external id the ``strip_control_chars`` pipeline had to clean is stored under the cleaned id; the
spider's seen set holds the id as listed. ``spider.cleaned_ids`` maps one to the other, and the cleaned id counts
as seen whenever the listed one was, so the posting is not closed.

A spider that needs its sources' history gets it here too, the way Scrapy's ``SpiderState`` extension sets
``spider.state``: when the spider says ``reads_crawled_threads`` (the Hacker News spider), ``spider_opened`` also
sets ``spider.crawled_threads`` to, per source key, the threads earlier crawls read completely
(:func:`crawled_threads`: story id -> month, from the ``thread/<YYYY-MM>/<story id>`` stats of its runs), or None
when they could not be read. The spider then opens no database of its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from crawler.extensions.source_lines import source_recorded
from crawler.middlewares.unchanged_postings import UNCHANGED_ROWS
from crawler.pipelines.store_posting import DISK_FULL, DISK_FULL_STAT
from crawler.pipelines.strip_control_chars import CLEANED_IDS
from crawler.pipelines.unchanged import UnchangedRows, mark_seen
from jobtrend.db import disk_full_message, ensure_sources, is_disk_full, make_engine, session_factory
from jobtrend.health import record_crawl
from jobtrend.messages import error_message
from jobtrend.models import CrawlRun, Posting, Source
from jobtrend.processes import process_alive
from jobtrend.weeks import utcnow

logger = logging.getLogger(__name__)

POSTINGS = Posting.__table__
CLOSE_CHUNK = 500
INTERRUPTED = "interrupted"
NOT_RECORDED = "not_recorded"  # the close reason of a spider whose start could not be recorded
STALE_AFTER = dt.timedelta(hours=24)  # a running row of another host older than this is dead
THREAD_STAT_RE = re.compile(r"^thread/(\d{4}-\d{2})/(\d+)$")  # a Hacker News thread read completely, in a run's stats


class CrawlRunExtension:
    """Open a crawl_runs row per source when the spider opens; finish it, and close postings, when it closes."""

    def __init__(self, stats, database_url: str, signals_=None):
        self.stats = stats
        self.database_url = database_url
        self.signals = signals_  # the crawler's: source_recorded is sent on it (crawler/extensions/source_lines.py)
        self.runs: dict[str, tuple[int, int]] = {}  # source key -> (crawl_runs.id, sources.id)
        self.engine = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("JOBTREND_DATABASE_URL")
        if not url:
            raise NotConfigured("JOBTREND_DATABASE_URL is not set")
        ext = cls(crawler.stats, url, crawler.signals)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        sources = getattr(spider, "sources", None)
        if sources is None:
            return
        self.engine = make_engine(self.database_url)
        failure = None
        try:
            with session_factory(self.engine).begin() as session:
                source_ids = ensure_sources(session, [(s.kind, s.key, s.company) for s in sources])
                marked = mark_interrupted(session, source_ids)
                if marked:
                    self.stats.set_value("jobtrend/crawl_runs_interrupted", marked)
                    logger.warning("marked %d crawl_runs rows left running by a dead crawl as failed (%s)",
                                   marked, INTERRUPTED)
                run_ids = start_runs(session, source_ids)
                self.runs = {source.key: (run_id, source_id)
                             for source, source_id, run_id in zip(sources, source_ids, run_ids, strict=True)}
        except (SQLAlchemyError, OSError) as exc:
            self.runs.clear()
            failure = exc
        spider.crawl_run_ids = {key: ids[0] for key, ids in self.runs.items()}
        if getattr(spider, "reads_crawled_threads", False):  # not read (None) for a spider that is not crawling
            spider.crawled_threads = {source.key: None if failure else crawled_threads(self.engine, source)
                                      for source in sources}
        if failure is not None:
            self.not_recorded(spider, sources, failure)

    def not_recorded(self, spider, sources, exc: BaseException) -> None:
        """The start of the crawl could not be written: count and list every source as failed
        (``not_recorded:<error>``) and close the spider before it sends a request (raises CloseSpider)."""
        disk_full = is_disk_full(exc)
        reason = f"{NOT_RECORDED}:{DISK_FULL if disk_full else type(exc).__name__}"
        spider.unrecorded = {source.label: reason for source in sources}
        self.stats.inc_value("jobtrend/crawl_run_error")
        self.stats.inc_value(f"jobtrend/source_error/{reason}", len(sources))
        if disk_full:
            self.stats.set_value(DISK_FULL_STAT, disk_full_message(exc))
            logger.error("disk full: %s; the crawl of %d sources is not started", disk_full_message(exc),
                         len(sources))
        else:
            logger.error("could not record the start of the crawl of %d %s sources (%s): %s; they are not crawled",
                         len(sources), getattr(spider, "name", "?"), reason, error_message(exc))
        raise CloseSpider(DISK_FULL if disk_full else NOT_RECORDED)

    def spider_closed(self, spider, reason: str) -> None:
        cleaned = getattr(spider, CLEANED_IDS, None) or {}
        unchanged = getattr(spider, UNCHANGED_ROWS, None) or UnchangedRows()
        for source in getattr(spider, "sources", ()):
            if source.key in self.runs:
                self.finish(source, spider.source_results.get(source.key), reason, cleaned.get(source.key, {}),
                            unchanged.of(source.key))
        if self.engine is not None:
            self.engine.dispose()

    def finish(self, source, result, reason: str, cleaned_ids: dict[str, str] | None = None,
               unchanged: list[tuple[int, int]] = ()) -> None:
        """Write one source's outcome and counts, marking its unchanged postings seen and closing its vanished
        ones when the crawl was ok. ``cleaned_ids``: ids as listed -> as stored, for ids the strip_control_chars
        pipeline changed; ``unchanged``: (row id, raw hash) of the postings recognised unchanged."""
        run_id, source_id = self.runs[source.key]
        own = source_stats(self.stats.get_stats(), source.label)
        if reason == DISK_FULL or self.stats.get_value(DISK_FULL_STAT):
            self.finish_disk_full(source, run_id, own, result)
            return
        status, error = outcome(result, reason, own)
        try:
            with session_factory(self.engine).begin() as session:
                kept = mark_seen(session, unchanged, utcnow()) if unchanged else set()
                seen = len(result.seen_ids) if result else 0
                may_close = record_crawl(session, source_id, status=status, error=error, seen=seen)
                closes = may_close and getattr(result, "closes_unseen", True)
                also_seen = {stored for listed, stored in (cleaned_ids or {}).items() if listed in result.seen_ids} \
                    if closes else set()
                closed = close_unseen(session, source_id, result.seen_ids, also_seen, kept) if closes else 0
                added = unchanged_counts(len(kept), len(unchanged) - len(kept))
                own = own | {name: own.get(name, 0) + n for name, n in added.items()}
                values = finished_values(status, error, seen, own, closed) | {"stats": own}
                session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(**values))
        except (SQLAlchemyError, OSError) as exc:
            self.stats.inc_value("jobtrend/crawl_run_error")
            if is_disk_full(exc):  # nothing of this transaction was written: nothing closed
                self.stats.set_value(DISK_FULL_STAT, disk_full_message(exc))
                logger.error("disk full: %s; stopping the crawl, nothing is closed", disk_full_message(exc))
                self.finish_disk_full(source, run_id, own, result)
            else:
                logger.error("could not record the crawl of %s: %s", source.label, exc, exc_info=exc)
            return
        self.count_unchanged(source, added)
        logger.info("crawl of %s: %s%s, %d closed", source.label, status, f" ({error})" if error else "", closed)
        self.announce(source, status, error, seen, own.get("new", 0))

    def count_unchanged(self, source, counts: dict[str, int]) -> None:
        """Add the source's recorded ``unchanged`` and ``unchanged_row_gone`` counts to the crawl's stats, and log
        the postings whose row was gone."""
        if counts.get("unchanged_row_gone"):
            logger.warning("%d postings of %s recognised unchanged had no stored row any more; the next crawl "
                           "stores them again", counts["unchanged_row_gone"], source.label)
        for name, n in counts.items():
            self.stats.inc_value(f"jobtrend/source/{source.label}/{name}", n)

    def finish_disk_full(self, source, run_id: int, own: dict, result) -> None:
        """Mark the source's row failed with ``disk_full`` and its counts, where the full disk still allows it;
        close nothing and leave the source's health alone."""
        values = finished_values("failed", DISK_FULL, len(result.seen_ids) if result else 0, own, 0)
        try:
            with session_factory(self.engine).begin() as session:
                session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(**values))
        except (SQLAlchemyError, OSError) as exc:
            self.stats.inc_value("jobtrend/crawl_run_error")
            logger.error("could not mark the crawl of %s failed (%s): %s; it stays running until the next crawl",
                         source.label, DISK_FULL, error_message(getattr(exc, "orig", None) or exc))
            return
        logger.info("crawl of %s: failed (%s), 0 closed", source.label, DISK_FULL)
        self.announce(source, "failed", DISK_FULL, values["seen"], values["new"])

    def announce(self, source, status: str, reason: str | None, seen: int, new: int) -> None:
        """Tell the source-lines extension that ``source``'s outcome is recorded: it prints the source's line
        now when the spider never set a result for it, or a correcting line when this outcome is not the one the
        spider's result said (a lost batch, a full disk, a crawl cut short)."""
        if self.signals is not None:
            self.signals.send_catch_log(source_recorded, label=source.label, status=status, reason=reason,
                                        seen=seen, new=new)


def start_runs(session, source_ids: list[int]) -> list[int]:
    """Insert a "running" crawl_runs row per source (one INSERT for all of them); return their ids, in order."""
    if not source_ids:
        return []
    now, process = utcnow(), this_process()
    rows = [{"source_id": source_id, "status": "running", "started_at": now, "stats": {"process": process}}
            for source_id in source_ids]
    query = insert(CrawlRun).returning(CrawlRun.id, sort_by_parameter_order=True)
    return list(session.scalars(query, rows))


def this_process() -> dict:
    """The host and process id of this crawl, kept on its running rows."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def mark_interrupted(session, source_ids: list[int], now: dt.datetime | None = None) -> int:
    """Mark the sources' "running" crawl_runs rows whose crawl is dead (see the module docstring) as failed with
    ``error = "interrupted"``; return how many."""
    now = now or utcnow()
    rows = session.execute(select(CrawlRun.id, CrawlRun.started_at, CrawlRun.stats).where(
        CrawlRun.source_id.in_(source_ids), CrawlRun.status == "running")).all()
    dead = [row.id for row in rows if is_dead(row.stats, row.started_at, now)]
    if dead:
        session.execute(update(CrawlRun).where(CrawlRun.id.in_(dead), CrawlRun.status == "running").values(
            status="failed", error=INTERRUPTED, finished_at=now))
    return len(dead)


def is_dead(stats, started_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the crawl that wrote a running row with these ``stats`` can no longer finish it."""
    process = stats.get("process") if isinstance(stats, dict) else None
    if not isinstance(process, dict) or not isinstance(process.get("pid"), int):
        return True
    alive = process_alive(process.get("host"), process["pid"])
    if alive is None:  # another host: dead when it has run for longer than any crawl may
        return started_at is None or now - started_at > STALE_AFTER
    return not alive


def thread_stat(month: str, story_id: int) -> str:
    """The stat that records a Hacker News thread as read completely by a crawl (``thread/<YYYY-MM>/<id>``)."""
    return f"thread/{month}/{story_id}"


def crawled_threads(database: Engine | str | None, source) -> dict[int, str] | None:
    """Story id -> month of every thread that an earlier crawl of ``source`` read completely (a run that lost
    postings to the database, ``store_error``, vouches for none); empty without a database, None (logged) when the
    database cannot be read. ``database`` is an engine, or a URL for which one is made and disposed of."""
    if database is None or database == "":
        return {}
    engine = make_engine(database) if isinstance(database, str) else database
    query = select(CrawlRun.stats).join(Source).where(Source.kind == source.kind, Source.key == source.key)
    try:
        with engine.connect() as conn:
            all_stats = list(conn.scalars(query))
    except SQLAlchemyError as exc:
        logger.error("cannot read the earlier crawls of %s: %s", source.label, exc)
        return None
    finally:
        if engine is not database:
            engine.dispose()
    crawled = {}
    for stats in all_stats:
        if not isinstance(stats, dict) or stats.get("store_error"):
            continue
        for name in stats:
            match = THREAD_STAT_RE.match(name)
            if match:
                crawled[int(match.group(2))] = match.group(1)
    return crawled


def source_stats(stats: dict, label: str) -> dict:
    """The stats of one source, with the ``jobtrend/source/<label>/`` prefix removed."""
    prefix = f"jobtrend/source/{label}/"
    return {key[len(prefix):]: value for key, value in stats.items() if key.startswith(prefix)}


def outcome(result, reason: str, own: dict) -> tuple[str, str | None]:
    """The crawl_runs status and error of a source, from its result and the spider's close reason."""
    if result is not None and result.status != "ok":  # "failed", or "partial" as the spider saw it
        return result.status, result.reason
    if result is None:
        return "partial", "no_response" if reason == "finished" else f"cut_short:{reason}"
    if reason != "finished":
        return "partial", f"cut_short:{reason}"
    if own.get("store_error"):
        return "partial", "store_error"
    return "ok", None


def finished_values(status: str, error: str | None, seen: int, own: dict, closed: int) -> dict:
    """The columns of a finished crawl_runs row (without ``stats``) from its outcome and the source's stats."""
    return {"finished_at": utcnow(), "status": status, "error": error, "seen": seen, "new": own.get("new", 0),
            "updated": own.get("updated", 0), "dropped": own.get("dropped", 0), "errors": error_count(own, status),
            "closed": closed}


def unchanged_counts(marked: int, gone: int) -> dict[str, int]:
    """What the crawl-run record adds to the source's stats: ``unchanged`` (the rows it marked seen) and
    ``unchanged_row_gone`` (those it found gone), only the names with something to add."""
    return {name: n for name, n in (("unchanged", marked), ("unchanged_row_gone", gone)) if n}


def error_count(own: dict, status: str) -> int:
    """Item errors plus postings lost to the database, plus the failed requests (at least one when the whole
    board failed)."""
    errors = sum(v for k, v in own.items() if k.startswith("item_error/")) + own.get("store_error", 0)
    failed_requests = sum(v for k, v in own.items() if k.startswith("source_error/"))
    return errors + max(failed_requests, 1 if status == "failed" else 0)


def close_unseen(session, source_id: int, seen_ids: set[str], also_seen: set[str] = frozenset(),
                 seen_rows: set[int] = frozenset()) -> int:
    """Set ``closed_at`` on the source's open postings that were not seen (in ``seen_ids`` or ``also_seen``, or
    their row in ``seen_rows``); return how many."""
    rows = session.execute(select(POSTINGS.c.id, POSTINGS.c.external_id).where(
        POSTINGS.c.source_id == source_id, POSTINGS.c.closed_at.is_(None)))
    gone = [row_id for row_id, external_id in rows
            if row_id not in seen_rows and external_id not in seen_ids and external_id not in also_seen]
    now = utcnow()
    for start in range(0, len(gone), CLOSE_CHUNK):
        chunk = gone[start:start + CLOSE_CHUNK]
        session.execute(update(POSTINGS).where(POSTINGS.c.id.in_(chunk)).values(closed_at=now))
    return len(gone)
