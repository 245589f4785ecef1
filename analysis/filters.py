"""Which postings a number is about: remote or not, a place, a company (``--remote/--no-remote``, ``--location``,
``--company`` of ``jobtrend trends``, ``report`` and ``export``).

:class:`PostingFilter` turns those options into SQLAlchemy conditions on anything with the posting columns
``remote``, ``location`` and ``company``: the ``Posting`` model, the ``postings`` table, an alias of either, or the
``posting_facts`` view (where ``remote`` is 0/1). The same filter gives the same postings on SQLite and
PostgreSQL:

- ``remote``: True keeps the postings marked remote, False those marked not remote; a posting whose source does
  not say (``remote`` NULL) is in neither.
- ``location``: a case-insensitive substring of the posting's location ("berlin" keeps "Berlin, Germany" and
  "Remote (Berlin or London)"); a posting without a location is left out.
- ``company``: a case-insensitive substring of the company name, like ``location`` ("openai" keeps "OpenAI" and
  "OpenAI Inc."). A substring, not an exact match, because the same employer is written several ways across
  sources; the price is that "meta" also keeps "Metabase", which ``describe()`` in a header makes visible.

Case is folded by Python's ``str.lower()`` for the text asked for and SQL ``lower()`` for the column. SQLite's
``lower()`` folds ASCII letters only, so there a location stored as "MÜNCHEN" is not found by "München" (PostgreSQL
folds every letter); one stored as "München" is found by "MÜNCHEN" or "münchen" on both. ``%`` and ``_`` in the
text are matched literally.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Boolean, ColumnElement, func


@dataclass(frozen=True)
class PostingFilter:
    """Remote, location and company conditions on postings; every field None (the default) keeps every
    posting."""

    remote: bool | None = None
    location: str | None = None
    company: str | None = None

    def __post_init__(self) -> None:
        for name in ("location", "company"):  # blank text filters nothing: treat it as not given
            value = getattr(self, name)
            if value is not None and not value.strip():
                object.__setattr__(self, name, None)
            elif value is not None:
                object.__setattr__(self, name, value.strip())

    @property
    def empty(self) -> bool:
        """True when the filter keeps every posting."""
        return self.remote is None and self.location is None and self.company is None

    def clauses(self, postings) -> list[ColumnElement[bool]]:
        """The WHERE conditions on ``postings`` (the ``Posting`` model, a table, an alias or the
        ``posting_facts`` view) that keep the postings this filter selects; an empty list when it is empty."""
        conditions: list[ColumnElement[bool]] = []
        if self.remote is not None:
            conditions.append(_is_remote(_column(postings, "remote"), self.remote))
        if self.location is not None:
            conditions.append(_contains(_column(postings, "location"), self.location))
        if self.company is not None:
            conditions.append(_contains(_column(postings, "company"), self.company))
        return conditions

    def describe(self) -> str:
        """The filter for a header: ``remote, location ~ 'Berlin', company ~ 'OpenAI'`` (``not remote`` for
        False); an empty string when the filter is empty."""
        parts = []
        if self.remote is not None:
            parts.append("remote" if self.remote else "not remote")
        if self.location is not None:
            parts.append(f"location ~ {self.location!r}")
        if self.company is not None:
            parts.append(f"company ~ {self.company!r}")
        return ", ".join(parts)


def _column(postings, name: str):
    """Column ``name`` of a table, alias or view (``.c``) or of a mapped class (an attribute)."""
    columns = getattr(postings, "c", None)
    if columns is not None:
        return columns[name]
    return getattr(postings, name)


def _is_remote(column, remote: bool) -> ColumnElement[bool]:
    """``remote`` true or false; NULL (not known) matches neither. A BOOLEAN column is compared with IS (PostgreSQL
    has no boolean = integer), the 0/1 column of the ``posting_facts`` view with ``=``."""
    if isinstance(column.type, Boolean):
        return column.is_(remote)
    return column == (1 if remote else 0)


def _contains(column, text: str) -> ColumnElement[bool]:
    """A case-insensitive substring match, ``%`` and ``_`` taken literally; NULL never matches."""
    return func.lower(column).contains(text.lower(), autoescape=True)
