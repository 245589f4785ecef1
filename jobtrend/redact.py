"""Secrets kept out of what is printed, logged or stored: one redactor for every URL jobtrend shows.

:func:`redact_url` hides a database URL's password and password-like query parameters (``***``), even when
the URL is malformed (an error message about a bad URL shows it too); with ``keep_path=False`` it also drops
the path and query, where a webhook URL keeps its token.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

SECRET_QUERY_KEYS = ("password", "sslpassword", "passfile", "sslkey")
_PASSWORD = re.compile(r"(?<=:)[^:/@\s]+(?=@)")
_ORIGIN = re.compile(r"^([a-zA-Z][\w+.-]*://[^/?#\s]*)")


def redact_url(url: Any, *, keep_path: bool = True) -> Any:
    """``url`` with its ``user:password@`` password and password-like query values replaced by ``***``;
    ``keep_path=False``: only its scheme and host (``https://hooks.example.org/...``). Not a string: unchanged."""
    if not isinstance(url, str):
        return url
    if not keep_path:
        match = _ORIGIN.match(url)
        url = match.group(1) + "/..." if match and len(match.group(1)) < len(url) else url
    head, sep, query = url.partition("?")
    head = _PASSWORD.sub("***", head)
    if sep and query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="/:@*")
    return head + sep + query
