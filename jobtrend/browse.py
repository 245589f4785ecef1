"""What `jobtrend browse` hands to Datasette: the SQLite file to open and the metadata that describes it.

Datasette (the optional ``browse`` extra) serves one SQLite database in a web UI and a JSON API. jobtrend gives
it a metadata document built from ``docs/schema.md``: a title, a description and a source note, every cookbook
recipe as a canned query (read-only: never ``write: true``), and the meaning of every column of every table and
view. The database is opened in Datasette's default *mutable* mode, in which every query connection is
``file:...?mode=ro``: Datasette sees what the crawler or the scheduler writes meanwhile, and cannot write
itself. Immutable mode (``-i``) is used only for a file in a folder that cannot be written (a snapshot on a
read-only mount: SQLite cannot create WAL's -shm there, and nothing writes the file), because it tells SQLite the
file never changes, which gives stale or wrong answers while a scheduler writes to it.

This module does not import Datasette; `jobtrend.cli.browse` runs it.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from jobtrend.cookbook import SCHEMA_DOC, Recipe, column_descriptions, load_cookbook
from jobtrend.db import open_engine

TITLE = "jobtrend"
DESCRIPTION = ("Job postings for AI engineering roles from public job boards (Ashby, Greenhouse, Lever), Hacker "
               "News \"Who is hiring?\" threads and schema.org JobPosting markup, with the frameworks each posting "
               "mentions, the role classifier's verdict and weekly framework shares. Read-only. Column meanings "
               "come from docs/schema.md; the cookbook's questions are listed under Queries.")
SOURCE = "Public job boards and Hacker News \"Who is hiring?\" threads, crawled by jobtrend"
LICENSE = "Posting texts belong to the employers that published them; use them for analysis, do not republish"
HIDDEN_TABLES = ("alembic_version",)  # bookkeeping of the migrations, not data

# Datasette settings (``--setting NAME VALUE``) that keep a browsing session cheap and harmless.
SETTINGS: dict[str, str] = {
    "allow_download": "off",  # no download of the whole file (Datasette refuses it for mutable files anyway)
    "trace_debug": "off",
    "template_debug": "off",
    "max_returned_rows": "1000",
}
DEFAULT_SQL_TIME_LIMIT_MS = 5000
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


class BrowseError(Exception):
    """The database cannot be browsed (not SQLite, missing, not initialised); the message says what to do."""


def sqlite_path(database_url: str) -> Path:
    """The SQLite file of ``database_url``, checked to exist and hold the jobtrend schema, without writing to it.

    A PostgreSQL (or any non-SQLite) URL is refused before anything connects to it.
    """
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "sqlite":
        raise BrowseError(f"jobtrend browse needs SQLite, not {parsed.get_backend_name()}; "
                          "use jobtrend sql or a PostgreSQL client")
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BrowseError(f"jobtrend browse needs a SQLite file, not {database or 'an in-memory database'}")
    path = Path(database).resolve()
    if not path.is_file():
        raise BrowseError(f"no SQLite database at {path}; run `jobtrend init` first")
    _require_tables(path)
    return path


def _require_tables(path: Path) -> None:
    with open_engine(f"sqlite:///{path}", read_only=True) as engine:
        if not inspect(engine).has_table("postings"):
            raise BrowseError(f"database {path} has no jobtrend tables: run `jobtrend init` first")


def database_name(path: Path) -> str:
    """The name Datasette gives the file (its stem), used in URLs and in the metadata."""
    return path.stem


def read_docs(schema_doc: Path = SCHEMA_DOC) -> tuple[list[Recipe], dict[str, dict[str, str]]]:
    """The cookbook recipes and column meanings of ``schema_doc``; a broken cookbook raises ValueError and a
    missing file FileNotFoundError."""
    return load_cookbook(schema_doc), column_descriptions(schema_doc)


def plain(markdown: str) -> str:
    """Markdown inline code and links as plain text (Datasette shows descriptions as text):
    "`postings.id`, see [alerts.md](alerts.md)" -> "postings.id, see alerts.md"."""
    return _LINK.sub(r"\1", markdown).replace("`", "")


def build_metadata(db_name: str, recipes: list[Recipe], columns: dict[str, dict[str, str]], *,
                   db_description: str = "") -> dict[str, Any]:
    """Datasette metadata for database ``db_name``: each recipe a canned query named by its slug (read-only: no
    ``write`` key), each table or view of ``columns`` with its column descriptions."""
    queries = {recipe.slug: {"title": plain(recipe.title), "description": plain(recipe.description), "sql": recipe.sql}
               for recipe in recipes}
    tables: dict[str, dict[str, Any]] = {
        table: {"columns": {column: plain(meaning) for column, meaning in meanings.items()}}
        for table, meanings in columns.items()}
    for hidden in HIDDEN_TABLES:
        tables.setdefault(hidden, {})["hidden"] = True
    database: dict[str, Any] = {"tables": tables, "queries": queries}
    if db_description:
        database["description"] = db_description
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "source": SOURCE,
        "license": LICENSE,
        "databases": {db_name: database},
    }


def serve_arguments(path: Path, metadata_file: Path, *, host: str, port: int, open_browser: bool,
                    sql_time_limit_ms: int = DEFAULT_SQL_TIME_LIMIT_MS, immutable: bool = False) -> list[str]:
    """The ``datasette serve`` arguments: the file in mutable (``mode=ro``) mode, or with ``immutable`` as ``-i``
    (a read-only folder); never ``--root``, ``--cors`` or ``--crossdb``."""
    database = ["-i", str(path)] if immutable else [str(path)]
    args = ["serve", *database, "--host", host, "--port", str(port), "--metadata", str(metadata_file)]
    settings = SETTINGS | {"sql_time_limit_ms": str(sql_time_limit_ms)}
    for name, value in settings.items():
        args += ["--setting", name, value]
    if open_browser:
        args.append("--open")
    return args


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
