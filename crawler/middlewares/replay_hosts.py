"""Send every request of a replayed crawl to the replay server, whatever its host, and hide that from spiders.

With ``REPLAY_HOSTS_URL = "http://127.0.0.1:PORT/sites"`` (set by ``crawler.run`` for ``--replay`` and
``--api-base``), ``https://careers.example.ai/jobs/42?x=1`` is fetched as
``http://127.0.0.1:PORT/sites/careers.example.ai/jobs/42?x=1``, so recordings live under
``<root>/sites/<host>/<path>`` (``.html``, ``.xml``, ``@<query>`` as the replay server reads them); a path ending
in ``/`` gets ``index`` (``https://host/`` -> ``sites/host/index.html``). The response is handed back under
its original URL, so links resolve and ids are the same as live (a redirect's ``Location`` too). Requests already
aimed at the replay server (the API spiders' ``--api-base`` requests) pass unchanged, and nothing else leaves
127.0.0.1: a redirected request, which keeps the meta of the rewritten one, is rewritten in its turn.

robots.txt stays per original host: this middleware runs after the robots.txt middleware, which therefore asks
for ``https://careers.example.ai/robots.txt`` (replayed from ``sites/careers.example.ai/robots.txt``, a 404
when absent: no rules) and checks the original URL. Off (``NotConfigured``) when the setting is empty.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

SITES_DIR = "sites"
ORIGINAL_URL = "replay_hosts_original_url"
REPLAYED_URL = "replay_hosts_replayed_url"  # the replay server's URL the request was rewritten to


def replay_hosts_url(base: str) -> str:
    """The REPLAY_HOSTS_URL of a replay server at ``base``: its ``sites/`` folder."""
    return f"{base.rstrip('/')}/{SITES_DIR}"


def replayed_url(prefix: str, url: str) -> str:
    """``url`` as fetched from the replay server at ``prefix``: ``{prefix}/{host[:port]}{path}[?query]``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    if path.endswith("/"):
        path += "index"
    return f"{prefix}/{host}{path}" + (f"?{parts.query}" if parts.query else "")


class ReplayHostsMiddleware:
    """Rewrite requests to ``REPLAY_HOSTS_URL/<host>/<path>`` and give responses back their original URL."""

    def __init__(self, prefix: str):
        self.prefix = prefix.rstrip("/")
        self.netloc = urlsplit(self.prefix).netloc

    @classmethod
    def from_crawler(cls, crawler):
        prefix = crawler.settings.get("REPLAY_HOSTS_URL")
        if not prefix:  # a live crawl: off, silently (a message would make Scrapy warn on every crawl)
            raise NotConfigured
        return cls(prefix)

    def process_request(self, request: Request) -> Request | None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or parts.netloc == self.netloc:
            return None
        # a redirect of a rewritten request still carries its ORIGINAL_URL: it is rewritten again, never sent out.
        # robots.txt was checked for the original URL already; the rewritten one must not be checked again
        url = replayed_url(self.prefix, request.url)
        meta = {**request.meta, ORIGINAL_URL: request.url, REPLAYED_URL: url, "dont_obey_robotstxt": True}
        return request.replace(url=url, meta=meta, dont_filter=True)

    def process_response(self, request: Request, response: Response) -> Response:
        original = request.meta.get(ORIGINAL_URL)
        if not original or request.meta.get(REPLAYED_URL) != request.url:
            return response
        location = response.headers.get(b"Location")
        if location and 300 <= response.status < 400:  # relative to the original URL, as it would be live
            headers = response.headers.copy()
            headers[b"Location"] = urljoin(original, location.decode("latin-1"))
            return response.replace(url=original, headers=headers)
        return response.replace(url=original)
