"""Files the command line writes (a report, an export, a model, a diagram), replaced whole or not at all.

:func:`atomic_output` writes to a temporary file in the destination's folder, flushes it to disk (``fsync``) and
renames it over the destination only when everything was written; on any error the temporary file is removed
and the destination is as it was, so a full disk never leaves half a report where a good one stood. An
``OSError`` on the way becomes :class:`WriteFailed`, whose message is the one line a command prints:
``cannot write PATH: No space left on device``. :func:`check_writable` refuses a path that cannot be written
before a command does the work whose result it would hold.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class WriteFailed(OSError):
    """A file could not be written; ``str()`` is ``cannot write PATH: reason`` (errno and strerror kept)."""

    def __init__(self, path: Path | str, cause: OSError):
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def check_writable(path: Path | str) -> None:
    """Refuse, before any work is done, a file that cannot be written: :class:`WriteFailed` saying why (it is a
    folder, a "folder" on its way is a file, or the folder it goes in is not writable). Missing folders on the way
    are fine for a writer that creates them; this only checks the nearest one that exists."""
    path = Path(path)
    if path.is_dir():
        raise WriteFailed(path, IsADirectoryError(errno.EISDIR, "it is a folder"))
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise WriteFailed(path, NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder"))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteFailed(path, PermissionError(errno.EACCES, f"permission denied (the folder {folder} is not "
                                                              "writable)"))


def _open_temp(fd: int) -> IO[bytes]:
    """The temporary file, open for writing (tests replace this to fill the disk midway)."""
    return open(fd, "wb")  # noqa: SIM115 - closed by atomic_output


def _new_mode(path: Path) -> int:
    """The mode a plain ``open()`` would give: the replaced file's, or 0666 less the umask (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_output(path: Path | str, *, encoding: str | None = None, newline: str | None = None) -> Iterator[IO]:
    """A file to write in place of ``path``: binary, or text with ``encoding`` (and ``newline``, as ``open()``).

    It becomes ``path`` when the block ends without an error (flushed, fsynced, renamed; the folder fsynced); an
    error removes it and leaves ``path`` untouched. Raises :class:`WriteFailed` for an ``OSError``."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteFailed(path, exc) from None
    temp = Path(name)
    try:
        with _open_temp(fd) as raw:
            fh = io.TextIOWrapper(raw, encoding=encoding, newline=newline) if encoding else raw
            yield fh
            fh.flush()
            os.fsync(raw.fileno())
            if fh is not raw:
                fh.detach()
        os.chmod(temp, _new_mode(path))
        os.replace(temp, path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteFailed):
            raise WriteFailed(path, exc) from exc
        raise
    _sync_folder(path.parent)


def atomic_write(path: Path | str, data: bytes | str) -> Path:
    """Replace ``path`` with ``data`` (text is written as UTF-8) through :func:`atomic_output`; return the path."""
    with atomic_output(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
