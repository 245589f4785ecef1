"""Probe one source the way a crawl would, without Scrapy: its first URL, fetched once, politely.

`jobtrend doctor` asks each source kind's first enabled source: :func:`first_url` builds the URL its spider would
request first (the board, the listing, the career page); :func:`probe` reads the host's robots.txt with the
configured User-Agent, stops if it forbids the URL, waits the configured download delay, then sends one GET. Both
requests carry the configured User-Agent and time out after ``crawl.download_timeout``.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego
from scrapy.crawler import Crawler
from scrapy.settings import Settings

from crawler.middlewares.replay_hosts import replayed_url
from crawler.preflight import API_BASE_SETTINGS
from crawler.spiders.lever import is_eu
from jobtrend.config import SourceConfig
from jobtrend.reasons import with_words


@dataclass(frozen=True)
class ProbeResult:
    """One probe: ``ok``, what was found (``detail``) and, when not ok, the reason code (``reason``)."""

    ok: bool
    detail: str
    reason: str | None = None


def first_url(settings: Settings, source: SourceConfig, spiders: dict) -> str:
    """The URL the crawl of ``source`` requests first (``spiders``: kind -> spider class)."""
    if source.kind == "jsonld":  # a career page on its own host (a replayed crawl maps it to the replay server)
        prefix = settings.get("REPLAY_HOSTS_URL")
        return replayed_url(prefix, source.key) if prefix else source.key
    spider_cls = spiders[source.kind]
    spider = spider_cls.from_crawler(Crawler(spider_cls, settings), sources=[source])
    name = "LEVER_EU_API_BASE" if source.kind == "lever" and is_eu(source) else API_BASE_SETTINGS[source.kind]
    return spider.board_url(settings.get(name, "").rstrip("/"), source.key)


def probe(url: str, *, user_agent: str, timeout: float, delay: float, obey_robots: bool = True) -> ProbeResult:
    """robots.txt, then one GET of ``url``, as the crawler would (``delay`` seconds apart)."""
    host = urlsplit(url).hostname or "?"
    if obey_robots:
        robots_url = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}/robots.txt"
        status, body, error = fetch(robots_url, user_agent, timeout)
        if error:
            return ProbeResult(False, with_words(error, host), error)
        if status == 200 and not Protego.parse(body.decode("utf-8", "replace")).can_fetch(url, user_agent):
            return ProbeResult(False, with_words("robots_txt_forbidden", host), "robots_txt_forbidden")
        time.sleep(delay)
    started = time.monotonic()
    status, body, error = fetch(url, user_agent, timeout)
    if error:
        return ProbeResult(False, with_words(error, host), error)
    if status != 200:
        return ProbeResult(False, with_words(f"http_{status}", host), f"http_{status}")
    return ProbeResult(True, f"HTTP 200 from {host}, {len(body)} bytes in {time.monotonic() - started:.1f} s")


DEFAULT_MAXSIZE = 10 * 1024 * 1024  # crawl.download_maxsize's default
CHUNK = 64 * 1024


class _OffHost(Exception):
    """A redirect to another host: refused, as the crawl's redirect guard refuses it."""


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only on the same host (at most urllib's 10 in a row)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).hostname != urlsplit(req.full_url).hostname:
            raise _OffHost(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameHostRedirects)


def fetch(url: str, user_agent: str, timeout: float, maxsize: int = DEFAULT_MAXSIZE) -> tuple[int, bytes, str | None]:
    """One GET as the crawler would make it: (status, body, None), or (0, b"", reason code) when no usable answer
    came: ``redirect_off_host``, ``too_large`` (more than ``maxsize`` bytes), a timeout (``timeout`` bounds the
    whole answer, not each read, so a server trickling an endless page is cut off), DNS or a refused connection."""
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    deadline = time.monotonic() + timeout
    try:
        with _OPENER.open(request, timeout=timeout) as response:  # http(s) URLs we built or checked
            body = bytearray()
            while chunk := response.read(CHUNK):
                body += chunk
                if len(body) > maxsize:
                    return 0, b"", "too_large"
                if time.monotonic() > deadline:
                    return 0, b"", "download_error:DownloadTimeoutError"
            return response.status, bytes(body), None
    except _OffHost:
        return 0, b"", "redirect_off_host"
    except urllib.error.HTTPError as exc:
        return exc.code, b"", None
    except urllib.error.URLError as exc:
        return 0, b"", _reason_code(exc.reason)
    except (TimeoutError, OSError) as exc:
        return 0, b"", _reason_code(exc)


def _reason_code(exc) -> str:
    """A crawl-like reason code for a urllib failure (DNS, refused, timeout)."""
    if isinstance(exc, str):
        return f"download_error:{exc}"
    name = type(exc).__name__
    if name == "gaierror":
        return "download_error:CannotResolveHostError"
    if isinstance(exc, TimeoutError):
        return "download_error:DownloadTimeoutError"
    if isinstance(exc, ConnectionRefusedError):
        return "download_error:ConnectionRefusedError"
    return f"download_error:{name}"
