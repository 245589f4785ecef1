"""Property-based fuzzing of the JSON-LD and microdata extraction (crawler.linked_data): 1,000 generated pages and
1,000 generated script blocks. Nothing raises; every block that cannot be read, even leniently, is reported in
``errors`` (the spider counts each as ``item_error/invalid_json_ld``); every posting found has the fields the
spider and the pipelines rely on, with the right types.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.linked_data import extract_job_postings
from crawler.linked_data.jsonld import parse_block
from tests.reliability.strategies import BLOCK, FUZZ, MICRODATA, ODD_TEXT, TEXT, page_markup

pytestmark = pytest.mark.soak  # 1,000 examples per test: `make soak`

PAGE_URL = "https://careers.example.test/jobs/42"
TEXT_FIELDS = ("title", "company", "location", "employment_type", "posted_at")

MARKUP = st.one_of(
    st.builds(page_markup, st.lists(BLOCK, max_size=4), st.lists(MICRODATA, max_size=2),
              st.lists(ODD_TEXT, max_size=2)),
    st.builds(lambda base, canonical, blocks: (f'<html><head><base href="{base}"><link rel="canonical" '
                                               f'href="{canonical}">' + "".join(
                                                   f'<script type="application/ld+json">{b}</script>'
                                                   for b in blocks) + "</head></html>"),
              st.one_of(ODD_TEXT, TEXT), st.one_of(ODD_TEXT, TEXT), st.lists(BLOCK, max_size=2)),
    TEXT, st.binary(max_size=300))


@FUZZ
@given(markup=MARKUP, company=st.one_of(st.none(), TEXT))
def test_extraction_survives_any_markup(markup, company):
    page = extract_job_postings(markup, PAGE_URL, company=company)
    blocks = (markup.decode("utf-8", "replace") if isinstance(markup, bytes) else markup).count("ld+json")
    assert len(page.errors) <= blocks and all(isinstance(e, str) for e in page.errors)
    ids = [p["external_id"] for p in page.postings]
    assert len(ids) == len(set(ids))  # each posting once; different ones sharing an id get #n
    for posting in page.postings:
        assert isinstance(posting["external_id"], str) and posting["external_id"]
        assert isinstance(posting["url"], str) and posting["url"]
        assert all(posting[name] is None or isinstance(posting[name], str) for name in TEXT_FIELDS)
        assert posting["remote"] in (None, True, False)
        assert isinstance(posting["description_html"], str)
        assert isinstance(posting["extras"], dict) and posting["extras"]["syntax"] in ("json-ld", "microdata")


@FUZZ
@given(block=st.one_of(BLOCK, TEXT, st.builds(lambda a, b: a + b, BLOCK, st.sampled_from([",", ";", "//", "-->"]))))
def test_parse_block_reads_or_raises_value_error(block):
    try:
        values = parse_block(block)
    except ValueError:
        return  # the caller reports it (PageData.errors) and the spider counts it
    assert isinstance(values, list) and values
    json.dumps(values, allow_nan=True)  # plain JSON values, nothing else
