"""The bookkeeping every jobtrend spider shares: which sources it crawls, how each one ended, and its stats.

:class:`SourceSpider` is the base of :class:`~crawler.spiders.board.BoardSpider` (Ashby, Greenhouse, Lever),
:class:`~crawler.spiders.hackernews.HackerNewsSpider` and
:class:`~crawler.spiders.structured_data.StructuredDataSpider` (career sites). It gives them:

- ``spider.sources``: the sources to crawl, from the ``sources`` spider argument (what :func:`crawler.run.run_crawl`
  passes), else from the crawler's ``JOBTREND_SOURCES`` setting (every configured source, put there by
  :func:`crawler.run.crawl_settings`), narrowed to the keys of the ``boards`` argument (``scrapy crawl ashby -a
  boards=cohere``) or to the enabled ones. A spider never reads the configuration files itself;
- ``spider.source_results``: a :class:`SourceResult` per source, which the crawl-run extension
  (``crawler/extensions/crawl_run.py``) turns into the source's ``crawl_runs`` row and uses to decide whether its
  unseen postings may be closed. Setting a source's result (its last page read, or its failure) sends
  :data:`source_finished` on the crawler's signals at once, so its line is printed then
  (``crawler/extensions/source_lines.py``), not when the spider closes after every other source of its kind;
- the counters: :meth:`SourceSpider.source_failed` (``jobtrend/source_error/<reason>``),
  :meth:`SourceSpider.item_error` (``jobtrend/item_error/<reason>``), :meth:`SourceSpider.count`
  (``jobtrend/<kind>/<name>``), each also per source (``jobtrend/source/<kind>:<key>/...``, which becomes
  ``crawl_runs.stats``);
- :meth:`SourceSpider.parse_jobs`, for sources whose payload is a JSON list of jobs (a board, a Hacker News
  thread): one :class:`~crawler.items.JobPosting` per usable job through the hooks :meth:`SourceSpider.skip_job`
  and :meth:`SourceSpider.parse_job`, a bad job skipped and counted;
- :func:`decode_json` (and :func:`json_list`, the list a payload holds), the one JSON decoder of the spiders'
  payloads: depth-bounded, so a document nested a thousand levels deep neither raises ``RecursionError`` out of
  a callback nor reaches the pipelines; a value nested deeper than ``MAX_JSON_DEPTH`` is cut out, and the job
  holding it skipped and counted (``too_deep``);
- the budgets of one source (``crawl.max_board_pages``, ``crawl.max_board_postings``): a source that reaches one
  ends "partial" (:meth:`SourceSpider.source_partial`), so nothing of it is closed;
- :meth:`SourceSpider.allows_redirect`: the hosts besides its own a request may be redirected to
  (``crawler/middlewares/redirect_guard.py`` refuses the others).

Nothing is raised out of a callback: a failed source is logged, counted and recorded as failed.
"""

from __future__ import annotations

import hashlib
import json
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.extensions.response_size import TOO_LARGE_META
from crawler.items import JobPosting
from crawler.middlewares.address_guard import PrivateAddressRefused
from crawler.middlewares.crawl_delay import CrawlDelayTooLong
from crawler.middlewares.redirect_guard import REDIRECT_OFF_HOST, RedirectOffHost
from jobtrend.addresses import PRIVATE_ADDRESS
from jobtrend.config import CrawlSettings, SourceConfig
from jobtrend.models import Posting

EXTERNAL_ID_MAX = Posting.__table__.c.external_id.type.length  # 200
SOURCES_SETTING = "JOBTREND_SOURCES"  # every configured SourceConfig: crawler.run.crawl_settings sets it
source_finished = object()  # signal: label ("kind:key"), result (SourceResult); sent when a result is set


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
    """How the crawl of one source ended: ``status`` "ok", "partial" or "failed", why, and the external ids it
    listed (kept as :class:`SeenIds` whatever set they are given as)."""

    status: str
    reason: str | None = None
    seen_ids: AbstractSet[str] = field(default_factory=SeenIds)

    def __post_init__(self) -> None:
        if not isinstance(self.seen_ids, SeenIds):
            self.seen_ids = SeenIds(self.seen_ids)


class SourceResults(dict):
    """``spider.source_results``: source key -> :class:`SourceResult`. Setting an item also calls ``on_set(key,
    result)``, the one hook every spider's ``source_results[key] = ...`` goes through (``update`` and
    ``setdefault`` do not: a spider assigns)."""

    def __init__(self, on_set: Callable[[str, SourceResult], None]):
        super().__init__()
        self.on_set = on_set

    def __setitem__(self, key: str, result: SourceResult) -> None:
        super().__setitem__(key, result)
        self.on_set(key, result)


class SourceSpider(scrapy.Spider):
    """A spider that crawls configured sources of one kind (its ``name``) and records how each one ended."""

    api_base_setting: ClassVar[str] = ""  # the setting holding the API's base URL (run_crawl's api_base sets it)
    source_noun: ClassVar[str] = "board"  # how the log names one source: "board 'cohere' failed"
    reads_crawled_threads: ClassVar[bool] = False  # the crawl-run extension sets spider.crawled_threads when True

    def __init__(self, *args: Any, boards: str | Iterable[str] | None = None,
                 sources: Iterable[SourceConfig] | None = None, **kwargs: Any):
        """``sources``: the sources to crawl (those of other kinds are left out). Without it, ``boards`` (keys,
        or a comma-separated string) and the configured sources in the crawler's settings decide, once the spider
        is bound to its crawler (:meth:`from_crawler`)."""
        super().__init__(*args, **kwargs)
        self.sources: list[SourceConfig] = resolve_sources(self.name, boards, sources)
        self.source_results: dict[str, SourceResult] = SourceResults(self.result_set)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        if kwargs.get("sources") is None:  # not chosen by run_crawl: the configured ones, from the settings
            configured = crawler.settings.get(SOURCES_SETTING) or ()
            spider.sources = resolve_sources(spider.name, kwargs.get("boards"), None, configured)
        return spider

    # --- hooks for spiders whose payload is a JSON list of jobs --------------------------------------------

    def parse_job(self, job: dict, source: SourceConfig, external_id: str) -> JobPosting:
        """One JobPosting from one job of the payload."""
        raise NotImplementedError

    def skip_job(self, job: dict, source: SourceConfig) -> bool:
        """True for jobs the payload lists but that are not open postings (counted by the subclass)."""
        return False

    def parse_jobs(self, jobs: list, source: SourceConfig, seen: set[str]) -> Iterator[JobPosting]:
        """Yield one item per usable job, adding every listed job's id to ``seen``; skip and count bad ones
        (a job of a :class:`JsonList` that held a value nested too deep is listed, so seen, but not stored)."""
        cut = getattr(jobs, "too_deep", 0)
        for job in jobs:
            if not isinstance(job, dict):
                self.item_error(source, TOO_DEEP if job == CUT_VALUE else "not_a_dict")
                continue
            external_id = job_id(job)
            if external_id is None:
                self.item_error(source, TOO_DEEP if job.get("id") == CUT_VALUE else "missing_id")
                continue
            if cut and holds_cut_value(job):
                seen.add(external_id)  # listed: a stored copy stays open
                self.logger.warning("%s %s %r job %s skipped: nested more than %d levels deep", self.name,
                                    self.source_noun, source.key, external_id, MAX_JSON_DEPTH)
                self.item_error(source, TOO_DEEP)
                continue
            if self.skip_job(job, source):
                continue
            seen.add(external_id)
            try:
                yield self.parse_job(job, source, external_id)
            except Exception as exc:  # one odd job must not lose the board
                self.logger.warning("%s %s %r job %s unreadable: %r", self.name, self.source_noun, source.key,
                                    external_id, exc)
                self.item_error(source, f"unreadable:{type(exc).__name__}")

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def result_set(self, key: str, result: SourceResult) -> None:
        """A source's outcome is known: send :data:`source_finished` (a spider not bound to a crawler, as in a
        unit test, sends nothing)."""
        crawler = getattr(self, "crawler", None)
        if crawler is not None:
            crawler.signals.send_catch_log(source_finished, label=f"{self.name}:{key}", result=result)

    def new_item(self, source: SourceConfig, external_id: str, **fields: Any) -> JobPosting:
        """A JobPosting of this spider's kind for ``source``, with ``fields`` filled in."""
        return JobPosting(source_kind=self.name, source_key=source.key, external_id=external_id, **fields)

    def source_request_failed(self, failure: Failure) -> None:
        """Errback of a request whose ``source`` cb_kwarg fails with it: ``http_<status>``,
        ``robots_txt_forbidden``, ``crawl_delay_too_long``, ``too_large`` or ``download_error:<Exception>``."""
        self.source_failed(failure.request.cb_kwargs["source"], failure_reason(failure))

    def source_failed(self, source: SourceConfig, reason: str, seen: Iterable[str] = ()) -> None:
        """Record, count and log a source that could not be read (``seen``: the ids it listed all the same)."""
        self.source_results[source.key] = SourceResult("failed", reason, seen)
        self.count_source_error(source, reason)
        self.logger.warning("%s %s %r failed: %s", self.name, self.source_noun, source.key, reason)

    def source_partial(self, source: SourceConfig, reason: str, seen: Iterable[str] = ()) -> None:
        """Record, count and log a source read only in part (a budget reached): its postings in ``seen`` are
        stored, and none of the others is closed."""
        self.source_results[source.key] = SourceResult("partial", reason, seen)
        self.count_source_error(source, reason)
        self.logger.warning("%s %s %r partial: %s", self.name, self.source_noun, source.key, reason)

    def budget(self, name: str) -> int:
        """A budget of one source from the settings (``JOBTREND_MAX_BOARD_PAGES``, ``JOBTREND_MAX_BOARD_POSTINGS``,
        ``JOBTREND_MAX_LISTING_PAGES``: ``crawl.max_board_pages``, ...), at least 1."""
        return max(1, self.settings.getint(name, BUDGET_DEFAULTS[name]))

    def allows_redirect(self, request: scrapy.Request, url: str) -> bool:
        """Whether ``request`` may be redirected to ``url`` on another host than its own (the redirect guard
        asks; a redirect on the same host is always followed). Boards and Hacker News: never."""
        return False

    def count_source_error(self, source: SourceConfig, reason: str) -> None:
        """Count one failed request of ``source`` (``crawl_runs.errors`` adds them up)."""
        self.crawler.stats.inc_value(f"jobtrend/source_error/{reason}")
        self.crawler.stats.inc_value(f"jobtrend/source/{source.label}/source_error/{reason}")

    def item_error(self, source: SourceConfig, reason: str, n: int = 1) -> None:
        """Count a job (``n`` of them) skipped inside an otherwise good source."""
        self.crawler.stats.inc_value(f"jobtrend/item_error/{reason}", n)
        self.crawler.stats.inc_value(f"jobtrend/source/{source.label}/item_error/{reason}", n)

    def count(self, source: SourceConfig, name: str, n: int = 1) -> None:
        """Add ``n`` to a per-source stat and to the crawl-wide ``jobtrend/<kind>/<name>``."""
        self.crawler.stats.inc_value(f"jobtrend/source/{source.label}/{name}", n)
        self.crawler.stats.inc_value(f"jobtrend/{self.name}/{name}", n)

    def source_stat(self, source: SourceConfig, name: str) -> int:
        """The current value of a per-source stat (0 when unset)."""
        return self.crawler.stats.get_value(f"jobtrend/source/{source.label}/{name}", 0)


def resolve_sources(kind: str, boards: str | Iterable[str] | None, sources: Iterable[SourceConfig] | None,
                    configured: Iterable[SourceConfig] = ()) -> list[SourceConfig]:
    """The sources to crawl: ``sources`` as given, else the ``boards`` keys, else every enabled ``configured`` one,
    all of kind ``kind``.

    ``boards`` may be a comma-separated string (``-a boards=a,b``); keys not configured are crawled too.
    """
    if sources is not None:
        return [s for s in sources if s.kind == kind]
    by_key = {s.key: s for s in configured if s.kind == kind}
    if boards is None:
        return [s for s in by_key.values() if s.enabled]
    keys = boards.split(",") if isinstance(boards, str) else list(boards)
    keys = list(dict.fromkeys(k.strip() for k in keys if k.strip()))
    return [by_key.get(k) or SourceConfig(kind=kind, key=k) for k in keys]


def failure_reason(failure: Failure) -> str:
    """The short reason a request failed, as recorded in crawl_runs.error."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(CrawlDelayTooLong):
        return CRAWL_DELAY_TOO_LONG
    if failure.check(RedirectOffHost):
        return REDIRECT_OFF_HOST
    if failure.check(PrivateAddressRefused):
        return PRIVATE_ADDRESS
    if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
        return "robots_txt_forbidden"
    request = getattr(failure, "request", None)  # set by Scrapy on a download failure
    if is_too_large(failure.value) or (request is not None and request.meta.get(TOO_LARGE_META)):
        return TOO_LARGE
    return f"download_error:{failure.type.__name__}"


TOO_LARGE = "too_large"  # a body over crawl.download_maxsize, as sent or once decompressed
CRAWL_DELAY_TOO_LONG = "crawl_delay_too_long"  # robots.txt asks for more than CRAWL_DELAY_MAX between requests
TOO_DEEP = "too_deep"  # a JSON value nested more than MAX_JSON_DEPTH levels deep
PAGE_LIMIT = "page_limit_reached"  # a paginated board had more pages than crawl.max_board_pages
POSTING_LIMIT = "posting_limit_reached"  # a board (or HN thread) listed more than crawl.max_board_postings
BUDGET_DEFAULTS = {  # when a setting is absent: [crawl]'s defaults, as in crawler/settings.py
    "JOBTREND_MAX_BOARD_PAGES": CrawlSettings.max_board_pages,
    "JOBTREND_MAX_BOARD_POSTINGS": CrawlSettings.max_board_postings,
    "JOBTREND_MAX_LISTING_PAGES": CrawlSettings.max_listing_pages,
}


def is_too_large(exc: BaseException) -> bool:
    """Whether Scrapy refused a response for its size: a Content-Length or a streamed body over
    DOWNLOAD_MAXSIZE (DownloadCancelledError, "... larger than download max size ..."), or a body growing
    past it while decompressed (IgnoreRequest from HttpCompressionMiddleware, "exceeded DOWNLOAD_MAXSIZE")."""
    message = str(exc)
    return "download max size" in message or "DOWNLOAD_MAXSIZE" in message or (
        type(exc).__name__ == "_DecompressionMaxSizeExceeded")


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


# --- JSON, depth-bounded ------------------------------------------------------------------------------------------

MAX_JSON_DEPTH = 128  # nesting levels kept; real payloads nest under 10 (HN reply chains: 2 levels a reply)
CUT_VALUE = "\x00jobtrend:too_deep"  # what stands for a value nested deeper (decoded from the text below)
_CUT_JSON = '"\\u0000jobtrend:too_deep"'
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # a JSON string (run on valid JSON only: linear)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOKEN = re.compile(r'[\[\]{}"\\]')  # what decides the depth, in text that may not be JSON


class JsonList(list):
    """A list decoded by :func:`decode_json` from a document in which ``too_deep`` values were cut."""

    too_deep: int = 0


def decode_json(body: bytes) -> tuple[Any, int]:
    """The JSON document ``body`` (bytes in UTF-8, -16 or -32, as ``json.loads`` reads them) and how many of its
    values were nested more than ``MAX_JSON_DEPTH`` levels deep: each of those is replaced by ``CUT_VALUE``, so
    what is returned is never deeper. ``ValueError`` (``UnicodeDecodeError`` included) when it is not JSON.

    ``json.loads`` alone raises ``RecursionError`` near 1,000 levels, out of any spider callback, and a document
    just under that decodes but breaks the pipelines (``json.dumps`` of a posting's extras) instead. A valid
    document is decoded once and its depth measured on the text (strings removed, then the brackets counted:
    linear); only a document deeper than the bound is scanned token by token and decoded again with the deep
    values cut out.
    """
    text = body.decode(json.detect_encoding(body), "surrogatepass")
    try:
        payload = json.loads(text)
        if json_depth(text) <= MAX_JSON_DEPTH:
            return payload, 0
    except RecursionError:
        pass
    text, cut = cut_deep_values(text, MAX_JSON_DEPTH)
    try:
        return json.loads(text), cut
    except RecursionError:  # not with MAX_JSON_DEPTH levels, whatever the caller's stack: never raised out
        raise ValueError("JSON nested too deep") from None


def json_list(body: bytes, pick=lambda payload: payload) -> tuple[list, str | None]:
    """The list ``pick`` finds in the JSON document ``body`` (a :class:`JsonList` saying
    how many values were cut too deep), or an empty list and ``invalid_json`` / ``unexpected_shape`` /
    ``too_deep``."""
    try:
        payload, cut = decode_json(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return [], "invalid_json"
    found = pick(payload)
    if not isinstance(found, list):
        return [], TOO_DEEP if found == CUT_VALUE else "unexpected_shape"
    jobs = JsonList(found)
    jobs.too_deep = cut
    return jobs, None


def capped(jobs: list, room: int) -> list:
    """The first ``room`` jobs of a page (a :class:`JsonList` stays one)."""
    kept = JsonList(jobs[:max(0, room)])
    kept.too_deep = getattr(jobs, "too_deep", 0)
    return kept


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in the valid JSON ``text``."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def cut_deep_values(text: str, max_depth: int) -> tuple[str, int]:
    """``text`` with every array or object that opens more than ``max_depth`` levels deep replaced by the JSON
    string of ``CUT_VALUE``, and how many were; linear in the text, JSON or not (an array left open runs to the
    end and is cut there, leaving JSON that does not decode)."""
    pieces, cut, depth, start, kept_to, in_string, escaped_at = [], 0, 0, -1, 0, False, -1
    for token in _TOKEN.finditer(text):
        at, char = token.start(), token.group()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth == max_depth + 1:
                start = at
        elif char in "]}":
            if depth == max_depth + 1 and start >= 0:
                pieces += [text[kept_to:start], _CUT_JSON]
                kept_to, start, cut = at + 1, -1, cut + 1
            depth -= 1
    if start >= 0:  # never closed: not JSON
        pieces += [text[kept_to:start], _CUT_JSON]
        kept_to, cut = len(text), cut + 1
    pieces.append(text[kept_to:])
    return "".join(pieces), cut


def holds_cut_value(value: Any) -> bool:
    """Whether ``value`` (decoded by :func:`decode_json`, so at most ``MAX_JSON_DEPTH`` deep) holds ``CUT_VALUE``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item == CUT_VALUE:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
