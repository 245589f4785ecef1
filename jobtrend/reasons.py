"""Plain words for the short reason codes of ``crawl_runs.error`` and ``sources.last_error`` (``http_404``,
``download_error:CannotResolveHostError``, ``robots_txt_forbidden``, ...): one table for every place an operator
reads them (the crawl's line per source, ``jobtrend doctor`` and ``sources add``, the failing-sources digest,
``jobtrend sources``).

:func:`in_words` gives the sentence, naming the host where it helps when one is known:
``DNS lookup failed for api.ashbyhq.com``; without a host the same words stop before it (``DNS lookup failed``).
A code without words here has none (None): :func:`with_words` then shows the code alone.
"""

from __future__ import annotations

# download_error:<exception class> -> (words, preposition before the host); the network failures are those that,
# many at once, say "is the network up?" rather than "the boards are broken"
DOWNLOAD_ERRORS = {
    "CannotResolveHostError": ("DNS lookup failed", "for"),
    "DNSLookupError": ("DNS lookup failed", "for"),
    "ConnectionRefusedError": ("connection refused", "by"),
    "DownloadConnectionRefusedError": ("connection refused", "by"),
    "TCPTimedOutError": ("connection timed out", "to"),
    "DownloadTCPTimedOutError": ("connection timed out", "to"),
    "ConnectError": ("could not connect", "to"),
    "NoRouteError": ("no route to the host", ""),
    "TimeoutError": ("no answer in time (crawl.download_timeout)", "from"),
    "DownloadTimeoutError": ("no answer in time (crawl.download_timeout)", "from"),
    "ConnectionLost": ("connection lost mid-answer", "to"),
    "ConnectionDone": ("connection closed", "by"),
    "ResponseNeverReceived": ("no answer received", "from"),
    "ResponseDataLossError": ("the answer was cut short", "by"),
    "DownloadFailedError": ("the download failed", "from"),
    "DownloadCancelledError": ("the download was cancelled (too large?)", "from"),
    "SSLError": ("TLS handshake failed", "with"),
}
NETWORK_ERRORS = frozenset(DOWNLOAD_ERRORS) - {"SSLError", "DownloadCancelledError", "ResponseDataLossError",
                                                 "DownloadFailedError"}
HTTP_STATUSES = {401: "unauthorized", 403: "forbidden (access refused)", 404: "board not found (removed or renamed)",
                 410: "board gone (removed)", 429: "rate limited after retries", 500: "server error",
                 502: "bad gateway", 503: "service unavailable", 504: "gateway timeout"}
REASONS = {  # code -> (words, preposition before the host)
    "http_404": ("the board does not exist (HTTP 404): check its key", ""),
    "http_410": ("the board is gone (HTTP 410)", ""),
    "robots_txt_forbidden": ("robots.txt forbids the request", "on"),
    "crawl_delay_too_long": ("robots.txt asks for a longer delay between requests than we wait", "on"),
    "redirect_off_host": ("redirected to another host (not followed)", ""),
    "private_address": ("the host is a private, loopback or link-local address", ""),
    "invalid_json": ("the answer was not readable JSON (truncated, or an error page)", ""),
    "unexpected_shape": ("the answer was JSON of an unexpected shape (the API changed?)", ""),
    "pagination_stalled": ("paging through the board stopped adding postings", ""),
    "too_large": ("the answer was larger than crawl.download_maxsize", ""),
    "too_deep": ("the answer was nested too deeply to read", ""),
    "invalid_sitemap": ("the sitemap could not be read", ""),
    "not_html": ("the page is not HTML", ""),
    "no_threads": ("no \"Who is hiring?\" thread found", ""),
    "page_limit_reached": ("more pages than crawl.max_board_pages", ""),
    "posting_limit_reached": ("more postings than crawl.max_board_postings", ""),
    "listing_limit_reached": ("more listing pages than crawl.max_listing_pages", ""),
    "no_response": ("the board never answered before the crawl ended", ""),
    "zero_yield": ("the board lists no postings any more", ""),
    "empty": ("the board has never listed a posting", ""),
    "interrupted": ("the crawl was interrupted (Ctrl-C, SIGTERM or a killed process)", ""),
    "disk_full": ("the disk is full", ""),
    "store_error": ("some postings could not be stored", ""),
    "no_network": ("no host could be resolved - is the network up?", ""),
}


def error_code(error: str | None) -> str:
    """The code an error starts with (``http_503`` of ``http_503 <html>...``); "" for none."""
    words = (error or "").split()
    return words[0] if words else ""


def _with_host(words: str, preposition: str, host: str | None) -> str:
    return f"{words} {preposition} {host}" if host and preposition else words


def in_words(reason: str | None, host: str | None = None) -> str | None:
    """The plain-words sentence for ``reason`` (None when there is none), naming ``host`` when given."""
    code = error_code(reason)
    if not code:
        return None
    kind, _, detail = code.partition(":")
    if kind == "download_error" and detail in DOWNLOAD_ERRORS:
        return _with_host(*DOWNLOAD_ERRORS[detail], host)
    if code in REASONS:
        return _with_host(*REASONS[code], host)
    if kind.startswith("http_") and kind[5:].isdigit():
        status = int(kind[5:])
        words = HTTP_STATUSES.get(status, "server error" if status >= 500 else "error")
        return _with_host(f"HTTP {status} {words}", "from", host)
    if kind == "not_recorded":
        return "the crawl could not be recorded in crawl_runs (the database locked or full)"
    if kind == "cut_short":
        return f"the crawl stopped before the board was finished ({detail})"
    return None


def with_words(reason: str | None, host: str | None = None) -> str:
    """``words (code)``, or the code alone when it has no words."""
    words = in_words(reason, host)
    return f"{words} ({error_code(reason)})" if words else (reason or "")


def is_network_error(reason: str | None) -> bool:
    """Whether ``reason`` is a failure to reach the host at all (DNS, refused, timed out): many of them at once
    usually mean our network, not the boards."""
    kind, _, detail = error_code(reason).partition(":")
    return kind == "download_error" and detail in NETWORK_ERRORS
