"""Plain words for the short reason codes of ``crawl_runs.error`` (``http_404``, ``download_error:...``).

:func:`in_words` gives the sentence an operator reads beside the code, naming the host where it helps:
``DNS lookup failed for api.ashbyhq.com``. A code without words here is shown as it is.
"""

from __future__ import annotations

# download_error:<exception class> -> words; "{host}" is replaced by the source's host
DOWNLOAD_ERRORS = {
    "CannotResolveHostError": "DNS lookup failed for {host}",
    "DNSLookupError": "DNS lookup failed for {host}",
    "ConnectionRefusedError": "{host} refused the connection",
    "DownloadConnectionRefusedError": "{host} refused the connection",
    "DownloadTCPTimedOutError": "connecting to {host} timed out",
    "ResponseDataLossError": "{host} cut the answer short",
    "ConnectError": "could not connect to {host}",
    "TCPTimedOutError": "connecting to {host} timed out",
    "TimeoutError": "{host} did not answer in time (crawl.download_timeout)",
    "DownloadTimeoutError": "{host} did not answer in time (crawl.download_timeout)",
    "ConnectionLost": "{host} closed the connection mid-answer",
    "ResponseNeverReceived": "{host} sent no answer",
    "DownloadFailedError": "the download from {host} failed",
    "SSLError": "the TLS handshake with {host} failed",
    "DownloadCancelledError": "the download from {host} was cancelled (too large?)",
}
REASONS = {
    "http_404": "the board does not exist (HTTP 404): check its key in sources.toml",
    "http_403": "{host} refused access (HTTP 403)",
    "http_429": "{host} rate-limited us (HTTP 429) after retries",
    "robots_txt_forbidden": "robots.txt of {host} forbids it",
    "crawl_delay_too_long": "robots.txt of {host} asks for a longer delay than we wait",
    "redirect_off_host": "redirected to another host (not followed)",
    "private_address": "its host is a private, loopback or link-local address",
    "invalid_json": "the answer was not JSON",
    "too_large": "the answer was larger than crawl.download_maxsize",
    "too_deep": "the answer was nested too deeply to read",
    "page_limit_reached": "more pages than crawl.max_board_pages",
    "posting_limit_reached": "more postings than crawl.max_board_postings",
    "listing_limit_reached": "more listing pages than crawl.max_listing_pages",
    "no_response": "no answer before the crawl ended",
    "cut_short:shutdown": "stopped: the crawl was asked to stop",
    "interrupted": "stopped before it finished (Ctrl-C, SIGTERM or a killed process)",
    "disk_full": "the disk is full",
    "store_error": "some postings could not be stored",
    "no_network": "no host could be resolved - is the network up?",
}


def in_words(reason: str | None, host: str | None = None) -> str | None:
    """The plain-words sentence for ``reason`` (None when there is none), ``host`` filled in where it appears."""
    if not reason:
        return None
    where = host or "the host"
    kind, _, detail = reason.partition(":")
    if kind == "download_error" and detail in DOWNLOAD_ERRORS:
        return DOWNLOAD_ERRORS[detail].format(host=where)
    if reason in REASONS:
        return REASONS[reason].format(host=where)
    if reason.startswith("http_5"):
        return f"{where} answered with a server error (HTTP {reason[5:]})"
    if reason.startswith("http_"):
        return f"{where} answered HTTP {reason[5:]}"
    if kind == "not_recorded":
        return "its crawl could not be recorded in crawl_runs (the database locked or full)"
    if kind == "cut_short":
        return f"the crawl stopped early ({detail})"
    return None


def with_words(reason: str | None, host: str | None = None) -> str:
    """``words (code)``, or the code alone when it has no words."""
    words = in_words(reason, host)
    return f"{words} ({reason})" if words else (reason or "")
