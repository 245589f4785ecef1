"""Shared base for career sites that publish schema.org ``JobPosting``s in their pages (JSON-LD or microdata).

A subclass sets ``name`` (the source kind) and may override two hooks: :meth:`StructuredDataSpider.wanted_link`
(which links or sitemap URLs are job pages) and :meth:`StructuredDataSpider.post_process_item`. Each source's
key is a career page URL, or with the option ``sitemap = true`` a sitemap URL. The spider fetches the key,
yields every JobPosting on it (``crawler.linked_data``), then fetches the job pages it points to:

- from a career page: the links :meth:`wanted_link` accepts; a fetched page without a JobPosting is read as a
  sub-listing (a department page) and its links are followed too, up to ``max_depth`` (2) links from the key;
- from a sitemap: its ``<loc>`` URLs that :meth:`wanted_link` accepts (a sitemap index: its sitemaps, once);
- at most ``max_pages`` pages per source besides the key (option, default 200, at most 10,000), each URL once.

``follow`` is compiled by RE2 (:mod:`jobtrend.patterns`), which matches in time linear in the link whatever the
pattern: ``(a+)+b`` over a long link of ``a`` is no longer a hang. A pattern RE2 refuses is refused when the
configuration loads (``invalid_option:follow`` for one given otherwise). A redirect leaves the page's host only
for the key's host or a URL ``follow`` matches (:meth:`StructuredDataSpider.allows_redirect`).

A source is "ok" only when its key and every page the spider decided to fetch were read, so the crawl-run
extension may close the postings it did not see. A key that cannot be read fails the source (``http_404``,
``robots_txt_forbidden``, ``download_error:<Exception>``, ``invalid_sitemap``, ``not_html``, as for boards). A
job page (or a sitemap of an index) that cannot be read makes it "partial" with the first such reason
(``job_page:http_404``, ``sitemap:http_500``), each counted as ``source_error/<reason>``; so does reaching
``max_pages`` (``page_limit_reached``). Neither closes anything; the postings that were read are still stored.
A page whose postings could not all be read is such a page too, never one without postings: a JSON-LD block
naming ``JobPosting`` that cannot be read (``jsonld_unreadable``), or markup the parser gave up on for its size
(``too_large``); see :mod:`crawler.linked_data`.
Links forbidden by robots.txt are skipped and counted (``robots_txt_forbidden_link``), not failures.

A posting found on a page holding several postings (a listing) is held back until the source is done, and
dropped when the posting's own page also had it: the job page's fuller copy wins, whatever the order.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from crawler.items import JobPosting
from crawler.linked_data import extract_job_postings
from crawler.spiders.source import TOO_LARGE, SourceResult, SourceSpider, failure_reason, fit_id, is_too_large
from crawler.urls import bare_host
from jobtrend.config import SourceConfig
from jobtrend.config.sources import MAX_SITE_PAGES
from jobtrend.patterns import compile_pattern

FILE_SUFFIX = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|zip|gz|png|jpe?g|gif|svg|webp|ico|css|js|mp[34]|mov|xml)$", re.I)
JOB_PATH = re.compile(r"/(?:jobs?|careers?|positions?|openings?|vacanc(?:y|ies)|roles?|postings?)/[^/]", re.I)
SKIPPED_HREFS = ("#", "mailto:", "tel:", "javascript:", "data:")


@dataclass(frozen=True)
class Page:
    """A page a source's crawl decided to fetch: "listing" (the key), "sitemap", or "page" (maybe a job)."""

    url: str
    kind: str
    depth: int


@dataclass
class SiteCrawl:
    """The state of one source's crawl: pages in flight, ids seen, postings held back, the first failure."""

    source: SourceConfig
    follow: Any  # the ``follow`` option compiled by RE2 (jobtrend.patterns), or None
    max_pages: int
    pending: int = 0
    fetched: int = 0
    requested: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)
    held: dict[str, JobPosting] = field(default_factory=dict)
    status: str = "ok"  # "failed" when the key could not be read, "partial" when a page or the page limit failed
    failure: str | None = None

    @property
    def sitemap(self) -> bool:
        return bool(self.source.options.get("sitemap"))

    @property
    def host(self) -> str:
        return bare_host(self.source.key)

    @property
    def key_dir(self) -> str:
        """The key's path without a trailing slash or a file name (``/careers/index.html`` -> ``/careers``)."""
        path = urlsplit(self.source.key).path.rstrip("/")
        last = path.rsplit("/", 1)[-1]
        return path.rsplit("/", 1)[0] if "." in last else path


class StructuredDataSpider(SourceSpider):
    """Fetch each configured career page or sitemap, and the job pages it leads to; yield their JobPostings."""

    api_base_settings: ClassVar[tuple[str, ...]] = ()  # no API: replayed crawls map hosts (ReplayHostsMiddleware)
    source_noun: ClassVar[str] = "site"
    default_max_pages: ClassVar[int] = 200
    max_depth: ClassVar[int] = 2

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sites: dict[str, SiteCrawl] = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            site = self.open_site(source)
            if site is not None:
                yield self.page_request(site, source.key, "sitemap" if site.sitemap else "listing", 0)

    # --- hooks for subclasses -------------------------------------------------------------------------------

    def wanted_link(self, url: str, site: SiteCrawl, page: Page) -> bool:
        """Whether ``url``, linked from ``page`` or listed in a sitemap, may be a job page worth fetching.

        With the source option ``follow`` (a regular expression): the URLs it matches, on any host. Otherwise
        http(s) URLs on the key's host (``www.`` ignored) that are not files and, from a career page, lie below
        the key's path (``/careers`` -> ``/careers/ml-engineer``, not ``/careers/?page=2``) or below a job-like
        path segment (``/jobs/42``, ``/careers/...``, ``/positions/...``); every such URL of a sitemap.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or FILE_SUFFIX.search(parts.path):
            return False
        if site.follow is not None:
            return bool(site.follow.search(url))
        if bare_host(url) != site.host:
            return False
        if page.kind == "sitemap":
            return True
        below_key = parts.path.startswith(site.key_dir + "/") and parts.path.rstrip("/") != site.key_dir
        return below_key or bool(JOB_PATH.search(parts.path))

    def allows_redirect(self, request: scrapy.Request, url: str) -> bool:
        """A career site's request may be redirected to its key's host (``www.`` ignored), or to a URL its
        ``follow`` pattern matches (a URL it would have fetched as a link); other hosts are refused
        (``crawler/middlewares/redirect_guard.py``)."""
        site = self.sites.get(request.cb_kwargs.get("key"))
        if site is None or urlsplit(url).scheme not in ("http", "https"):
            return False
        return bare_host(url) == site.host or (site.follow is not None and bool(site.follow.search(url)))

    def post_process_item(self, item: JobPosting, response: Response, fields: dict) -> Iterable[JobPosting]:
        """Adjust or drop one posting before it is yielded (``fields`` are what the page said)."""
        yield item

    # --- requests -------------------------------------------------------------------------------------------

    def open_site(self, source: SourceConfig) -> SiteCrawl | None:
        """The crawl state of ``source``, or None (the source recorded as failed) when its config is unusable."""
        if urlsplit(source.key).scheme not in ("http", "https"):
            return self.source_failed(source, "invalid_key")
        try:  # RE2: linear in the link whatever the pattern, so no link a site serves can hang the crawl
            follow = compile_pattern(source.options["follow"]) if source.options.get("follow") else None
        except (ValueError, TypeError):
            return self.source_failed(source, "invalid_option:follow")
        max_pages = source.options.get("max_pages", self.default_max_pages)
        if not isinstance(max_pages, int) or isinstance(max_pages, bool) or not 1 <= max_pages <= MAX_SITE_PAGES:
            return self.source_failed(source, "invalid_option:max_pages")
        site = self.sites[source.key] = SiteCrawl(source, follow, max_pages)
        return site

    def page_request(self, site: SiteCrawl, url: str, kind: str, depth: int) -> scrapy.Request:
        """The request for one page of ``site``, counted as in flight until its callback or errback ends."""
        request = scrapy.Request(url, callback=self.parse_page, errback=self.page_failed, dont_filter=True,
                                 cb_kwargs={"key": site.source.key, "page": Page(url, kind, depth)})
        site.requested.add(canonicalize_url(url))
        site.pending += 1
        if depth > 0:
            site.fetched += 1
        return request

    def follow_urls(self, site: SiteCrawl, page: Page, urls: Iterable[str], kind: str) -> Iterator[scrapy.Request]:
        """Requests for the wanted ``urls`` (any http(s) URL for the sitemaps of an index) not yet requested,
        within the source's page limit."""
        for url in urls:
            try:
                url = urldefrag(url.strip())[0]
                wanted = url.startswith(("http://", "https://")) if kind == "sitemap" else \
                    self.wanted_link(url, site, page)
                if not wanted or canonicalize_url(url) in site.requested:
                    continue
                if site.fetched >= site.max_pages:
                    self.count(site.source, "over_page_limit")
                    if not self.source_stat(site.source, "source_error/page_limit_reached"):
                        self.incomplete(site, "page_limit_reached")
                    continue
                request = self.page_request(site, url, kind, page.depth + 1)
            except ValueError:  # a malformed URL (``http://[x``) is no link to follow
                self.count(site.source, "invalid_link")
                continue
            yield request

    # --- callbacks ------------------------------------------------------------------------------------------

    def parse_page(self, response: Response, key: str, page: Page) -> Iterator[JobPosting | scrapy.Request]:
        """Read one page of the source ``key``; when it was the last one in flight, finish the source."""
        site = self.sites[key]
        try:
            if page.kind == "sitemap":
                yield from self.parse_sitemap(response, site, page)
            else:
                yield from self.parse_html(response, site, page)
        except Exception as exc:  # one unreadable page must not stall the source
            self.logger.warning("%s page %s unreadable: %r", self.name, response.url, exc)
            self.page_error(site, page, f"unreadable:{type(exc).__name__}")
        yield from self.page_done(site)

    def parse_html(self, response: Response, site: SiteCrawl, page: Page) -> Iterator[JobPosting | scrapy.Request]:
        """Yield the page's postings, then follow its links when it is a listing (or a page without any)."""
        if not isinstance(response, TextResponse):
            if page.depth == 0:
                self.page_error(site, page, "not_html")
            else:
                self.count(site.source, "not_html")
            return
        data = extract_job_postings(response.text, response.url, company=site.source.company)
        self.count(site.source, "pages")
        for error in data.errors:
            self.logger.warning("%s page %s: %s", self.name, response.url, error)
            self.count(site.source, "item_error/invalid_json_ld")
        if data.unreadable:  # it may have held postings: not a page without any, and the source is not complete
            self.page_error(site, page, data.unreadable)
        for fields in data.postings:
            yield from self.keep(site, response, fields, held=len(data.postings) > 1)
        if not data.postings:
            self.count(site.source, "pages_without_posting")
        follows = page.kind == "listing" or (not data.postings and not site.sitemap)
        if follows and page.depth < self.max_depth:
            yield from self.follow_urls(site, page, links(response), "page")

    def parse_sitemap(self, response: Response, site: SiteCrawl, page: Page) -> Iterator[scrapy.Request]:
        """Request the job pages a sitemap lists, or the sitemaps a sitemap index lists."""
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except Exception as exc:
                if not is_too_large(exc):  # a corrupt gzip stream is an unreadable page (parse_page)
                    raise
                self.page_error(site, page, TOO_LARGE)  # a gzip bomb
                return
        try:
            sitemap = Sitemap(body)
            entries = [entry["loc"] for entry in sitemap if entry.get("loc")]
        except Exception:  # lxml's XMLSyntaxError, or nothing at all to parse
            sitemap, entries = None, []
        if sitemap is None or sitemap.type not in ("urlset", "sitemapindex"):
            self.page_error(site, page, "invalid_sitemap")
            return
        self.count(site.source, "sitemap_urls", len(entries))
        if sitemap.type == "urlset":
            yield from self.follow_urls(site, page, entries, "page")
        elif page.depth < self.max_depth:
            yield from self.follow_urls(site, page, entries, "sitemap")

    def page_failed(self, failure: Failure) -> Iterator[JobPosting]:
        """Errback: a failed key fails the source with its reason, a failed job page makes it partial
        (``job_page:<reason>``); a link forbidden by robots.txt is only counted."""
        key, page = failure.request.cb_kwargs["key"], failure.request.cb_kwargs["page"]
        site = self.sites[key]
        reason = failure_reason(failure)
        if page.depth > 0 and reason == "robots_txt_forbidden":
            self.count(site.source, "robots_txt_forbidden_link")
            site.fetched -= 1  # never fetched: not a page against max_pages
        else:
            self.page_error(site, page, reason)
        yield from self.page_done(site)

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def keep(self, site: SiteCrawl, response: Response, fields: dict, held: bool) -> Iterator[JobPosting]:
        """Yield a posting from its own page at once; hold one from a listing until the source is done.
        A posting the hook drops is not seen (so a stored copy is closed by a complete crawl)."""
        item = JobPosting(source_kind=self.name, source_key=site.source.key, **fields)
        for processed in self.post_process_item(item, response, fields):
            external_id = processed["external_id"] = fit_id(processed["external_id"])
            site.seen.add(external_id)
            if external_id in site.emitted:
                self.count(site.source, "duplicate_posting")
            elif held:
                site.held.setdefault(external_id, processed)
            else:
                site.emitted.add(external_id)
                yield processed

    def page_done(self, site: SiteCrawl) -> Iterator[JobPosting]:
        """One page fewer in flight; after the last one, yield the held postings and record the result."""
        site.pending -= 1
        if site.pending > 0:
            return
        for external_id, item in site.held.items():
            if external_id not in site.emitted:
                site.emitted.add(external_id)
                yield item
        site.held.clear()
        source = site.source
        if site.status == "failed":
            self.source_failed(source, site.failure, site.seen)
            return
        self.source_results[source.key] = SourceResult(site.status, site.failure, site.seen)
        log = self.logger.info if site.status == "ok" else self.logger.warning
        log("%s site %r: %s%s, %d postings on %d pages", self.name, source.key, site.status,
            f" ({site.failure})" if site.failure else "", len(site.seen), site.fetched + 1)

    def page_error(self, site: SiteCrawl, page: Page, reason: str) -> None:
        """A page that could not be read: the key fails the source, any other page makes it partial."""
        self.logger.warning("%s site %r: page %s failed: %s", self.name, site.source.key, page.url, reason)
        if page.depth == 0:
            site.status, site.failure = "failed", reason  # counted once the source is finished
        else:
            self.incomplete(site, f"{'sitemap' if page.kind == 'sitemap' else 'job_page'}:{reason}")

    def incomplete(self, site: SiteCrawl, reason: str) -> None:
        """Count one reason the source cannot be complete; the first one is the reason of its partial end."""
        self.count_source_error(site.source, reason)
        if site.status == "ok":
            site.status, site.failure = "partial", reason


def links(response: TextResponse) -> Iterator[str]:
    """The absolute URLs of the page's ``<a href>`` links, without mail and script links (a malformed one as it
    is: :meth:`StructuredDataSpider.follow_urls` counts it)."""
    for href in response.xpath("//a/@href").getall():
        href = href.strip()
        if href and not href.lower().startswith(SKIPPED_HREFS):
            try:
                yield response.urljoin(href)
            except ValueError:
                yield href
