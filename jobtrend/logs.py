"""Log output: the text or JSON line format, quiet consoles, and the settings a child process inherits.

The command line logs text lines (``time LEVEL logger: message``) at WARNING (``-v`` INFO, ``-vv`` DEBUG); the
service may log one JSON object per line instead (`jobtrend scheduler run --log-format json`: ``time``,
``level``, ``logger``, ``message`` and, with a traceback, ``traceback``). :func:`use_format` switches the root
handlers' format; :func:`child_logging_env` and :func:`configure_from_env` carry the level and format into the
crawl's child process (``python -m crawler.run``), so its lines look like its parent's.

:class:`WithoutTraceback` wraps a handler's formatter so that a record prints its message alone, with a hint
instead of its traceback: the crawl's console at the default level (crawler/console.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
LEVEL_ENV = "JOBTREND_LOG_LEVEL"
FORMAT_ENV = "JOBTREND_LOG_FORMAT"
TRACEBACK_HINT = " (traceback with -v)"

_current_format = "text"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class WithoutTraceback(logging.Formatter):
    """Format with ``inner``, leaving out the traceback and stack (a hint says where to find them)."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return self.inner.format(record)
        bare = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return self.inner.format(bare) + TRACEBACK_HINT


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of ``fmt`` ("text" or "json")."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def use_format(fmt: str) -> None:
    """Give every root handler the line format ``fmt`` (one on stderr when there is none yet)."""
    global _current_format
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(formatter(fmt))
    _current_format = fmt


def child_logging_env() -> dict[str, str]:
    """Environment variables giving a child process this process's log level and format."""
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return {LEVEL_ENV: str(level), FORMAT_ENV: _current_format}


def configure_from_env(default_level: int = logging.WARNING) -> None:
    """Set up logging from :data:`LEVEL_ENV` and :data:`FORMAT_ENV` (set by the parent's
    :func:`child_logging_env`), else text at ``default_level``."""
    level = logging.getLevelName(os.environ.get(LEVEL_ENV, "") or default_level)
    if not isinstance(level, int):
        level = default_level
    fmt = os.environ.get(FORMAT_ENV, "text")
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    use_format(fmt if fmt in FORMATS else "text")
