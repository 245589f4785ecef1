"""Shared base for job boards that return the board as JSON: one GET per board (Ashby, Greenhouse) or per page (Lever).

A subclass sets ``name`` (the source kind), ``api_base_setting`` and two hooks: :meth:`BoardSpider.board_url`
and :meth:`BoardSpider.parse_job`. The base fetches each board once, decodes the JSON, yields one
:class:`~crawler.items.JobPosting` per job and records a :class:`SourceResult` per board in
``spider.source_results``; the crawl-run extension reads those results to decide whether postings may be closed.
A paginated board also overrides :meth:`BoardSpider.decode` and :meth:`BoardSpider.next_page_url`: its pages are
fetched one after the other, and it is "ok" only once its last page has been read (the ids of all its pages are
its seen set); a page that fails fails the whole board.

Nothing is raised out of a callback: a failed board is logged, counted in stats
(``jobtrend/source_error/<reason>``) and recorded as failed; a bad job inside a good board is counted
(``jobtrend/item_error/<reason>``) and skipped.

robots.txt is obeyed for every board request, also when they go out together: see
``crawler/middlewares/robotstxt.py``.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from bisect import bisect_left
from collections.abc import AsyncIterator, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extensions.response_size import TOO_LARGE_META
from crawler.items import JobPosting
from crawler.middlewares.crawl_delay import CrawlDelayTooLong
from jobtrend.config import SourceConfig, load_config
from jobtrend.models import Posting

EXTERNAL_ID_MAX = Posting.__table__.c.external_id.type.length  # 200


class SeenIds(AbstractSet):
    """The external ids a finished board listed, kept as sorted 64-bit hashes: 8 bytes an id where a set of
    strings takes about 100, and a crawl keeps every board's ids until it ends and closes the postings no board
    listed (100,000 ids: 0.8 MB instead of ~13 MiB of objects; benchmarks/RESULTS.md, "Memory"). Membership,
    ``len`` and comparison with a set of ids work as for the set, by the ids' hashes (``hash()``: this process
    only, never stored). A collision, about 1 in 10^13 for a board of 1,000 ids, could only keep an unlisted
    posting open, never close a listed one. Iterating gives the hashes."""

    __slots__ = ("_hashes",)

    def __init__(self, ids: Iterable[str] = ()):
        self._hashes = array("q", sorted({hash(external_id) for external_id in ids}))

    def __contains__(self, external_id: object) -> bool:
        try:
            wanted = hash(external_id)
        except TypeError:
            return False
        at = bisect_left(self._hashes, wanted)
        return at < len(self._hashes) and self._hashes[at] == wanted

    def __len__(self) -> int:
        return len(self._hashes)

    def __iter__(self) -> Iterator[int]:
        return iter(self._hashes)

    def _as_hashes(self, other: object) -> array | None:
        if isinstance(other, SeenIds):
            return other._hashes
        if isinstance(other, AbstractSet):
            return SeenIds(other)._hashes
        return None

    def __eq__(self, other: object) -> bool:
        hashes = self._as_hashes(other)
        return NotImplemented if hashes is None else self._hashes == hashes

    def __le__(self, other: object) -> bool:
        hashes = self._as_hashes(other)
        return NotImplemented if hashes is None else set(self._hashes) <= set(hashes)

    def __ge__(self, other: object) -> bool:
        hashes = self._as_hashes(other)
        return NotImplemented if hashes is None else set(self._hashes) >= set(hashes)

    __hash__ = None  # equal to sets of the same ids, so unhashable as a set is

    def __repr__(self) -> str:
        return f"SeenIds({len(self)} ids)"


@dataclass
class SourceResult:
    """How the crawl of one board ended: ``status`` "ok" or "failed", why, and the external ids it listed (kept
    as :class:`SeenIds` whatever set they are given as)."""

    status: str
    reason: str | None = None
    seen_ids: AbstractSet[str] = field(default_factory=SeenIds)

    def __post_init__(self) -> None:
        if not isinstance(self.seen_ids, SeenIds):
            self.seen_ids = SeenIds(self.seen_ids)


class BoardSpider(scrapy.Spider):
    """Fetch each configured board once and turn every job in its JSON payload into a JobPosting."""

    api_base_setting: ClassVar[str] = ""

    def __init__(self, *args: Any, boards: str | Iterable[str] | None = None,
                 sources: Iterable[SourceConfig] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sources: list[SourceConfig] = resolve_sources(self.name, boards, sources)
        self.source_results: dict[str, SourceResult] = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            yield self.board_request(self.board_url(self.api_base(source), source.key), source)

    def board_request(self, url: str, source: SourceConfig, seen: set[str] | None = None) -> scrapy.Request:
        """A request for one page of ``source``; ``seen`` carries the ids of its earlier pages."""
        cb_kwargs = {"source": source} if seen is None else {"source": source, "seen": seen}
        return scrapy.Request(url, callback=self.parse_board, errback=self.board_failed, cb_kwargs=cb_kwargs,
                              dont_filter=True)

    # --- hooks for subclasses -------------------------------------------------------------------------------

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

    def parse_job(self, job: dict, source: SourceConfig, external_id: str) -> JobPosting:
        """One JobPosting from one job of the payload."""
        raise NotImplementedError

    def skip_job(self, job: dict, source: SourceConfig) -> bool:
        """True for jobs the board lists but that are not open postings (counted by the subclass)."""
        return False

    # --- callbacks ------------------------------------------------------------------------------------------

    def parse_board(self, response: Response, source: SourceConfig,
                    seen: set[str] | None = None) -> Iterator[JobPosting | scrapy.Request]:
        """Decode one page of the board, yield its jobs, then request the next page or record the board as ok
        (or failed, with why). A full page that adds no new id means the server ignores the paging: failed."""
        jobs, reason = self.decode(response.body)
        if reason:
            self.source_failed(source, reason)
            return
        seen = set() if seen is None else seen
        known = len(seen)
        yield from self.parse_jobs(jobs, source, seen)
        next_url = self.next_page_url(response, jobs)
        if next_url is None:
            self.source_results[source.key] = SourceResult("ok", None, seen)
            self.logger.info("%s board %r: %d postings", self.name, source.key, len(seen))
        elif len(seen) == known:
            self.source_failed(source, "pagination_stalled")
        else:
            yield self.board_request(next_url, source, seen)

    def parse_jobs(self, jobs: list, source: SourceConfig, seen: set[str]) -> Iterator[JobPosting]:
        """Yield one item per usable job, adding every listed job's id to ``seen``; skip and count bad ones."""
        for job in jobs:
            if not isinstance(job, dict):
                self.item_error(source, "not_a_dict")
                continue
            external_id = job_id(job)
            if external_id is None:
                self.item_error(source, "missing_id")
                continue
            if self.skip_job(job, source):
                continue
            seen.add(external_id)
            try:
                yield self.parse_job(job, source, external_id)
            except Exception as exc:  # one odd job must not lose the board
                self.logger.warning("%s board %r job %s unreadable: %r", self.name, source.key, external_id, exc)
                self.item_error(source, f"unreadable:{type(exc).__name__}")

    def board_failed(self, failure: Failure) -> None:
        """Errback: record the board as failed with ``http_<status>``, ``robots_txt_forbidden``,
        ``crawl_delay_too_long``, ``too_large`` or ``download_error:<Exception>``."""
        self.source_failed(failure.request.cb_kwargs["source"], failure_reason(failure))

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def new_item(self, source: SourceConfig, external_id: str, **fields: Any) -> JobPosting:
        """A JobPosting of this spider's kind for ``source``, with ``fields`` filled in."""
        return JobPosting(source_kind=self.name, source_key=source.key, external_id=external_id, **fields)

    def source_failed(self, source: SourceConfig, reason: str) -> None:
        """Record, count and log a board that could not be read."""
        self.source_results[source.key] = SourceResult("failed", reason)
        self.crawler.stats.inc_value(f"jobtrend/source_error/{reason}")
        self.crawler.stats.inc_value(f"jobtrend/source/{source.label}/source_error/{reason}")
        self.logger.warning("%s board %r failed: %s", self.name, source.key, reason)

    def item_error(self, source: SourceConfig, reason: str) -> None:
        """Count a job skipped inside an otherwise good board."""
        self.crawler.stats.inc_value(f"jobtrend/item_error/{reason}")
        self.crawler.stats.inc_value(f"jobtrend/source/{source.label}/item_error/{reason}")


def failure_reason(failure: Failure) -> str:
    """The short reason a board request failed, as recorded in crawl_runs.error."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(CrawlDelayTooLong):
        return CRAWL_DELAY_TOO_LONG
    if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
        return "robots_txt_forbidden"
    request = getattr(failure, "request", None)  # set by Scrapy on a download failure
    if is_too_large(failure.value) or (request is not None and request.meta.get(TOO_LARGE_META)):
        return TOO_LARGE
    return f"download_error:{failure.type.__name__}"


TOO_LARGE = "too_large"  # a body over crawl.download_maxsize, as sent or once decompressed
CRAWL_DELAY_TOO_LONG = "crawl_delay_too_long"  # robots.txt asks for more than CRAWL_DELAY_MAX between requests


def is_too_large(exc: BaseException) -> bool:
    """Whether Scrapy refused a response for its size: a Content-Length or a streamed body over
    DOWNLOAD_MAXSIZE (DownloadCancelledError, "... larger than download max size ..."), or a body growing
    past it while decompressed (IgnoreRequest from HttpCompressionMiddleware, "exceeded DOWNLOAD_MAXSIZE")."""
    message = str(exc)
    return "download max size" in message or "DOWNLOAD_MAXSIZE" in message or (
        type(exc).__name__ == "_DecompressionMaxSizeExceeded")


def decode_board(body: bytes) -> tuple[list, str | None]:
    """The board's ``jobs`` list, or an empty list and ``invalid_json`` / ``unexpected_shape``."""
    try:
        payload = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return [], "invalid_json"
    if not isinstance(payload, dict) or not isinstance(payload.get("jobs"), list):
        return [], "unexpected_shape"
    return payload["jobs"], None


def job_id(job: dict) -> str | None:
    """The job's own id as a string, or None when it has none."""
    value = job.get("id")
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return fit_id(text) if text else None


def fit_id(external_id: str) -> str:
    """``external_id`` as stored: an id longer than the column (a long job-page URL used as id) keeps its start
    and ends with a hash of the whole, so that the stored id and the id the crawl saw stay the same string (a
    cut-off id would never be seen again, and every complete crawl would close its posting)."""
    if len(external_id) <= EXTERNAL_ID_MAX:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{external_id[:EXTERNAL_ID_MAX - 41]}~{digest}"


def resolve_sources(kind: str, boards: str | Iterable[str] | None,
                    sources: Iterable[SourceConfig] | None) -> list[SourceConfig]:
    """The boards to crawl: ``sources`` as given, else the ``boards`` keys, else every enabled configured one.

    ``boards`` may be a comma-separated string (``-a boards=a,b``); keys not in sources.toml are crawled too.
    """
    if sources is not None:
        return [s for s in sources if s.kind == kind]
    configured = {s.key: s for s in load_config().sources_of(kind, enabled_only=False)}
    if boards is None:
        return [s for s in configured.values() if s.enabled]
    keys = boards.split(",") if isinstance(boards, str) else list(boards)
    keys = list(dict.fromkeys(k.strip() for k in keys if k.strip()))
    return [configured.get(k) or SourceConfig(kind=kind, key=k) for k in keys]
