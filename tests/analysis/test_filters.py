"""PostingFilter: the postings kept by --remote/--no-remote, --location and --company, on both databases, on the
postings table and on the posting_facts view."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, Table, select

from analysis.filters import PostingFilter
from jobtrend.models import Posting
from tests.analysis.factories import add_posting, add_source, edit_posting


@pytest.fixture
def postings(engine) -> dict[str, int]:
    """Five postings with different remote, location and company values; name -> id."""
    source = add_source(engine)
    rows = {
        "berlin_remote": {"remote": True, "location": "Berlin, Germany", "company": "OpenAI"},
        "berlin_office": {"remote": False, "location": "Remote (Berlin or London)", "company": "OpenAI Inc."},
        "london_unknown": {"remote": None, "location": "LONDON", "company": "Metabase"},
        "nowhere": {"remote": None, "location": None, "company": None},
        "percent": {"remote": True, "location": "100% remote_first", "company": "Meta"},
    }
    ids = {}
    for name, values in rows.items():
        ids[name] = add_posting(engine, source, text="x")
        edit_posting(engine, ids[name], **values)
    return ids


def kept(engine, posting_filter: PostingFilter, source=Posting) -> set[int]:
    id_column = source.c.posting_id if hasattr(source, "c") and "posting_id" in source.c else Posting.id
    with engine.connect() as conn:
        return set(conn.scalars(select(id_column).where(*posting_filter.clauses(source))))


def names(ids: dict[str, int], found: set[int]) -> set[str]:
    return {name for name, posting_id in ids.items() if posting_id in found}


@pytest.mark.parametrize(("posting_filter", "expected"), [
    (PostingFilter(), {"berlin_remote", "berlin_office", "london_unknown", "nowhere", "percent"}),
    (PostingFilter(remote=True), {"berlin_remote", "percent"}),
    (PostingFilter(remote=False), {"berlin_office"}),
    (PostingFilter(location="berlin"), {"berlin_remote", "berlin_office"}),
    (PostingFilter(location="London"), {"berlin_office", "london_unknown"}),
    (PostingFilter(location="100%"), {"percent"}),
    (PostingFilter(location="o_e"), set()),  # _ is literal: not "ote" of "remote"
    (PostingFilter(company="openai"), {"berlin_remote", "berlin_office"}),
    (PostingFilter(company="meta"), {"london_unknown", "percent"}),
    (PostingFilter(remote=True, location="berlin", company="OPENAI"), {"berlin_remote"}),
    (PostingFilter(location="  "), {"berlin_remote", "berlin_office", "london_unknown", "nowhere", "percent"}),
])
def test_filter_keeps_the_matching_postings(engine, postings, posting_filter, expected):
    assert names(postings, kept(engine, posting_filter)) == expected


def test_filter_works_on_the_posting_facts_view_where_remote_is_an_integer(engine, postings):
    view = Table("posting_facts", MetaData(), autoload_with=engine)
    assert names(postings, kept(engine, PostingFilter(remote=True), view)) == {"berlin_remote", "percent"}
    assert names(postings, kept(engine, PostingFilter(remote=False, company="openai"), view)) == {"berlin_office"}
    assert names(postings, kept(engine, PostingFilter(location="london"), view)) == {"berlin_office",
                                                                                     "london_unknown"}


def test_filter_works_on_the_table_and_an_alias(engine, postings):
    table = Posting.__table__
    alias = table.alias("p")
    with engine.connect() as conn:
        on_table = set(conn.scalars(select(table.c.id).where(*PostingFilter(company="openai").clauses(table))))
        on_alias = set(conn.scalars(select(alias.c.id).where(*PostingFilter(company="openai").clauses(alias))))
    assert names(postings, on_table) == names(postings, on_alias) == {"berlin_remote", "berlin_office"}


def test_empty_and_describe():
    assert PostingFilter().empty and PostingFilter(location=" ").empty
    assert PostingFilter().describe() == ""
    assert PostingFilter().clauses(Posting) == []
    assert not PostingFilter(remote=False).empty
    assert PostingFilter(remote=True, location=" Berlin ").describe() == "remote, location ~ 'Berlin'"
    assert PostingFilter(remote=False, company="OpenAI").describe() == "not remote, company ~ 'OpenAI'"
