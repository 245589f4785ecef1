"""The network preflight: before Scrapy starts, resolve each distinct host of the crawl once.

When no host resolves (no network, no DNS), a crawl would spend minutes retrying every request before failing
every source. :func:`preflight` finds that out in a few seconds (:data:`RESOLVE_TIMEOUT` for all hosts together),
and :func:`record_unresolved` records each source ``failed`` with ``download_error:CannotResolveHostError`` (the
reason Scrapy would have given, so health and alerts treat it alike) without running Scrapy. When some hosts
resolve, the crawl runs as usual and the others fail in it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from scrapy.settings import Settings

from crawler.extensions.source_lines import emit, source_line
from crawler.spiders.lever import is_eu
from jobtrend.config import SourceConfig
from jobtrend.db import ensure_source, open_engine, session_factory
from jobtrend.health import record_crawl
from jobtrend.models import CrawlRun
from jobtrend.weeks import utcnow

SCRAPY_RESOLVER = "scrapy.resolver.CachingThreadedResolver"  # Scrapy's default TWISTED_DNS_RESOLVER
RESOLVE_TIMEOUT = 5.0  # seconds for every host together
UNRESOLVED = "download_error:CannotResolveHostError"
NO_NETWORK_LINE = "no host could be resolved - is the network up?"
API_BASE_SETTINGS = {"ashby": "ASHBY_API_BASE", "greenhouse": "GREENHOUSE_API_BASE", "lever": "LEVER_API_BASE",
                     "hackernews": "HN_ALGOLIA_API_BASE"}

Resolver = Callable[[str], object]


def resolve_host(host: str) -> object:
    """Look ``host`` up as a connection to it would (OSError when it does not resolve)."""
    return socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)


def source_host(settings: Settings, source: SourceConfig) -> str | None:
    """The host the crawl of ``source`` asks first: its API's host, or a career site's own (or the replay
    server's, when a replayed crawl maps the sites' hosts to it)."""
    if source.kind == "jsonld":
        url = settings.get("REPLAY_HOSTS_URL") or source.key
        return urlsplit(url if "//" in url else f"https://{url}").hostname
    name = "LEVER_EU_API_BASE" if source.kind == "lever" and is_eu(source) else API_BASE_SETTINGS.get(source.kind)
    return urlsplit(settings.get(name) or "").hostname if name else None


def source_hosts(settings: Settings, plan: dict[str, list[SourceConfig]]) -> dict[str, str]:
    """``kind:key`` -> host, for every planned source whose host is known."""
    hosts = {source.label: source_host(settings, source) for sources in plan.values() for source in sources}
    return {label: host for label, host in hosts.items() if host}


def resolves(hosts: set[str], *, timeout: float = RESOLVE_TIMEOUT, resolve: Resolver | None = None) -> set[str]:
    """The hosts among ``hosts`` that resolve within ``timeout`` seconds (all looked up at once, in daemon
    threads: a lookup hanging past the timeout is abandoned, not waited for)."""
    resolve = resolve or resolve_host
    found: set[str] = set()
    lock = threading.Lock()

    def look_up(host: str) -> None:
        try:
            resolve(host)
        except (OSError, UnicodeError):
            return
        with lock:
            found.add(host)

    threads = [threading.Thread(target=look_up, args=(host,), daemon=True, name=f"resolve {host}")
               for host in sorted(hosts)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return set(found)


def uses_system_dns(settings: Settings) -> bool:
    """Whether the crawl resolves names as the system does (Scrapy's own resolver), so that the preflight speaks
    for it; a crawl with a resolver of its own (``TWISTED_DNS_RESOLVER``) is not preflighted."""
    resolver = settings.get("TWISTED_DNS_RESOLVER")
    return resolver in (None, "", SCRAPY_RESOLVER)


def preflight(hosts_by_source: dict[str, str], *, resolve: Resolver | None = None,
              timeout: float = RESOLVE_TIMEOUT) -> bool:
    """Whether the crawl may go on: at least one of its hosts resolves (or it has none to check)."""
    hosts = set(hosts_by_source.values())
    return not hosts or bool(resolves(hosts, timeout=timeout, resolve=resolve))


def record_unresolved(database_url: str, plan: dict[str, list[SourceConfig]]) -> list[int]:
    """Record every planned source as failed (:data:`UNRESOLVED`) in ``crawl_runs`` and in its health, as a
    crawl that could not resolve its host would; return the crawl_runs ids."""
    run_ids = []
    now = utcnow()
    with open_engine(database_url) as engine, session_factory(engine).begin() as session:
        for source in (s for sources in plan.values() for s in sources):
            source_id = ensure_source(session, source.kind, source.key, source.company)
            record_crawl(session, source_id, status="failed", error=UNRESOLVED, seen=0, now=now)
            run = CrawlRun(source_id=source_id, status="failed", error=UNRESOLVED, started_at=now, finished_at=now,
                           seen=0, new=0, updated=0, dropped=0, errors=1, closed=0, stats={"preflight": "unresolved"})
            session.add(run)
            session.flush()
            run_ids.append(run.id)
    return run_ids


def fail_unresolved(database_url: str, plan: dict[str, list[SourceConfig]], hosts_by_source: dict[str, str],
                    mode: str) -> list[int]:
    """No host resolved: say so at once (:data:`NO_NETWORK_LINE`), record every source failed and give each its
    line (``mode``: see crawler/extensions/source_lines.py); return the crawl_runs ids."""
    emit(mode, NO_NETWORK_LINE, ok=False)
    run_ids = record_unresolved(database_url, plan)
    for source in (s for sources in plan.values() for s in sources):
        emit(mode, source_line(source.label, "failed", UNRESOLVED, 0, 0, hosts_by_source.get(source.label)),
             ok=False)
    return run_ids
