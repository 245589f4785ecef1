"""Regular expressions written in the configuration (a career site's ``follow``), run on text a web site chose.

Python's ``re`` backtracks: ``(a+)+b`` over a link of 30 ``a`` tries 2^30 ways before it fails, and a site can
serve such links on purpose. These patterns are compiled with RE2 (``google-re2``) instead, which matches in time
linear in the text whatever the pattern, so no pattern and no link can hang a crawl and no match needs a timeout.
RE2 refuses what it cannot run in linear time (backreferences ``\\1``, lookaround ``(?=...)``, ``(?!...)``) and
repetitions over 1000: :func:`compile_pattern` raises ``ValueError`` for those, and the configuration refuses them
when it loads. Everything else reads as in Python (classes, ``(?i)``, named groups, ``\\d``, anchors).
"""

from __future__ import annotations

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each refused pattern to stderr; the error says it instead


def compile_pattern(pattern: str) -> re2._Regexp:
    """``pattern`` compiled by RE2 (``search``, ``match`` and ``fullmatch`` as with ``re``); ``ValueError`` with
    RE2's reason when it cannot be compiled."""
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(str(reason)) from None


def pattern_error(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern``, or None when it compiles."""
    try:
        compile_pattern(pattern)
    except ValueError as exc:
        return str(exc)
    return None
