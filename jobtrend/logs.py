"""Log output: the text or JSON line format, quiet consoles, the log file, and the settings a child process inherits.

The command line logs text lines (``time LEVEL logger: message``) at WARNING (``-v`` INFO, ``-vv`` DEBUG); the
service may log one JSON object per line instead (`jobtrend scheduler run --log-format json`: ``time``,
``level``, ``logger``, ``message`` and, with a traceback, ``traceback``). :func:`use_format` switches the root
handlers' format; :func:`child_logging_env` and :func:`configure_from_env` carry the level, the format and the
log file into the crawl's child process (``python -m crawler.run``), so its lines look like its parent's and land
in the same file.

The log file (:func:`open_log_file`; ``[logging]`` in jobtrend.toml, ``jobtrend --log-file PATH``) gets every
record at its own level (INFO by default) with its traceback, whatever the console's level: the root logger is
lowered to the file's level and the console handlers keep the console's level on themselves. While a file is
open and the console is at WARNING or quieter, the console prints records without their traceback and with a
hint naming the file (``(traceback in data/logs/jobtrend.log)``). A path that cannot be written (a read-only
mount, no permission) is one warning line, and the command goes on without the file.

The file is a :class:`SharedRotatingFileHandler`: a :class:`~logging.handlers.RotatingFileHandler` (rotation by
size, ``max_bytes`` and ``backups``) that, like :class:`~logging.handlers.WatchedFileHandler`, reopens its file
when the path no longer names the file it holds open. The scheduler and its crawl child write one file, and
either may rotate it (the other follows at its next record); logrotate (``create`` or ``copytruncate``) works
too, with ``max_bytes = 0`` leaving rotation to it.

:class:`WithoutTraceback` wraps a handler's formatter so that a record prints its message alone, with a hint
instead of its traceback: the crawl's console at the default level (crawler/console.py), and the console while
a log file is open.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass
from pathlib import Path

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEVEL_ENV = "JOBTREND_LOG_LEVEL"
FORMAT_ENV = "JOBTREND_LOG_FORMAT"
FILE_ENV = "JOBTREND_LOG_FILE"
FILE_LEVEL_ENV = "JOBTREND_LOG_FILE_LEVEL"
FILE_ROTATION_ENV = "JOBTREND_LOG_FILE_ROTATION"  # "max_bytes,backups"
TRACEBACK_HINT = " (traceback with -v)"

logger = logging.getLogger(__name__)

_current_format = "text"


@dataclass(frozen=True)
class LogFile:
    """Where the log file is, the level it records at, and when it rotates (``max_bytes`` 0: never, by itself)."""

    path: Path
    level: str = "INFO"
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 5

    def env(self) -> dict[str, str]:
        """The environment variables that give a child process this log file (:func:`configure_from_env`)."""
        return {FILE_ENV: str(self.path), FILE_LEVEL_ENV: self.level,
                FILE_ROTATION_ENV: f"{self.max_bytes},{self.backups}"}

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> LogFile | None:
        """The log file the parent process gave (:meth:`env`), or None."""
        path = environ.get(FILE_ENV, "")
        if not path:
            return None
        level = environ.get(FILE_LEVEL_ENV, cls.level)
        try:
            max_bytes, backups = (int(part) for part in environ.get(FILE_ROTATION_ENV, "").split(","))
        except ValueError:
            max_bytes, backups = cls.max_bytes, cls.backups
        return cls(Path(path), level if level in LEVELS else cls.level, max_bytes, backups)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (``hint``: where the traceback left out went)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        hint = getattr(record, "traceback_hint", None)
        if hint:
            entry["hint"] = hint
        return json.dumps(entry, ensure_ascii=False, default=str)


class WithoutTraceback(logging.Formatter):
    """Format with ``inner``, leaving out the traceback and stack (a hint says where to find them: the log file
    when one is open, else ``-v``)."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return self.inner.format(record)
        hint = traceback_hint()
        bare = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        if isinstance(self.inner, JsonFormatter):
            bare.traceback_hint = hint.strip(" ()")
            return self.inner.format(bare)
        return self.inner.format(bare) + hint


def without_traceback(inner: logging.Formatter | None) -> WithoutTraceback:
    """``inner`` wrapped in :class:`WithoutTraceback`, once (a wrapped formatter is returned as it is)."""
    return inner if isinstance(inner, WithoutTraceback) else WithoutTraceback(inner)


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-rotated log file that several processes may write: before each record it reopens the file when its
    path names another file (rotated by the other process, or by logrotate), as WatchedFileHandler does. A write
    that fails (a full disk) is reported once on stderr, never as a traceback per record."""

    def __init__(self, log_file: LogFile):
        super().__init__(log_file.path, maxBytes=log_file.max_bytes, backupCount=log_file.backups,
                         encoding="utf-8")
        self.log_file = log_file
        self._identity = self._path_identity()
        self._failed = False

    def _path_identity(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.baseFilename)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def _reopen_if_moved(self) -> None:
        identity = self._path_identity()
        if identity != self._identity and self.stream is not None:
            self.stream.close()
            self.stream = self._open()
            self._identity = self._path_identity()

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - logging's name
        self._reopen_if_moved()
        return bool(super().shouldRollover(record))

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        super().doRollover()
        self._identity = self._path_identity()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)  # a bad record (its arguments do not fit its message): logging's report
            return
        if self._failed:
            return
        self._failed = True
        sys.stderr.write(f"warning: cannot write the log file {self.baseFilename} ({error}); its records are "
                         "lost until it can be written\n")


@dataclass
class _OpenFile:
    """The open log file and what it changed, to be put back when it closes."""

    handler: SharedRotatingFileHandler
    root_level: int
    console: list[tuple[logging.Handler, int, logging.Formatter | None]]


_open_file: _OpenFile | None = None


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of ``fmt`` ("text" or "json")."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def use_format(fmt: str) -> None:
    """Give every root handler the line format ``fmt`` (one on stderr when there is none yet); the console leaves
    tracebacks to the log file while one is open."""
    global _current_format
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(formatter(fmt))
    _current_format = fmt
    if _open_file is not None:
        _quiet_console_tracebacks()


def console_handlers() -> list[logging.Handler]:
    """The root handlers other than the log file."""
    return [h for h in logging.getLogger().handlers if not isinstance(h, SharedRotatingFileHandler)]


def console_level() -> int:
    """The level the console prints at: its handler's own level, else the root logger's."""
    root_level = logging.getLogger().getEffectiveLevel()
    levels = [h.level for h in console_handlers() if h.level != logging.NOTSET]
    return min(levels) if levels else root_level


def log_file_path() -> Path | None:
    """The open log file, or None."""
    return None if _open_file is None else Path(_open_file.handler.baseFilename)


def shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it is inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def traceback_hint() -> str:
    """What a console line says instead of its traceback: where to find it."""
    path = log_file_path()
    return TRACEBACK_HINT if path is None else f" (traceback in {shown_path(path)})"


def open_log_file(log_file: LogFile) -> Path | None:
    """Send every record at ``log_file.level`` and above, with its traceback, to the file as well (in the current
    format), the console keeping its level; return the file's path. A file that cannot be opened (its folder
    cannot be created, the mount is read-only, no permission) is one warning, and None: the command goes on
    without it. A file already open is closed first."""
    global _open_file
    close_log_file()
    try:
        log_file.path.parent.mkdir(parents=True, exist_ok=True)
        handler = SharedRotatingFileHandler(log_file)
    except OSError as exc:
        logger.warning("cannot write the log file %s (%s); going on without it", log_file.path,
                       exc.strerror or exc)
        return None
    handler.log_file = dataclasses.replace(log_file, path=Path(handler.baseFilename))  # absolute, for a child
    root = logging.getLogger()
    level = logging.getLevelName(log_file.level)
    handler.setLevel(level)
    handler.setFormatter(formatter(_current_format))
    shown = console_level()
    console = [(h, h.level, h.formatter) for h in console_handlers()]
    for h, own_level, _ in console:
        h.setLevel(own_level if own_level != logging.NOTSET else shown)
    _open_file = _OpenFile(handler, root.level, console)
    root.setLevel(min(shown, level))
    root.addHandler(handler)
    _quiet_console_tracebacks()
    return Path(handler.baseFilename)


def _quiet_console_tracebacks() -> None:
    """At WARNING or quieter, the console prints records without their traceback (the file holds it)."""
    if console_level() < logging.WARNING:
        return
    for handler in console_handlers():
        handler.setFormatter(without_traceback(handler.formatter))


def close_log_file() -> None:
    """Close the log file, if one is open, and give the console back its level and format."""
    global _open_file
    if _open_file is None:
        return
    opened, _open_file = _open_file, None
    root = logging.getLogger()
    root.removeHandler(opened.handler)
    opened.handler.close()
    root.setLevel(opened.root_level)
    for handler, level, fmt in opened.console:
        handler.setLevel(level)
        if isinstance(handler.formatter, WithoutTraceback):
            handler.setFormatter(fmt)


def log_to_file(name: str, message: str, exc_info: BaseException | None = None, level: int = logging.ERROR) -> bool:
    """Write ``message`` (and the traceback of ``exc_info``) to the log file only, as a record of logger ``name``
    at ``level`` (ERROR); False when no file is open."""
    if _open_file is None:
        return False
    error = (type(exc_info), exc_info, exc_info.__traceback__) if exc_info is not None else None
    record = logging.getLogger(name).makeRecord(name, level, __file__, 0, "%s", (message,), error)
    _open_file.handler.handle(record)
    return True


def child_logging_env() -> dict[str, str]:
    """Environment variables giving a child process this process's console level, format and log file."""
    env = {LEVEL_ENV: str(logging.getLevelName(console_level())), FORMAT_ENV: _current_format, FILE_ENV: ""}
    if _open_file is not None:  # else "": a file this process could not open is not tried again by the child
        env.update(_open_file.handler.log_file.env())
    return env


def configure_from_env(default_level: int = logging.WARNING) -> None:
    """Set up logging from :data:`LEVEL_ENV`, :data:`FORMAT_ENV` and the log file's variables (set by the
    parent's :func:`child_logging_env`), else text at ``default_level`` and no file."""
    level = logging.getLevelName(os.environ.get(LEVEL_ENV, "") or default_level)
    if not isinstance(level, int):
        level = default_level
    fmt = os.environ.get(FORMAT_ENV, "text")
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    use_format(fmt if fmt in FORMATS else "text")
    log_file = LogFile.from_env(dict(os.environ))
    if log_file is not None:
        open_log_file(log_file)
