"""The board registry: job boards known by URL, read from CSV files rather than one TOML table each.

A board is named by its kind and token (``ashby:openai``). :func:`parse_board` recognises what a user pastes: a
board URL of each kind (``https://jobs.ashbyhq.com/openai``, ``https://boards.greenhouse.io/acme``,
``https://job-boards.greenhouse.io/acme``, ``https://boards-api.greenhouse.io/v1/boards/acme/jobs``, a
Greenhouse embed ``.../embed/job_board?for=acme``, ``https://jobs.lever.co/acme``, ``https://jobs.eu.lever.co/acme``,
``api.lever.co/v0/postings/acme``) or the short form ``kind:token``. Tokens are normalised: percent-escapes decoded
(``applied%20compute`` is the board ``applied compute``), surrounding blanks removed; their case is kept (Ashby and
Lever tokens are case-sensitive).

A registry file (``config/registry/<name>.csv``) has one board a row: ``kind,token,company,url,origin``.
:func:`read_registry` reads one, refusing a bad row with its line number (:class:`RegistryError`);
:func:`registry_text` writes rows back. :func:`read_board_list` reads a public list of boards as ``name,url``
(the shape of public board lists), keeping the rows that are board URLs, deduplicated, and counting the others.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

REGISTRY_KINDS = ("ashby", "greenhouse", "lever")
COLUMNS = ("kind", "token", "company", "url", "origin")
LIST_COLUMNS = ("name", "url")
IMPORTED = "imported"  # config/registry/imported.csv: the boards `jobtrend sources import` added
MAX_TOKEN = 200
BAD_TOKEN = re.compile(r"[/\\?#\x00-\x1f\x7f]")
# host -> (kind, region, the path segments before the token)
BOARD_HOSTS = {
    "jobs.ashbyhq.com": ("ashby", None, ()),
    "api.ashbyhq.com": ("ashby", None, ("posting-api", "job-board")),
    "boards.greenhouse.io": ("greenhouse", None, ()),
    "job-boards.greenhouse.io": ("greenhouse", None, ()),
    "boards-api.greenhouse.io": ("greenhouse", None, ("v1", "boards")),
    "jobs.lever.co": ("lever", None, ()),
    "jobs.eu.lever.co": ("lever", "eu", ()),
    "api.lever.co": ("lever", None, ("v0", "postings")),
    "api.eu.lever.co": ("lever", "eu", ("v0", "postings")),
}
EU_LEVER_PAGE = "://jobs.eu.lever.co/"  # a registry row's url on Lever's EU instance
# First path segments of a board host that are pages of the service, not boards
NOT_TOKENS = frozenset({"embed", "api", "v1", "v0", "static", "assets", "robots.txt", "favicon.ico", "_next"})


class RegistryError(ValueError):
    """A registry file that cannot be read: ``str()`` names the file, the line and what was expected."""

    def __init__(self, path: Path, line: int | None, problem: str):
        where = f"{path}, line {line}" if line else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = path, line, problem


@dataclass(frozen=True)
class Board:
    """One board: ``kind`` and ``token`` name it; ``region`` is ``"eu"`` for Lever's EU instance."""

    kind: str
    token: str
    company: str | None = None
    origin: str = ""
    region: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.token}"

    @property
    def ident(self) -> tuple[str, str]:
        """What makes two boards the same: kind and token, ignoring case (one company, two spellings)."""
        return self.kind, self.token.casefold()

    @property
    def url(self) -> str:
        """The board's public page."""
        return board_page(self.kind, self.token, self.region)


def board_page(kind: str, token: str, region: str | None = None) -> str:
    """The public page of a board (where a person would look at it)."""
    token = quote(token, safe="")
    if kind == "ashby":
        return f"https://jobs.ashbyhq.com/{token}"
    if kind == "greenhouse":
        return f"https://job-boards.greenhouse.io/{token}"
    return f"https://jobs.{'eu.' if region == 'eu' else ''}lever.co/{token}"


def normalise_token(raw: str) -> str | None:
    """The token of a board, percent-escapes decoded and blanks stripped; None when it cannot be one."""
    token = unquote(raw).strip()
    if not token or len(token) > MAX_TOKEN or BAD_TOKEN.search(token):
        return None
    return token


def parse_board(text: str) -> Board | None:
    """The board a URL or ``kind:token`` names, or None when it is neither (see the module's docstring)."""
    text = text.strip()
    kind, sep, rest = text.partition(":")
    if sep and kind.lower() in REGISTRY_KINDS and not rest.startswith("//"):
        token = normalise_token(rest)
        return Board(kind.lower(), token) if token else None
    return _board_of_url(text)


def _board_of_url(text: str) -> Board | None:
    url = text if "://" in text else "https://" + text.lstrip("/")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or host not in BOARD_HOSTS:
        return None
    kind, region, prefix = BOARD_HOSTS[host]
    segments = [s for s in parts.path.split("/") if s]
    if kind == "greenhouse" and segments[:1] == ["embed"]:  # boards.greenhouse.io/embed/job_board?for=TOKEN
        wanted = parse_qs(parts.query).get("for", [])
        token = normalise_token(wanted[0]) if wanted else None
        return Board(kind, token) if token else None
    if tuple(segments[:len(prefix)]) != prefix or len(segments) <= len(prefix):
        return None
    raw = segments[len(prefix)]
    if raw.lower() in NOT_TOKENS:
        return None
    token = normalise_token(raw)
    return Board(kind, token, region=region) if token else None


@dataclass
class BoardList:
    """A list of boards read from a file: the boards, and what was left out (line numbers)."""

    boards: list[Board] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    unrecognised: list[int] = field(default_factory=list)
    wrong_kind: list[int] = field(default_factory=list)


def read_board_list(path: Path, *, origin: str, kind: str | None = None,
                    known: Iterable[tuple[str, str]] = ()) -> BoardList:
    """The boards of a ``name,url`` CSV file (a header row first), in file order, each once.

    A row whose url is not a board URL (or ``kind:token``) is counted in ``unrecognised``; a board already in
    ``known`` (:attr:`Board.ident`) or earlier in the file in ``duplicates``; with ``kind``, a board of another kind
    in ``wrong_kind``. Line numbers count the header as line 1. Raises :class:`RegistryError` for a file that is
    not such a CSV (unreadable, not UTF-8, no ``url`` column)."""
    result = BoardList()
    seen = set(known)
    for line, row in _csv_rows(path, required=("url",)):
        board = parse_board(row.get("url") or "")
        if board is None:
            result.unrecognised.append(line)
        elif kind is not None and board.kind != kind:
            result.wrong_kind.append(line)
        elif board.ident in seen:
            result.duplicates.append(line)
        else:
            seen.add(board.ident)
            name = (row.get("name") or "").strip() or None
            result.boards.append(Board(board.kind, board.token, name, origin, board.region))
    return result


def read_registry(path: Path) -> list[Board]:
    """The boards of one registry file (``kind,token,company,url,origin``), each checked: a kind jobtrend crawls,
    a token, no board twice."""
    boards, seen = [], {}
    for line, row in _csv_rows(path, required=("kind", "token")):
        kind = (row.get("kind") or "").strip()
        if kind not in REGISTRY_KINDS:
            raise RegistryError(path, line, f"kind must be one of {', '.join(REGISTRY_KINDS)}, not {kind!r}")
        token = (row.get("token") or "").strip()  # stored decoded: a "%" in it is the token's own
        if not token or len(token) > MAX_TOKEN or BAD_TOKEN.search(token):
            raise RegistryError(path, line, f"token {row.get('token')!r} is not a board token")
        region = "eu" if kind == "lever" and EU_LEVER_PAGE in (row.get("url") or "") else None
        board = Board(kind, token, (row.get("company") or "").strip() or None, (row.get("origin") or "").strip(),
                      region)
        ident = board.ident
        if ident in seen:
            raise RegistryError(path, line, f"{board.label} is listed already on line {seen[ident]}")
        seen[ident] = line
        boards.append(board)
    return boards


def registry_text(boards: Iterable[Board]) -> str:
    """A registry file holding ``boards``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((b.kind, b.token, b.company or "", b.url, b.origin) for b in boards)
    return buf.getvalue()


def _csv_rows(path: Path, *, required: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV file with a header, the header's names lower-cased and stripped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RegistryError(path, None, "no such file") from None
    except UnicodeDecodeError:
        raise RegistryError(path, None, "not UTF-8 text (save it as UTF-8 CSV)") from None
    except OSError as exc:
        raise RegistryError(path, None, exc.strerror or str(exc)) from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise RegistryError(path, 1, f"the header must name the columns {', '.join(required)} (found "
                                     f"{', '.join(header) or 'nothing'})")
    rows = []
    for values in reader:
        if any(v.strip() for v in values):
            rows.append((reader.line_num, dict(zip(header, values, strict=False))))
    return rows
