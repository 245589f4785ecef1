"""Text on one line: scraped text shown on a terminal or in an email header, and an error as the one line an
operator reads (``job_runs.error``, ``outbox.last_error``, a command's message).

:func:`one_line` folds every run of whitespace (line breaks included) into a space and drops other control
characters; :func:`error_line` is ``Type: first line of the message``; :func:`error_message` is the message's
first line alone, for a command that already says what failed.
"""

from __future__ import annotations

ERROR_MAX = 500  # characters of an error line kept


def one_line(text: str) -> str:
    """``text`` as one line: every run of whitespace, line breaks included (CR, LF, VT, FF, NEL, U+2028, ...),
    becomes one space, and other control characters are dropped. An email subject must be one line."""
    return "".join(c for c in " ".join(text.split()) if c.isprintable())


def error_message(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name when it has none)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def error_line(exc: BaseException, *, whole: bool = False, limit: int | None = ERROR_MAX) -> str:
    """``Type: first line of the message`` (``whole``: the whole message folded on one line), at most ``limit``
    characters (None: no limit)."""
    detail = one_line(str(exc)) if whole else (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"
