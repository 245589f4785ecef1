"""The SQL cookbook and column meanings, read from ``docs/schema.md`` so the docs are the single source.

``docs/schema.md`` has a ``## Cookbook`` section in which each recipe is a ``### Question?`` heading, an optional
paragraph saying how to read the answer, and one fenced ``sql`` block. Each ``### `name`...`` heading elsewhere
introduces a table or view, followed by a ``| column | type | meaning |`` table; a row may name several columns
(``| `started_at`, `finished_at` | timestamp | ... |``).

Both are used by ``jobtrend browse`` (Datasette canned queries and column descriptions) and by the tests that
run every recipe on the demo database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jobtrend.config import REPO_ROOT

SCHEMA_DOC = REPO_ROOT / "docs" / "schema.md"
COOKBOOK_HEADING = "## Cookbook"
_SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
_NAME = re.compile(r"`([^`]+)`")
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")  # a markdown table cell may hold an escaped "\|"


@dataclass(frozen=True)
class Recipe:
    """One cookbook query: a question, how to read its answer, and the SQL that answers it."""

    slug: str  # e.g. "vector-databases-that-grew-most-last-quarter"
    title: str  # the question, as the heading says it
    description: str  # the paragraph between heading and query ("" when none)
    sql: str  # the query, without a trailing semicolon


def _sections(text: str, level: str) -> list[tuple[str, str]]:
    """(heading, body) for every heading of exactly ``level`` (e.g. "###") in ``text``."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.M)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def slugify(title: str, max_length: int = 60) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > max_length:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug


def cookbook_section(path: Path = SCHEMA_DOC) -> str:
    """The text of the ``## Cookbook`` section (up to the next ``## `` heading)."""
    text = path.read_text(encoding="utf-8")
    start = text.find(f"\n{COOKBOOK_HEADING}\n")
    if start < 0:
        raise ValueError(f"{path}: no '{COOKBOOK_HEADING}' section")
    rest = text[start + len(COOKBOOK_HEADING) + 2:]
    end = re.search(r"^## ", rest, flags=re.M)
    return rest[:end.start()] if end else rest


def load_cookbook(path: Path = SCHEMA_DOC) -> list[Recipe]:
    """Every recipe of the cookbook, in document order; a recipe heading without exactly one sql block is an
    error (the docs are broken, not the caller)."""
    recipes: list[Recipe] = []
    for title, body in _sections(cookbook_section(path), "###"):
        blocks = _SQL_BLOCK.findall(body)
        if len(blocks) != 1:
            raise ValueError(f"{path}: cookbook recipe {title!r} has {len(blocks)} sql blocks, expected 1")
        description = " ".join(body[:body.index("```sql")].split())
        recipes.append(Recipe(slugify(title), title, description, blocks[0].strip().rstrip(";").strip()))
    slugs = [r.slug for r in recipes]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"{path}: two cookbook recipes have the same slug")
    return recipes


def column_descriptions(path: Path = SCHEMA_DOC) -> dict[str, dict[str, str]]:
    """``{table or view: {column: meaning}}`` from the column tables of ``docs/schema.md``."""
    described: dict[str, dict[str, str]] = {}
    for heading, body in _sections(path.read_text(encoding="utf-8"), "###"):
        name = _NAME.search(heading)
        if not name:
            continue
        columns: dict[str, str] = {}
        for line in body.splitlines():
            cells = [c.strip().replace("\\|", "|") for c in _CELL_SEPARATOR.split(line.strip().strip("|"))]
            if not line.startswith("|") or len(cells) < 3 or cells[0] in {"column", ""} or set(cells[0]) <= {"-"}:
                continue
            meaning = " | ".join(cells[2:])
            for column in _NAME.findall(cells[0]):
                columns[column] = meaning
        if columns:
            described[name.group(1)] = columns
    return described
