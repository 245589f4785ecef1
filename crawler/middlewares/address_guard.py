"""Refuse, before connecting, a request whose host is or resolves to a private, loopback or link-local address.

A career site's links, sitemap URLs and redirects, and the DNS answers for their host names, are chosen by whoever
runs the site; without a check any of them can aim the crawler at this machine, the local network or a cloud
metadata service (169.254.169.254). This middleware runs first of all (before robots.txt, which would fetch the
host's ``/robots.txt`` first): a host that is an address (``http://10.0.0.1/``, ``http://[::1]/``, also
``http://127.1/``) is checked as written; a host name is resolved through the reactor's resolver and every address
it gives is checked (:func:`jobtrend.addresses.is_private_ip`). Scrapy's resolver caches each answer for the crawl
(``DNSCACHE_ENABLED``), and the connection takes its address from that cache, so the address checked is the one
connected to. A refused request fails with :class:`PrivateAddressRefused`, recorded as ``private_address`` by its
errback (a source fails, or a career site's job page makes it partial: nothing is closed) and counted as
``address_guard/refused``. A non-http(s) request (``file:``, ``data:``, ``s3:``, ...) is refused the same way: a
spider never makes one, so it can only come from what a site sent.

``crawl.allow_private_addresses = true`` (``JOBTREND_ALLOW_PRIVATE_ADDRESSES``) switches the check off. Two local
modes are exempt without it, being the operator's explicit choice, not a site's:

- a replayed crawl (``REPLAY_HOSTS_URL`` set: ``jobtrend crawl --replay`` or ``--api-base``): every http(s)
  request is sent to the replay server whatever its host (``crawler/middlewares/replay_hosts.py``), so nothing can
  reach another address and nothing is resolved;
- the origin (scheme, host and port) of an API base setting (``ASHBY_API_BASE``, ``LEVER_EU_API_BASE``, ...)
  whose host is itself a private address, e.g. ``--api-base http://127.0.0.1:8765`` or ``-s
  LEVER_EU_API_BASE=http://127.0.0.1:9``. An API base given as a host name is checked like any host.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IResolutionReceiver
from zope.interface import implementer

from jobtrend.addresses import WEB_SCHEMES, ip_literal, is_private_host, is_private_ip

logger = logging.getLogger(__name__)

API_BASE_SUFFIX = "_API_BASE"
DEFAULT_PORTS = {"http": 80, "https": 443}


class PrivateAddressRefused(IgnoreRequest):
    """A request to a private, loopback or link-local address (or not over http(s)): not sent."""


class AddressGuardMiddleware:
    """Refuse requests to private addresses before robots.txt, DNS-cached connection or anything else."""

    def __init__(self, crawler, exempt_origins: set[tuple[str, str, int]]):
        self.crawler = crawler
        self.exempt = exempt_origins

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        # NotConfigured without a message: Scrapy would log each one as a warning
        if settings.getbool("JOBTREND_ALLOW_PRIVATE_ADDRESSES"):
            logger.info("private, loopback and link-local addresses are crawled (crawl.allow_private_addresses)")
            raise NotConfigured
        if settings.get("REPLAY_HOSTS_URL"):  # a replayed crawl sends every request to the replay server
            raise NotConfigured
        bases = [value for name, value in settings.items() if name.endswith(API_BASE_SUFFIX) and value]
        return cls(crawler, {origin for base in bases if (origin := private_origin(str(base)))})

    async def process_request(self, request: Request) -> None:
        url = urlparse_cached(request)
        scheme, host = url.scheme.lower(), url.hostname or ""
        if scheme not in WEB_SCHEMES:
            raise self.refusal(request, f"{scheme}: is not http(s)")
        if (scheme, host, url.port or DEFAULT_PORTS[scheme]) in self.exempt:
            return
        if is_private_host(host):
            raise self.refusal(request, f"{host} is a private address")
        if ip_literal(host) is None:
            for address in await self.resolve(host):
                if is_private_ip(address):
                    raise self.refusal(request, f"{host} resolves to a private address ({address})")

    async def resolve(self, host: str) -> list:
        """Every address the reactor's resolver (Scrapy's caching one) gives for ``host``; none when it fails
        (the download then fails with the resolver's error, as it would have)."""
        from twisted.internet import reactor

        receiver = _Addresses()
        reactor.nameResolver.resolveHostName(receiver, host)
        hosts = await maybe_deferred_to_future(receiver.done)
        return [address for h in hosts if (address := ip_literal(h)) is not None]

    def refusal(self, request: Request, why: str) -> PrivateAddressRefused:
        """Count and log the refusal of ``request``; the exception to raise."""
        self.crawler.stats.inc_value("address_guard/refused")
        logger.warning("not requesting %s: %s", request.url, why)
        return PrivateAddressRefused(f"{why}: set crawl.allow_private_addresses = true to crawl such addresses")


@implementer(IResolutionReceiver)
class _Addresses:
    """Collects the addresses of one host-name resolution; ``done`` fires with them."""

    def __init__(self):
        self.hosts: list[str] = []
        self.done: Deferred = Deferred()

    def resolutionBegan(self, resolution) -> None:  # noqa: N802 - Twisted's interface
        pass

    def addressResolved(self, address) -> None:  # noqa: N802
        self.hosts.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.done.callback(self.hosts)


def private_origin(base: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of the URL ``base`` when its host is a private address (a local API base)."""
    try:
        parts = urlsplit(base)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in WEB_SCHEMES or not is_private_host(host):
        return None
    return scheme, host, port
