"""Text on one line: scraped text shown on a terminal or in an email header, and an error as the one line an
operator reads (``job_runs.error``, ``outbox.last_error``, a command's message).

:func:`terminal_text` makes text safe to print on a terminal (every text output of the command line goes through
it); :func:`one_line` folds every run of whitespace (line breaks included) into a space and drops other control
characters; :func:`error_line` is ``Type: first line of the message``; :func:`error_message` is the message's
first line alone, terminal-safe, for a command that already says what failed.
"""

from __future__ import annotations

import re

ERROR_MAX = 500  # characters of an error line kept

# Escape sequences, 7-bit (ESC ...) and 8-bit (C1): CSI (ESC[2J, colours), the string ones ended by BEL or ST
# (OSC: window titles, OSC 8 hyperlinks; DCS, SOS, PM, APC), and ESC followed by any other final byte. A
# sequence cut off at the end of the text is removed too (a terminal would swallow what follows it).
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?")
# Bidi embeddings, overrides (U+202E RIGHT-TO-LEFT OVERRIDE) and isolates: they make text read other than it is.
_BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() splits on
_DROPPED = dict.fromkeys([*range(0x20), 0x7f, *range(0x80, 0xa0), *map(ord, _BIDI_CONTROLS)])
_ONE_LINE = _DROPPED | dict.fromkeys(map(ord, _LINE_BREAKS + "\t"), " ")
_MULTILINE = _DROPPED | dict.fromkeys(map(ord, _LINE_BREAKS), "\n") | {ord("\t"): "\t"}


def terminal_text(text: str, *, multiline: bool = False) -> str:
    """``text`` safe to print on a terminal: escape sequences (screen clears, window titles, hyperlinks), the
    other C0 and C1 control characters (NUL, BEL, backspace, ...) and the bidi overrides, embeddings and isolates
    removed. Each line break and tab becomes a space; with ``multiline``, each line break (``\\r\\n`` too)
    becomes ``\\n`` and tabs stay."""
    if text.isprintable():  # the usual case: nothing to remove (bidi controls and line breaks are not printable)
        return text
    text = _ESCAPE_SEQUENCE.sub("", text)
    if multiline:
        return text.replace("\r\n", "\n").translate(_MULTILINE)
    return text.translate(_ONE_LINE)


def one_line(text: str) -> str:
    """``text`` as one line: every run of whitespace, line breaks included (CR, LF, VT, FF, NEL, U+2028, ...),
    becomes one space, and other control characters are dropped. An email subject must be one line."""
    return "".join(c for c in " ".join(text.split()) if c.isprintable())


def error_message(exc: BaseException) -> str:
    """The first line of ``exc``'s message (its type's name when it has none), safe for a terminal (a database
    error quotes the value it choked on, which may be scraped text)."""
    return terminal_text((str(exc).strip().splitlines() or [type(exc).__name__])[0])


def error_line(exc: BaseException, *, whole: bool = False, limit: int | None = ERROR_MAX) -> str:
    """``Type: first line of the message`` (``whole``: the whole message folded on one line), at most ``limit``
    characters (None: no limit)."""
    detail = one_line(str(exc)) if whole else (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"
