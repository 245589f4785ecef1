"""The ``jobtrend sources`` use cases: list sources, add boards by name, import a list, enable or disable one,
switch the shipped registry on, and find the board a careers page embeds.

Every change goes to the user's configuration, never only to the database, so that the next ``init`` keeps it:
``sources add`` and ``disable``/``enable`` edit ``sources.toml`` as text (a ``[[sources]]`` table appended, one
``enabled`` line set; its comments stay as they were), ``sources import`` writes ``registry/imported.csv``, and
``use-registry`` sets ``[registry] include``. Each new file is checked (parsed and loaded as ``init`` would load
it) before it replaces the old one atomically (:func:`jobtrend.files.atomic_output`): a refused change leaves the
configuration as it was. When the database is initialised its ``sources`` table is synced at once, as ``init``
does, so ``jobtrend sources`` shows the change.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import tempfile
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from protego import Protego

from crawler.probe import fetch, first_url, probe
from crawler.run import SPIDERS, crawl_settings
from jobtrend.addresses import url_refusal
from jobtrend.app import AppError
from jobtrend.config import SOURCE_KINDS, Config, ConfigError, SourceConfig, load_config, load_sources
from jobtrend.config.sources import REGISTRY_FOLDER, registry_include
from jobtrend.db import DatabaseUnavailable, SchemaMissing, open_engine, require_schema, session_factory, sync_sources
from jobtrend.files import atomic_output
from jobtrend.health import STATES, explain_error, health_rows
from jobtrend.messages import error_message
from jobtrend.reasons import with_words
from jobtrend.registry import (
    IMPORTED,
    REGISTRY_KINDS,
    Board,
    RegistryError,
    parse_board,
    read_board_list,
    read_registry,
    registry_text,
)

TABLE_WIDTH = 100  # `jobtrend sources` fits a 100-column terminal
LIST_COLUMNS = ("source", "health", "last_ok", "open", "fails", "last_error")
SOURCE_WIDTH = 34
GONE_CODES = ("http_404", "http_410")
SOURCES_HEADER = re.compile(r"^\s*\[\[\s*sources\s*\]\]\s*(#.*)?$")
ANY_HEADER = re.compile(r"^\s*\[")
ENABLED_LINE = re.compile(r"^\s*enabled\s*=")
KEY_LINE = re.compile(r"^\s*key\s*=")
REGISTRY_HEADER = re.compile(r"^\s*\[\s*registry\s*\]\s*(#.*)?$")
INCLUDE_LINE = re.compile(r"^\s*include\s*=")
LINK = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>()\\]*""")
JSONLD_SCRIPT = re.compile(r"""<script[^>]*type\s*=\s*["']?application/ld\+json[^>]*>(.*?)</script>""", re.I | re.S)
MICRODATA_POSTING = re.compile(r"""itemtype\s*=\s*["']?https?://schema\.org/JobPosting""", re.I)
SHOWN_LINES = 10  # line numbers listed in an import's one-line summary


# ------------------------------------------------------------------------------------------------ listing

@dataclass(frozen=True)
class SourceList:
    """The sources to show (``rows``, full health rows) and the counts of the whole selection by kind and
    health (``total`` before ``limit``)."""

    rows: list[tuple]
    total: int
    by_kind: dict[str, int]
    by_health: dict[str, int]

    def summary(self) -> str:
        """``5929 sources (showing 50): ashby 1625, greenhouse 2556, ...; health: new 5870, ok 50, gone 9``."""
        shown = f" (showing {len(self.rows)})" if len(self.rows) < self.total else ""
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.by_kind.items())
        states = ", ".join(f"{state} {n}" for state, n in self.by_health.items())
        return f"{self.total} sources{shown}: {kinds or 'none'}; health: {states or 'none'}"


def list_sources(config: Config, *, kinds: tuple[str, ...] = (), health: tuple[str, ...] = (),
                 limit: int | None = None, include_disabled: bool = False) -> SourceList:
    """The sources of the database, troubled first, narrowed to ``kinds`` and ``health`` states."""
    with open_engine(config.database_url) as engine, session_factory(engine)() as session:
        rows = health_rows(session, include_disabled=include_disabled)
    rows = [r for r in rows if (not kinds or r[0].split(":", 1)[0] in kinds) and (not health or r[2] in health)]
    by_kind = Counter(r[0].split(":", 1)[0] for r in rows)
    by_health = Counter(r[2] or "new" for r in rows)
    return SourceList(rows=rows[:limit] if limit else rows, total=len(rows),
                      by_kind={k: by_kind[k] for k in SOURCE_KINDS if by_kind[k]},
                      by_health={s: by_health[s] for s in STATES if by_health[s]})


def compact_rows(rows: list[tuple]) -> list[tuple]:
    """Health rows cut to :data:`LIST_COLUMNS`, every line within :data:`TABLE_WIDTH` columns: the source name
    shortened, days without the time, the last error in words and shortened to the room left."""
    cut = [(_shorten(r[0], SOURCE_WIDTH), r[2] or "new", (r[4] or "")[:10] or None, r[6], r[7],
            explain_error(r[8]) if r[8] else None) for r in rows]
    widths = [max([len(LIST_COLUMNS[i])] + [len(str(c[i] or "")) for c in cut]) for i in range(5)]
    room = TABLE_WIDTH - sum(widths) - 2 * len(widths)
    return [(*c[:5], _shorten(c[5], room)) for c in cut]


def _shorten(text: str | None, width: int) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[:max(width - 3, 1)] + "..."


# ------------------------------------------------------------------------------------------------ adding

@dataclass(frozen=True)
class Change:
    """What a change of the configuration did: the line to print, the file written, whether the database's
    ``sources`` table was synced (False: it is not initialised yet)."""

    message: str
    path: Path
    synced: bool

    def line(self) -> str:
        return self.message + ("" if self.synced else "; `jobtrend init` loads it into the database")


def add_board(config: Config, text: str, *, company: str | None = None, offline: bool = False,
              api_base: str | None = None) -> Change:
    """Add the board ``text`` names (a board URL or ``kind:token``) to sources.toml, after checking it exists
    (one GET of its API, unless ``offline``; ``api_base`` sends it elsewhere, as `jobtrend crawl --api-base`)."""
    board = parse_board(text)
    if board is None:
        raise AppError(f"not a board URL or kind:token: {text!r} (e.g. https://jobs.ashbyhq.com/acme, "
                       "greenhouse:acme; `jobtrend sources find URL` reads a careers page)")
    known = _configured(config, board)
    if known is not None:
        raise AppError(f"{known.label} is already configured ({'enabled' if known.enabled else 'disabled'})")
    checked = "not checked (--offline)"
    if not offline:
        board, checked = _check_online(config, board, api_base)
    path = config.config_dir / "sources.toml"
    source = _source_of(board, company)
    table = _toml_table(source, f"added by `jobtrend sources add` on {dt.date.today().isoformat()}")
    _write_checked(path, _appended(_read_text(path), table), config)
    name = f" ({company})" if company else ""
    return Change(f"added {board.label}{name} to {path}: {checked}", path, _sync_database(config.config_dir))


def _configured(config: Config, board: Board) -> SourceConfig | None:
    """The configured source that is ``board`` (same kind, same token ignoring case), enabled or not."""
    return next((s for s in config.sources if (s.kind, s.key.casefold()) == board.ident), None)


def _check_online(config: Config, board: Board, api_base: str | None) -> tuple[Board, str]:
    """Ask the board's API once, as a crawl would (robots.txt, the User-Agent, the timeout); return the board
    (on Lever's EU instance when only it knows the site) and what was found. A board the API does not know is an
    error, and so is a failure to ask (the network, a server error): adding it unchecked takes ``--offline``."""
    settings = crawl_settings(config, api_base=api_base)
    crawl = config.crawl
    candidates = [board] + ([Board(board.kind, board.token, region="eu")]
                            if board.kind == "lever" and board.region is None else [])
    for candidate in candidates:
        url = first_url(settings, _source_of(candidate, None), SPIDERS)
        result = probe(url, user_agent=crawl.user_agent, timeout=crawl.download_timeout,
                       delay=crawl.download_delay, obey_robots=crawl.obey_robots_txt)
        if result.ok:
            return candidate, f"checked, {result.detail}"
        if result.reason not in GONE_CODES:
            raise AppError(f"could not check {board.label}: {result.detail}; retry, or add it unchecked with "
                           "--offline")
    raise AppError(f"no such board: {board.label} ({explain_error(result.reason)}; check the token's spelling "
                   "and capitals in the board's URL)")


def _source_of(board: Board, company: str | None) -> SourceConfig:
    return SourceConfig(kind=board.kind, key=board.token, company=company or board.company,
                        options={"region": board.region} if board.region else {})


def _toml_table(source: SourceConfig, comment: str, enabled: bool | None = None) -> str:
    """A ``[[sources]]`` table for ``source`` (TOML basic strings: JSON's escapes are TOML's)."""
    lines = ["[[sources]]", f"kind = {_toml_string(source.kind)}", f"key = {_toml_string(source.key)}  # {comment}"]
    if source.company:
        lines.append(f"company = {_toml_string(source.company)}")
    lines += [f"{k} = {_toml_string(v)}" for k, v in source.options.items()]
    if enabled is not None:
        lines.append(f"enabled = {'true' if enabled else 'false'}")
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _appended(text: str, table: str) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text.strip() else "") + table


# ------------------------------------------------------------------------------------------------ importing

@dataclass(frozen=True)
class ImportResult:
    """What ``sources import`` did: boards added, and the rows left out (line numbers)."""

    added: int
    duplicates: list[int]
    unrecognised: list[int]
    path: Path
    synced: bool

    def line(self) -> str:
        unrecognised = f"{len(self.unrecognised)} unrecognised" + (
            f" ({'lines' if len(self.unrecognised) > 1 else 'line'} {_line_numbers(self.unrecognised)})"
            if self.unrecognised else "")
        text = f"added {self.added}, duplicate {len(self.duplicates)}, {unrecognised}; written to {self.path}"
        return text + ("" if self.synced or not self.added else "; `jobtrend init` loads them into the database")


def _line_numbers(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:SHOWN_LINES]))
    return shown + (f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")


def import_boards(config: Config, csv_path: Path) -> ImportResult:
    """Add every board URL of a ``name,url`` CSV file to ``registry/imported.csv``; duplicates (of configured
    boards or earlier rows) and rows that are no board URL are counted, not added. All or nothing: the file is
    replaced whole, after the new configuration was checked."""
    known = {(s.kind, s.key.casefold()) for s in config.sources}
    origin = f"{csv_path.name} (imported {dt.date.today().isoformat()})"
    try:
        found = read_board_list(csv_path, origin=origin, known=known)
    except RegistryError as exc:
        raise AppError(f"cannot import {exc}") from None
    if not found.boards and not found.duplicates:
        raise AppError(f"no board URL in {csv_path} ({len(found.unrecognised)} rows unrecognised; expected "
                       "name,url rows such as Acme,https://jobs.ashbyhq.com/acme)")
    path = config.config_dir / REGISTRY_FOLDER / f"{IMPORTED}.csv"
    if found.boards:
        existing = _imported_boards(path)
        _write_checked(path, registry_text(existing + found.boards), config)
    synced = _sync_database(config.config_dir) if found.boards else False
    return ImportResult(len(found.boards), found.duplicates, found.unrecognised, path, synced)


def _imported_boards(path: Path) -> list[Board]:
    if not path.exists():
        return []
    try:
        return read_registry(path)
    except RegistryError as exc:
        raise AppError(f"cannot read {exc}") from None


# ------------------------------------------------------------------------------------------------ enabling

def set_enabled(config: Config, text: str, enabled: bool) -> Change:
    """Enable or disable the configured source ``text`` names (``kind:key`` or a board URL): its ``enabled``
    line in sources.toml, or, for a board of the registry, an overriding ``[[sources]]`` table."""
    source = _find_source(config, text)
    state = "enabled" if enabled else "disabled"
    path = config.config_dir / "sources.toml"
    if source.enabled == enabled:
        return Change(f"{source.label} is already {state}", path, True)
    original = _read_text(path)
    index = _table_index(original, source)
    if index is None:  # a registry board: a table of its own overrides the registry's row
        table = _toml_table(source, f"{state} by `jobtrend sources` on {dt.date.today().isoformat()}", enabled)
        _write_checked(path, _appended(original, table), config)
    else:
        _write_checked(path, _with_enabled(path, original, index, enabled), config)
    return Change(f"{state} {source.label} in {path}", path, _sync_database(config.config_dir))


def _find_source(config: Config, text: str) -> SourceConfig:
    kind, _, key = text.strip().partition(":")
    wanted = (kind.lower(), key.strip()) if kind.lower() in SOURCE_KINDS and not key.startswith("//") else None
    if wanted is None:
        board = parse_board(text)
        wanted = (board.kind, board.token) if board else None
    if wanted is not None:
        exact = next((s for s in config.sources if (s.kind, s.key) == wanted), None)
        folded = next((s for s in config.sources if (s.kind, s.key.casefold()) == (wanted[0], wanted[1].casefold())),
                      None)
        if exact or folded:
            return exact or folded
    raise AppError(f"no source {text!r} in sources.toml or the registry it includes (`jobtrend sources --all` "
                   "lists them as kind:key)")


def _table_spans(path: Path, text: str) -> list[tuple[int, int]]:
    """The line range of each ``[[sources]]`` table of sources.toml, in order; refuses a file whose tables are not
    written one ``[[sources]]`` header a table (then it must be edited by hand)."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if SOURCES_HEADER.match(line)]
    if len(starts) != len(tomllib.loads(text).get("sources", [])):
        raise AppError(f"cannot edit {path}: its [[sources]] tables are not written one header a line; edit it by "
                       "hand")
    spans = []
    for start in starts:
        end = next((i for i in range(start + 1, len(lines)) if ANY_HEADER.match(lines[i])), len(lines))
        spans.append((start, end))
    return spans


def _table_index(text: str, source: SourceConfig) -> int | None:
    tables = tomllib.loads(text).get("sources", [])
    return next((i for i, t in enumerate(tables) if (t.get("kind"), t.get("key")) == (source.kind, source.key)),
                None)


def _with_enabled(path: Path, text: str, index: int, enabled: bool) -> str:
    """``text`` with table ``index``'s ``enabled`` line set (added after its ``key`` line when it has none)."""
    lines = text.splitlines(keepends=True)
    start, end = _table_spans(path, text)[index]
    value = f"enabled = {'true' if enabled else 'false'}\n"
    line = next((i for i in range(start, end) if ENABLED_LINE.match(lines[i])), None)
    if line is not None:
        lines[line] = value
    else:
        after = next((i for i in range(start, end) if KEY_LINE.match(lines[i])), start)
        if not lines[after].endswith("\n"):
            lines[after] += "\n"
        lines.insert(after + 1, value)
    edited = "".join(lines)
    if tomllib.loads(edited)["sources"][index].get("enabled", True) != enabled:
        raise AppError(f"cannot edit {path}: table {index + 1} has an unusual layout; set enabled by hand")
    return edited


# ------------------------------------------------------------------------------------------------ the registry

def use_registry(config: Config, names: tuple[str, ...]) -> Change:
    """Set ``[registry] include`` of sources.toml to ``names`` (registry files; empty: the registry is off)."""
    path = config.config_dir / "sources.toml"
    folder = config.config_dir / REGISTRY_FOLDER
    for name in names:
        if not (folder / f"{name}.csv").is_file():
            raise AppError(f"no registry file {folder / (name + '.csv')}")
    _write_checked(path, _with_include(path, _read_text(path), names), config)
    reloaded = load_config(config.config_dir)
    counts = Counter(s.kind for s in reloaded.sources if s.enabled)
    crawled = ", ".join(f"{kind} {counts[kind]}" for kind in SOURCE_KINDS if counts[kind])
    what = f"registry: {', '.join(names)}" if names else "registry off"
    return Change(f"{what} in {path}; {sum(counts.values())} enabled sources ({crawled})", path,
                  _sync_database(config.config_dir))


def registry_names(config: Config) -> tuple[str, ...]:
    """The registry files ``[registry] include`` of sources.toml names."""
    path = config.config_dir / "sources.toml"
    return registry_include(path, tomllib.loads(_read_text(path)).get("registry", {}))


def _with_include(path: Path, text: str, names: tuple[str, ...]) -> str:
    value = "include = [" + ", ".join(_toml_string(n) for n in names) + "]\n"
    lines = text.splitlines(keepends=True)
    header = next((i for i, line in enumerate(lines) if REGISTRY_HEADER.match(line)), None)
    if header is None:
        return _appended(text, "[registry]  # the registry files (registry/<name>.csv) crawled too; docs/sources.md\n"
                               + value)
    end = next((i for i in range(header + 1, len(lines)) if ANY_HEADER.match(lines[i])), len(lines))
    line = next((i for i in range(header + 1, end) if INCLUDE_LINE.match(lines[i])), None)
    if line is None:
        lines.insert(header + 1, value)
    else:
        lines[line] = value
    edited = "".join(lines)
    try:
        found = tuple(tomllib.loads(edited).get("registry", {}).get("include", []))
    except tomllib.TOMLDecodeError:
        found = None
    if found != names:
        raise AppError(f"cannot edit {path}: [registry] include spans several lines; edit it by hand")
    return edited


# ------------------------------------------------------------------------------------------------ writing

def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise AppError(f"cannot read {path}: {error_message(exc)}") from None


def _write_checked(path: Path, text: str, config: Config) -> None:
    """Replace ``path`` (sources.toml or a registry file) with ``text`` atomically, after checking that the
    configuration with the new file loads; a check that fails leaves the file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobtrend-sources-check.") as scratch:
        trial = Path(scratch)
        (trial / REGISTRY_FOLDER).mkdir()
        for registry_file in (config.config_dir / REGISTRY_FOLDER).glob("*.csv"):
            (trial / REGISTRY_FOLDER / registry_file.name).symlink_to(registry_file.resolve())
        relative = path.relative_to(config.config_dir)
        (trial / relative).unlink(missing_ok=True)
        (trial / relative).write_text(text, encoding="utf-8")
        if relative != Path("sources.toml"):
            (trial / "sources.toml").write_bytes((config.config_dir / "sources.toml").read_bytes())
        try:
            load_sources(trial / "sources.toml", allow_private_addresses=config.crawl.allow_private_addresses)
        except (ConfigError, tomllib.TOMLDecodeError) as exc:
            raise AppError(f"not written, the result would not load: {exc}") from None
    with atomic_output(path, encoding="utf-8", newline="") as fh:
        fh.write(text)


def _sync_database(config_dir: Path) -> bool:
    """Sync the ``sources`` table with the configuration as ``init`` does, when the database is initialised."""
    config = load_config(config_dir)
    try:
        require_schema(config.database_url)
    except (SchemaMissing, DatabaseUnavailable):
        return False
    with open_engine(config.database_url) as engine, session_factory(engine).begin() as session:
        sync_sources(session, config.sources)
    return True


# ------------------------------------------------------------------------------------------------ finding

@dataclass
class FindResult:
    """The boards a careers page links or embeds (each with how often), and whether it carries schema.org
    JobPosting markup itself."""

    url: str
    boards: list[tuple[Board, int]] = field(default_factory=list)
    job_posting_markup: bool = False


def find_boards(config: Config, url: str) -> FindResult:
    """Read ``url`` once (robots.txt first, the configured User-Agent and timeout) and report the Ashby,
    Greenhouse and Lever boards it links or embeds, and any schema.org JobPosting markup."""
    refusal = url_refusal(url, config.crawl.allow_private_addresses)
    if refusal:
        raise AppError(f"cannot read {url}: " + {"scheme": "not an http:// or https:// URL",
                                                 "host": "no host name"}.get(
            refusal, "a private, loopback or link-local address (crawl.allow_private_addresses permits them)"))
    page = _fetch_page(config, url)
    return FindResult(url, boards_in_page(page, url), has_job_posting(page))


def _fetch_page(config: Config, url: str) -> str:
    crawl = config.crawl
    if crawl.obey_robots_txt:
        parts = urlsplit(url)
        status, body = _get(f"{parts.scheme}://{parts.netloc}/robots.txt", config, url)
        if status == 200 and not Protego.parse(body.decode("utf-8", "replace")).can_fetch(url, crawl.user_agent):
            raise AppError(f"robots.txt of {parts.netloc} forbids reading {url}")
    status, body = _get(url, config, url)
    if status != 200:
        raise AppError(f"cannot read {url}: {explain_error(f'http_{status}')}")
    return body.decode("utf-8", "replace")


def _get(url: str, config: Config, page: str) -> tuple[int, bytes]:
    """One GET by the crawler's own bounded fetch (:func:`crawler.probe.fetch`); no answer is one line."""
    crawl = config.crawl
    status, body, reason = fetch(url, crawl.user_agent, crawl.download_timeout, crawl.download_maxsize)
    if reason:
        raise AppError(f"cannot read {page}: {with_words(reason, urlsplit(url).hostname)}")
    return status, body


def boards_in_page(page: str, base_url: str) -> list[tuple[Board, int]]:
    """The boards the links and scripts of an HTML page name, most mentioned first."""
    counts: Counter[Board] = Counter()
    for link in LINK.findall(html.unescape(page)):
        board = parse_board(urljoin(base_url, link))
        if board is not None and board.kind in REGISTRY_KINDS:
            counts[Board(board.kind, board.token, region=board.region)] += 1
    return counts.most_common()


def has_job_posting(page: str) -> bool:
    """Whether the page carries schema.org JobPosting markup (JSON-LD or microdata)."""
    if MICRODATA_POSTING.search(page):
        return True
    for script in JSONLD_SCRIPT.findall(page):
        try:
            data = json.loads(script.strip())
        except (ValueError, RecursionError):  # not JSON, or nested past Python's recursion limit
            continue
        if _mentions_job_posting(data):
            return True
    return False


def _mentions_job_posting(data) -> bool:
    if isinstance(data, list):
        return any(_mentions_job_posting(item) for item in data)
    if not isinstance(data, dict):
        return False
    kind = data.get("@type")
    if kind == "JobPosting" or (isinstance(kind, list) and "JobPosting" in kind):
        return True
    return _mentions_job_posting(data.get("@graph", []))
