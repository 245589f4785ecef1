"""Hacker News "Ask HN: Who is hiring?" threads through the Algolia HN Search API: one posting per company post.

The source's key is the account that posts the threads (``whoishiring``). A crawl lists that account's stories
newest first (``GET {HN_ALGOLIA_API_BASE}/api/v1/search_by_date?tags=story,author_{key}&hitsPerPage=1000``; Algolia
returns at most 1000 hits per query, so a full page is followed by the next slice, ``numericFilters=
created_at_i<=<oldest seen>``), keeps the titles ``Ask HN: Who is hiring? (Month YYYY)`` (case and trailing
blanks vary in the real titles; "Who wants to be hired?" and freelancer threads are left out) and reads each chosen
thread whole with ``GET /api/v1/items/{id}``. Every top-level comment is a posting (replies, at any depth, are
not; deleted or dead comments, which have no author and no text, are skipped and counted as
``jobtrend/hackernews/deleted``): external id = comment id, URL = its HN page, posted at = the comment's time,
company, title, location, remote and employment type from the customary first line
(:mod:`jobtrend.hn_first_line`).

Which threads a crawl reads:

- with ``since="YYYY-MM"`` (``jobtrend crawl --source hackernews --since 2011-04``): every thread from that month
  on, read again even when crawled before;
- without it: the newest thread (it keeps growing), the one before it during the newest thread's first
  ``LATE_COMMENT_DAYS`` days (companies still answer last month's thread then, and a crawl just after a new
  thread opens would otherwise see almost nothing), and every thread not read completely before, from the
  source's ``since`` option in sources.toml, else from the oldest thread ever read (so a failed thread is
  retried and missed months are filled in). With neither, a first crawl reads only the newest thread (and,
  early in a month, the one before).

"Read completely before" is recorded, not guessed: a thread whose comments were all handed to the pipelines is
counted in the run's stats as ``thread/<YYYY-MM>/<story id>`` (so in ``crawl_runs.stats``), and the next crawl
gets those back from the crawl-run extension, which reads them from ``crawl_runs`` when the spider opens and sets
``spider.crawled_threads`` (:func:`crawler.extensions.crawl_run.crawled_threads`; the spider opens no database);
a run that lost postings to the database (``store_error``) vouches for none of its threads.
The stored postings cannot tell it: a late comment to one month's thread is posted in the next month.

A thread that fails (``http_404``, ``invalid_json``, ...) is logged and counted (``jobtrend/source_error/<reason>``)
and the others go on; the source ends "partial" (``threads_failed:<failed>/<chosen>``), or "failed" when every
chosen thread or the listing failed.

Budgets: the listing is read for at most ``crawl.max_listing_pages`` pages (``JOBTREND_MAX_LISTING_PAGES``) of
at most ``hits_per_page`` stories each (only a story's id, title and time are kept); a listing that would go on
ends there, the threads found so far are read, and the source ends "partial" (``listing_limit_reached``), so a
search that keeps answering new hits cannot grow the crawl without end. A thread holds at most
``crawl.max_board_postings`` postings: the rest are left out and the thread counts as failed
(``posting_limit_reached``), so it is not recorded as read completely.

HN postings are never closed: a crawl reads a few threads, so a posting it did not see says nothing
(:class:`ThreadsResult` tells the crawl-run extension so).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.extensions.crawl_run import thread_stat
from crawler.items import JobPosting
from crawler.spiders.source import (
    POSTING_LIMIT,
    TOO_DEEP,
    SourceResult,
    SourceSpider,
    capped,
    failure_reason,
    json_list,
)
from jobtrend.config import SourceConfig
from jobtrend.hn_first_line import first_line_of, parse_first_line

THREAD_TITLE_RE = re.compile(r"^Ask HN: Who is hiring\? \((\w+) (\d{4})\)$", re.I)
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
ITEM_PAGE = "https://news.ycombinator.com/item?id={}"
LISTING_LIMIT = "listing_limit_reached"  # the listing had more pages (or hits) than crawl.max_listing_pages allows
HIT_FIELDS = ("objectID", "title", "created_at_i")  # what is kept of a listed story
TITLE_MAX = 200
NO_HEADLINE = "(no headline)"


@dataclass(frozen=True, order=True)
class Thread:
    """One monthly thread: ordered by month, then posting time."""

    month: str  # "YYYY-MM"
    created_at_i: int
    story_id: int
    title: str


@dataclass
class ThreadsResult(SourceResult):
    """A SourceResult whose unseen postings must not be closed: a crawl reads only some of the threads."""

    closes_unseen: bool = False


@dataclass
class Progress:
    """What the crawl of one source has found so far."""

    crawled: dict[int, str]  # story id -> month of the threads read completely by earlier crawls
    hits: dict[str, dict] = field(default_factory=dict)  # listing hits by objectID
    chosen: int = 0
    pending: dict[int, Thread] = field(default_factory=dict)
    failed: list[tuple[Thread, str]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    listing_pages: int = 0
    cut: str | None = None  # why the listing was not read to its end (LISTING_LIMIT)


class HackerNewsSpider(SourceSpider):
    """Crawl the monthly "Who is hiring?" threads of the accounts listed in sources.toml (``kind = "hackernews"``).

    The threads earlier crawls read completely are handed over by the crawl-run extension when the spider opens
    (``reads_crawled_threads``): ``crawled_threads`` maps each source key to them (story id -> month), or to None
    when the database could not be read. A source it holds nothing for (no database) has read none.
    """

    name = "hackernews"
    api_base_setting = "HN_ALGOLIA_API_BASE"
    reads_crawled_threads = True
    hits_per_page = 1000  # Algolia's maximum

    def __init__(self, *args: Any, since: str | None = None,
                 on_thread: Callable[[int, int], None] | None = None, **kwargs: Any):
        """``since``: backfill every thread from this month ("YYYY-MM") on. ``on_thread(done, total)``: called
        when threads are chosen and after each thread is read or fails, over all sources (a progress bar)."""
        super().__init__(*args, **kwargs)
        self.since = since
        self.crawled_threads: dict[str, dict[int, str] | None] = {}  # set by CrawlRunExtension.spider_opened
        self.progress: dict[str, Progress] = {}
        self.on_thread = on_thread or (lambda _done, _total: None)
        self.threads_done = self.threads_total = 0

    def board_url(self, base: str, key: str, before: int | None = None) -> str:
        """The search for the account's stories, newest first; ``before`` slices past Algolia's 1000-hit cap."""
        query: dict[str, Any] = {"tags": f"story,author_{key}", "hitsPerPage": self.hits_per_page}
        if before is not None:
            query["numericFilters"] = f"created_at_i<={before}"
        return f"{base}/api/v1/search_by_date?{urlencode(query, safe=',')}"

    def thread_url(self, base: str, story_id: int) -> str:
        """The whole tree of one thread."""
        return f"{base}/api/v1/items/{story_id}"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            bad = [m for m in (self.since, source.options.get("since")) if m is not None and not MONTH_RE.match(m)]
            if bad:
                self.source_failed(source, "invalid_since")
                self.logger.error("%s: since must be YYYY-MM, got %r", source.label, bad[0])
                continue
            crawled = self.crawled_threads.get(source.key, {})
            if crawled is None:
                self.source_failed(source, "history_unreadable")
                continue
            self.progress[source.key] = Progress(crawled)
            yield self.listing_request(source)

    def listing_request(self, source: SourceConfig, before: int | None = None) -> scrapy.Request:
        return scrapy.Request(self.board_url(self.algolia_base(), source.key, before), callback=self.parse_listing,
                              errback=self.source_request_failed, cb_kwargs={"source": source}, dont_filter=True)

    def algolia_base(self) -> str:
        return self.settings.get(self.api_base_setting, "").rstrip("/")

    # --- the listing ------------------------------------------------------------------------------------------

    def parse_listing(self, response: Response, source: SourceConfig) -> Iterator[scrapy.Request]:
        """Collect the stories of one listing slice; ask for the next slice or read the chosen threads."""
        hits, reason = decode_hits(response.body)
        if reason:
            self.source_failed(source, reason)
            return
        progress = self.progress[source.key]
        progress.listing_pages += 1
        if getattr(hits, "too_deep", 0):
            self.item_error(source, TOO_DEEP, hits.too_deep)
        if len(hits) > self.hits_per_page:  # more than asked for: a page is at most hits_per_page stories
            hits = hits[:self.hits_per_page]
            self.listing_cut(source, progress)
        new = {str(h.get("objectID")): {k: h.get(k) for k in HIT_FIELDS} for h in hits
               if str(h.get("objectID")) not in progress.hits}
        progress.hits.update(new)
        floor = self.floor(source, progress)
        times = [h["created_at_i"] for h in hits if isinstance(h.get("created_at_i"), int)]
        if len(hits) >= self.hits_per_page and new and times and floor and month_of(min(times)) >= floor:
            if progress.listing_pages < self.budget("JOBTREND_MAX_LISTING_PAGES"):
                yield self.listing_request(source, before=min(times))
                return
            self.listing_cut(source, progress)
        yield from self.request_threads(source, progress)

    def listing_cut(self, source: SourceConfig, progress: Progress) -> None:
        """The listing is read no further (its budget): counted once, the source ends partial."""
        if progress.cut is None:
            progress.cut = LISTING_LIMIT
            self.count_source_error(source, LISTING_LIMIT)
            self.logger.warning("%s: listing cut after %d pages (crawl.max_listing_pages): reading the threads "
                                "found so far", source.label, progress.listing_pages)

    def floor(self, source: SourceConfig, progress: Progress) -> str | None:
        """The oldest month this crawl may read: ``since``, the source's option, else the oldest thread read."""
        return self.since or source.options.get("since") or min(progress.crawled.values(), default=None)

    def request_threads(self, source: SourceConfig, progress: Progress) -> Iterator[scrapy.Request]:
        """Pick the threads to read (see the module docstring) and request each one."""
        threads = hiring_threads(progress.hits.values())
        if not threads:
            self.source_failed(source, "no_threads")
            return
        chosen = choose_threads(threads, since=self.since, floor=self.floor(source, progress),
                                crawled=set(progress.crawled))
        progress.chosen, progress.pending = len(chosen), {t.story_id: t for t in chosen}
        self.threads_total += len(chosen)
        self.on_thread(self.threads_done, self.threads_total)
        self.crawler.stats.set_value(f"jobtrend/source/{source.label}/threads_listed", len(threads))
        self.logger.info("%s: %d threads listed, reading %d (%s)", source.label, len(threads), len(chosen),
                         ", ".join(t.month for t in chosen[:6]) + (" ..." if len(chosen) > 6 else ""))
        if not chosen:
            self.finish_source(source)
        for thread in chosen:
            yield scrapy.Request(self.thread_url(self.algolia_base(), thread.story_id), callback=self.parse_thread,
                                 errback=self.thread_failed, cb_kwargs={"source": source, "thread": thread},
                                 dont_filter=True)

    # --- one thread -------------------------------------------------------------------------------------------

    def parse_thread(self, response: Response, source: SourceConfig, thread: Thread) -> Iterator[JobPosting]:
        """Yield a posting per live top-level comment, then record the thread as read."""
        comments, reason = decode_thread(response.body, thread.story_id)
        if reason:
            self.thread_error(source, thread, reason)
            return
        seen: set[str] = set()
        budget = self.budget("JOBTREND_MAX_BOARD_POSTINGS")
        for item in self.parse_jobs(comments if len(comments) <= budget else capped(comments, budget), source, seen):
            item["posted_month"] = thread.month  # a late answer to April's thread is April's
            yield item
        self.progress[source.key].seen |= seen
        if len(comments) > budget:  # the postings read are stored; the thread is not read completely
            self.thread_error(source, thread, POSTING_LIMIT)
            return
        read = thread_stat(thread.month, thread.story_id)  # read completely: later crawls skip it (crawl_run.py)
        self.crawler.stats.set_value(f"jobtrend/source/{source.label}/{read}", len(seen))
        self.logger.info("%s thread %s (%d): %d postings", source.label, thread.month, thread.story_id, len(seen))
        self.thread_done(source, thread)

    def skip_job(self, job: dict, source: SourceConfig) -> bool:
        """Deleted and dead comments (no author, no text) and anything that is not a comment."""
        if job.get("author") and job.get("text") and job.get("type", "comment") == "comment":
            return False
        self.count(source, "deleted")  # jobtrend/hackernews/deleted, and in crawl_runs.stats
        return True

    def parse_job(self, job: dict, source: SourceConfig, external_id: str) -> JobPosting:
        text = comment_html(job["text"])
        line = first_line_of(text)
        parsed = parse_first_line(line)
        return self.new_item(
            source,
            external_id,
            url=ITEM_PAGE.format(external_id),
            title=shorten(parsed.title or headline(line)),
            company=parsed.company,
            location=parsed.location,
            remote=parsed.remote,
            employment_type=parsed.employment_type,
            department=None,
            description_html=text,
            posted_at=job.get("created_at") or job.get("created_at_i"),
            extras={"author": job["author"], "thread_id": job.get("parent_id"), "first_line": line,
                    "urls": parsed.urls, "emails": parsed.emails},
        )

    def thread_failed(self, failure: Failure) -> None:
        """Errback of a thread request: count it and go on with the others."""
        kwargs = failure.request.cb_kwargs
        self.thread_error(kwargs["source"], kwargs["thread"], failure_reason(failure))

    def thread_error(self, source: SourceConfig, thread: Thread, reason: str) -> None:
        self.count_source_error(source, reason)
        self.logger.warning("%s thread %s (%d) failed: %s", source.label, thread.month, thread.story_id, reason)
        self.progress[source.key].failed.append((thread, reason))
        self.thread_done(source, thread)

    def thread_done(self, source: SourceConfig, thread: Thread) -> None:
        progress = self.progress[source.key]
        if progress.pending.pop(thread.story_id, None) is not None:
            self.threads_done += 1
            self.on_thread(self.threads_done, self.threads_total)
        if not progress.pending:
            self.finish_source(source)

    def finish_source(self, source: SourceConfig) -> None:
        """Record the source as ok, partial (some threads failed) or failed (all of them did)."""
        progress = self.progress[source.key]
        failed, chosen = len(progress.failed), progress.chosen
        status = "ok" if not failed else "partial" if failed < chosen else "failed"
        reason = f"threads_failed:{failed}/{chosen}" if failed else None
        if status == "ok" and progress.cut:  # the listing was cut short: threads may be missing
            status, reason = "partial", progress.cut
        self.source_results[source.key] = ThreadsResult(status, reason, progress.seen)


# --- helpers ------------------------------------------------------------------------------------------------------

def decode_hits(body: bytes) -> tuple[list, str | None]:
    """The ``hits`` of an Algolia search response (a :class:`~crawler.spiders.source.JsonList`: how many values
    were nested too deep), or ``invalid_json`` / ``unexpected_shape``."""
    hits, reason = json_list(body, lambda payload: payload.get("hits") if isinstance(payload, dict) else None)
    if not reason:
        hits[:] = [h for h in hits if isinstance(h, dict)]
    return hits, reason


def decode_thread(body: bytes, story_id: int) -> tuple[list, str | None]:
    """The top-level comments (``children``) of an Algolia item tree without their replies (never read), or why
    the body is unusable. Decoded depth-bounded: a comment holding a value nested too deep is skipped
    (``too_deep``), the others are read."""
    comments, reason = json_list(body, lambda story: story.get("children") if isinstance(story, dict) and
                                 story.get("id") == story_id else None)
    if not reason:
        comments[:] = [{k: v for k, v in c.items() if k != "children"} if isinstance(c, dict) else c
                       for c in comments]
    return comments, reason


def hiring_threads(hits) -> list[Thread]:
    """The "Who is hiring?" threads among the listed stories, one per story id."""
    threads = {}
    for hit in hits:
        match = THREAD_TITLE_RE.match(str(hit.get("title") or "").strip())
        month = MONTHS.get(match.group(1).lower()) if match else None
        if month is None or not str(hit.get("objectID", "")).isdigit():
            continue
        story_id = int(hit["objectID"])
        created = hit.get("created_at_i") if isinstance(hit.get("created_at_i"), int) else 0
        threads[story_id] = Thread(f"{match.group(2)}-{month:02d}", created, story_id, hit["title"].strip())
    return sorted(threads.values())


LATE_COMMENT_DAYS = 7  # the thread before the newest is read again while the newest is younger than this


def choose_threads(threads: list[Thread], *, since: str | None, floor: str | None, crawled: set[int],
                   now: float | None = None) -> list[Thread]:
    """Newest first: with ``since`` every thread from that month on; otherwise the newest thread (and the one
    before it while the newest is under ``LATE_COMMENT_DAYS`` old at ``now``, a Unix time) plus those from
    ``floor`` on that are not in ``crawled``."""
    if since:
        return sorted((t for t in threads if t.month >= since), reverse=True)
    chosen = {threads[-1]}
    now = time.time() if now is None else now
    if len(threads) > 1 and now - threads[-1].created_at_i < LATE_COMMENT_DAYS * 86400:
        chosen.add(threads[-2])
    if floor:
        chosen |= {t for t in threads if t.month >= floor and t.story_id not in crawled}
    return sorted(chosen, reverse=True)


def comment_html(text: str) -> str:
    """The comment's HTML; Algolia's copies of early (2011) comments hold line breaks as a literal backslash-n,
    which would glue words together ("positions:\\nhttp"): they become line breaks again."""
    return text.replace("\\n", "\n")


def month_of(timestamp: int) -> str:
    """"YYYY-MM" of a Unix time, in UTC."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m")


def headline(line: str) -> str:
    """The title of a post whose first line names no role: that line itself (the poster's own headline),
    without links unless it is only a link."""
    return " ".join(re.sub(r"https?://\S+", "", line).split()).strip(" |-") or line.strip() or NO_HEADLINE


def shorten(title: str) -> str:
    """The title cut to 200 characters (several roles, or a first line that runs on)."""
    return title if len(title) <= TITLE_MAX else title[:TITLE_MAX - 1].rstrip() + "…"
