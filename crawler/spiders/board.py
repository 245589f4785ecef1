"""Shared base for job boards that return the board as JSON: one GET per board (Ashby, Greenhouse) or per page (Lever).

A subclass sets ``name`` (the source kind), ``api_base_setting`` and two hooks: :meth:`BoardSpider.board_url`
and :meth:`~crawler.spiders.source.SourceSpider.parse_job`. The base fetches each board once, decodes the JSON,
yields one :class:`~crawler.items.JobPosting` per job and records a
:class:`~crawler.spiders.source.SourceResult` per board in ``spider.source_results``; the crawl-run extension
reads those results to decide whether postings may be closed. Which boards, and the bookkeeping (results, stats,
the per-job loop), come from :class:`~crawler.spiders.source.SourceSpider`.
A paginated board also overrides :meth:`BoardSpider.decode` and :meth:`BoardSpider.next_page_url`: its pages are
fetched one after the other, and it is "ok" only once its last page has been read (the ids of all its pages are
its seen set); a page that fails fails the whole board.

Every board has a budget: at most ``crawl.max_board_pages`` pages (``JOBTREND_MAX_BOARD_PAGES``) and
``crawl.max_board_postings`` postings (``JOBTREND_MAX_BOARD_POSTINGS``, counted over its pages). A board that
reaches one ends "partial" (``page_limit_reached``, ``posting_limit_reached``): the postings read are stored,
none is closed, and no further page is asked for, so a server that always answers a full page of new ids (or
one page of millions of jobs) cannot fill the database. Payloads are decoded by
:func:`~crawler.spiders.source.decode_json` (depth-bounded: a job nested too deep is skipped, ``too_deep``).

Nothing is raised out of a callback: a failed board is logged, counted in stats
(``jobtrend/source_error/<reason>``) and recorded as failed; a bad job inside a good board is counted
(``jobtrend/item_error/<reason>``) and skipped.

robots.txt is obeyed for every board request, also when they go out together: see
``crawler/middlewares/robotstxt.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.items import JobPosting
from crawler.spiders.source import PAGE_LIMIT, POSTING_LIMIT, SourceResult, SourceSpider, capped, json_list
from jobtrend.config import SourceConfig


class BoardSpider(SourceSpider):
    """Fetch each configured board once and turn every job in its JSON payload into a JobPosting."""

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            yield self.board_request(self.board_url(self.api_base(source), source.key), source)

    def board_request(self, url: str, source: SourceConfig, seen: set[str] | None = None) -> scrapy.Request:
        """A request for one page of ``source``; ``seen`` carries the ids of its earlier pages."""
        cb_kwargs = {"source": source} if seen is None else {"source": source, "seen": seen}
        return scrapy.Request(url, callback=self.parse_board, errback=self.board_failed, cb_kwargs=cb_kwargs,
                              dont_filter=True)

    # --- hooks for subclasses (and SourceSpider's parse_job and skip_job) ---------------------------------------

    def api_base(self, source: SourceConfig) -> str:
        """The API base URL for ``source``: the ``api_base_setting`` setting, without a trailing slash."""
        return self.settings.get(self.api_base_setting, "").rstrip("/")

    def board_url(self, base: str, key: str) -> str:
        """The URL that returns the whole board ``key`` (its first page, when it is paginated)."""
        raise NotImplementedError

    def decode(self, body: bytes) -> tuple[list, str | None]:
        """The jobs of one response, or an empty list and why they could not be read."""
        return decode_board(body)

    def next_page_url(self, response: Response, jobs: list) -> str | None:
        """The URL of the page after ``response``, or None when it was the board's last (or only) page."""
        return None

    # --- callbacks ------------------------------------------------------------------------------------------

    def parse_board(self, response: Response, source: SourceConfig,
                    seen: set[str] | None = None) -> Iterator[JobPosting | scrapy.Request]:
        """Decode one page of the board, yield its jobs, then request the next page or record the board as ok
        (or failed, with why). A full page that adds no new id means the server ignores the paging: failed.
        A board over its budget of pages or postings ends partial (see the module docstring)."""
        jobs, reason = self.decode(response.body)
        if reason:
            self.source_failed(source, reason)
            return
        seen = set() if seen is None else seen
        known = len(seen)
        self.count(source, "pages")
        room = self.budget("JOBTREND_MAX_BOARD_POSTINGS") - known
        yield from self.parse_jobs(jobs if len(jobs) <= room else capped(jobs, room), source, seen)
        if len(jobs) > room:
            self.source_partial(source, POSTING_LIMIT, seen)
            return
        next_url = self.next_page_url(response, jobs)
        if next_url is None:
            self.source_results[source.key] = SourceResult("ok", None, seen)
            self.logger.info("%s board %r: %d postings", self.name, source.key, len(seen))
        elif len(seen) == known:
            self.source_failed(source, "pagination_stalled")
        elif self.source_stat(source, "pages") >= self.budget("JOBTREND_MAX_BOARD_PAGES"):
            self.source_partial(source, PAGE_LIMIT, seen)
        else:
            yield self.board_request(next_url, source, seen)

    def board_failed(self, failure: Failure) -> list[scrapy.Request] | None:
        """Errback of a board page: record the board as failed (:meth:`SourceSpider.source_request_failed`). A
        subclass may instead return requests that try the board elsewhere (Lever's EU host)."""
        self.source_request_failed(failure)
        return None


def decode_board(body: bytes) -> tuple[list, str | None]:
    """The board's ``jobs`` list, or an empty list and ``invalid_json`` / ``unexpected_shape`` (``too_deep`` when
    the jobs list itself was nested too deep to be read)."""
    return json_list(body, lambda payload: payload.get("jobs") if isinstance(payload, dict) else None)
