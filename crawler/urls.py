"""URL helpers shared by the spiders and the downloader middlewares."""

from __future__ import annotations

from urllib.parse import urlsplit


def bare_host(url: str) -> str:
    """The URL's host name, lower-case, without a trailing dot or a leading ``www.`` ("" when it has none): the
    host a career site's links and a redirect are compared by."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    return host.removeprefix("www.")
