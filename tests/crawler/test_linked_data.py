"""crawler.linked_data: JobPostings from JSON-LD and microdata, on recorded career pages and on every variant alone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from crawler.linked_data import extract_job_postings, parse_html
from crawler.linked_data.job_posting import description, identifier, location, posting_fields, remote
from crawler.linked_data.jsonld import clean_type, parse_block, types_of
from crawler.linked_data.microdata import microdata_items
from crawler.pipelines.validate_posting import parse_datetime
from tests.conftest import FIXTURES

SITES = FIXTURES / "jsonld" / "sites"


def page_url(path: Path) -> str:
    """The URL a recorded page was served at: ``sites/<host>/<path>.html``, ``index.html`` for ``/``."""
    relative = path.relative_to(SITES).as_posix().removesuffix(".html")
    return "https://" + relative.removesuffix("index")


PAGES = {page_url(p): extract_job_postings(p.read_text(), page_url(p), company="Configured Co")
         for p in sorted(SITES.rglob("*.html"))}
ALL = [(url, posting) for url, page in PAGES.items() for posting in page.postings]
IDS = [f"{url.removeprefix('https://')}-{i}" for i, (url, _) in enumerate(ALL)]


def posting(url: str, index: int = 0) -> dict:
    return PAGES[url].postings[index]


def one(markup: str, url: str = "https://careers.example.test/jobs/1", **kwargs) -> dict:
    """The only posting of a small page."""
    page = extract_job_postings(markup, url, **kwargs)
    assert len(page.postings) == 1, page
    return page.postings[0]


def ld_page(*blocks: str, head: str = "") -> str:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return f"<html><head>{head}{scripts}</head><body><h1>Job</h1></body></html>"


# --- rules every posting of every recorded page follows ------------------------------------------------------------

def test_every_recorded_job_page_yields_its_posting():
    assert len(ALL) == 17  # 4 Greenhouse-like, 4 Workday-like, 2 WordPress, 2 microdata, 3 + 2 LMArena
    assert {url for url, page in PAGES.items() if not page.postings} == {
        "https://careers.character.example/jobs", "https://careers.cohere.example/en-US/External",
        "https://empty.example/careers", "https://jobs.harvey.example/careers",
        "https://jobs.harvey.example/careers/benefits", "https://www.decagon.example/careers/"}


@pytest.mark.parametrize(("url", "item"), ALL, ids=IDS)
def test_identity_and_url_are_absolute_and_on_the_page_host(url, item):
    host = url.split("/")[2]
    assert item["external_id"] and isinstance(item["external_id"], str)
    assert item["url"].startswith(f"https://{host}/")


@pytest.mark.parametrize(("url", "item"), ALL, ids=IDS)
def test_title_and_company_are_clean_text(url, item):
    for name in ("title", "company"):
        assert item[name] and item[name] == item[name].strip()
        assert not re.search(r"&\w+;|<\w", item[name])
    assert item["company"] != "Configured Co"  # every recorded posting names its hiringOrganization


@pytest.mark.parametrize(("url", "item"), ALL, ids=IDS)
def test_posted_date_is_datePosted_and_readable(url, item):
    assert parse_datetime(item["posted_at"]) < dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("url", "item"), ALL, ids=IDS)
def test_description_is_html_never_escaped_html(url, item):
    assert item["description_html"].startswith("<")
    assert "&lt;p" not in item["description_html"] and "<\\/" not in item["description_html"]


@pytest.mark.parametrize(("url", "item"), ALL, ids=IDS)
def test_remote_and_location_agree(url, item):
    assert item["remote"] in (True, False)
    assert item["location"]
    assert (item["extras"].get("jobLocationType") == "TELECOMMUTE") == item["remote"]


@pytest.mark.parametrize(("url", "item"), ALL, ids=IDS)
def test_extras_say_which_markup_the_posting_came_from(url, item):
    expected = "microdata" if "character" in url else "json-ld"
    assert item["extras"]["syntax"] == expected


# --- Greenhouse-hosted-like job page: escaped description, PropertyValue identifier -----------------------------

GH_REMOTE = "https://jobs.harvey.example/careers/jobs/4460731"
GH_TWO_PLACES = "https://jobs.harvey.example/careers/jobs/4460734"


def test_greenhouse_identifier_value_is_the_id():
    assert posting(GH_REMOTE)["external_id"] == "4460731"


def test_greenhouse_url_is_the_canonical_page():
    assert posting(GH_REMOTE)["url"] == GH_REMOTE


def test_greenhouse_title():
    assert posting(GH_REMOTE)["title"] == "Contracts Manager"


def test_greenhouse_company_is_the_hiring_organization():
    assert posting(GH_REMOTE)["company"] == "Harvey"


def test_greenhouse_remote_job_location_names_the_allowed_country():
    assert (posting(GH_REMOTE)["location"], posting(GH_REMOTE)["remote"]) == ("Remote (USA)", True)


def test_greenhouse_location_array_is_joined():
    assert posting(GH_TWO_PLACES)["location"] == (
        "San Francisco, California, United States; New York, United States")


def test_greenhouse_employment_type():
    assert posting(GH_REMOTE)["employment_type"] == "FULL_TIME"


def test_greenhouse_escaped_description_is_unescaped_exactly_once():
    assert posting(GH_REMOTE)["description_html"].startswith("<h1><strong>Why Harvey</strong></h1>")
    # the page has "&amp;amp;": once unescaped it is the HTML entity of the real text, "AI &amp; Search"
    assert "quality of Harvey’s AI &amp; Search systems" in posting(GH_TWO_PLACES)["description_html"]


def test_greenhouse_posted_date():
    assert posting(GH_REMOTE)["posted_at"] == "2025-09-04"


def test_greenhouse_extras():
    extras = posting(GH_REMOTE)["extras"]
    assert extras["applicantLocationRequirements"] == {"@type": "Country", "name": "USA"}
    assert (extras["directApply"], extras["employerUrl"]) == (True, "https://www.harvey.example")


# --- Workday-like @graph page: references, type arrays, datetimes --------------------------------------------------

WD = "https://careers.cohere.example/en-US/External/job/London/Senior-Member-of-Technical-Staff--Multimodal-AI_R1001"
WD_REMOTE = "https://careers.cohere.example/en-US/External/job/Tokyo/Software-Engineer---Applied-ML--Japan-_R1003"


def test_graph_string_identifier_is_the_id():
    assert posting(WD)["external_id"] == "R1001"


def test_graph_organisation_reference_is_resolved():
    assert posting(WD)["company"] == "Cohere"
    assert posting(WD)["extras"]["employerUrl"] == "https://cohere.example"  # first sameAs


def test_graph_type_array_and_employment_type_array():
    assert posting(WD)["employment_type"] == "FULL_TIME"


def test_graph_datetime_posted_date_is_kept_as_written():
    assert posting(WD)["posted_at"] == "2024-12-03T14:25:43.571+00:00"


def test_graph_every_job_location_is_listed():
    assert posting(WD)["location"].split("; ") == [
        "London, United Kingdom", "San Francisco, California, United States", "New York, United States",
        "Toronto, Ontario, Canada", "Montreal, Quebec, Canada", "Paris, France"]


def test_graph_remote_job_keeps_its_location():
    assert (posting(WD_REMOTE)["remote"], posting(WD_REMOTE)["location"]) == (True, "Tokyo, Japan")


def test_graph_valid_through_is_kept():
    assert posting(WD)["extras"]["validThrough"] == "2026-12-31T23:59:59.000Z"


def test_graph_page_yields_the_posting_once_despite_the_mainEntity_reference():
    assert len(PAGES[WD].postings) == 1


# --- WordPress page with a broken JSON-LD block -----------------------------------------------------------------

WP = "https://www.decagon.example/careers/agent-software-engineer/"


def test_broken_block_is_read_leniently():
    item = posting(WP)
    assert (item["title"], item["company"], item["location"]) == (
        "Agent Software Engineer", "Decagon", "London, United Kingdom")


def test_broken_block_raw_newlines_stay_in_the_description():
    assert posting(WP)["description_html"].startswith(
        '<p style="min-height:1.5em"><strong>About Decagon</strong></p>\n<p')


def test_broken_block_salary_survives_trailing_commas():
    assert posting(WP)["extras"]["baseSalary"] == {
        "@type": "MonetaryAmount", "currency": "GBP",
        "value": {"@type": "QuantitativeValue", "minValue": 150000, "maxValue": 260000, "unitText": "YEAR"}}


def test_broken_block_posted_date():
    assert posting(WP)["posted_at"] == "2025-10-02T20:57:33+00:00"


def test_page_without_identifier_uses_its_canonical_url():
    assert posting(WP)["external_id"] == posting(WP)["url"] == WP


def test_unreadable_block_is_reported_and_the_others_still_read():
    errors = PAGES[WP].errors
    assert len(errors) == 1 and '"@type":"Event"' in errors[0]


# --- microdata only ---------------------------------------------------------------------------------------------

MD = "https://careers.character.example/jobs/research-engineer-ai-safety-alignment"
MD_NO_ID = "https://careers.character.example/jobs/machine-learning-infrastructure-engineer"


def test_microdata_identifier_from_meta():
    assert posting(MD)["external_id"] == "a7ddb640-466f-4a1f-9a94-7465006aad05"


def test_microdata_without_identifier_uses_the_canonical_url():
    assert posting(MD_NO_ID)["external_id"] == MD_NO_ID


def test_microdata_title_with_an_entity():
    assert posting(MD)["title"] == "Research Engineer, AI Safety & Alignment"


def test_microdata_nested_organisation_and_address():
    assert (posting(MD)["company"], posting(MD)["location"]) == ("Character.AI", "Redwood City, CA, US")


def test_microdata_time_datetime_is_the_posted_date():
    assert posting(MD)["posted_at"] == "2025-10-03"


def test_microdata_employment_type_text():
    assert posting(MD)["employment_type"] == "Full-time"


def test_microdata_description_keeps_its_html():
    assert posting(MD)["description_html"].startswith("<h3><strong>About the role and team</strong></h3>")


# --- a listing page holding the postings as a top-level array ------------------------------------------------------

LISTING = "https://lmarena.example/jobs"


def test_array_of_full_iri_typed_postings_is_read():
    assert [p["title"] for p in PAGES[LISTING].postings] == [
        "Machine Learning Engineer", "Senior Software Engineer, ML Infrastructure", "Marketing Roles (Various)"]


def test_relative_posting_url_is_the_id():
    assert posting(LISTING)["external_id"] == posting(LISTING)["url"] == "https://lmarena.example/jobs/machine-learning-engineer"


def test_posting_without_url_or_identifier_gets_the_page_url():
    assert posting(LISTING, 2)["external_id"] == LISTING


def test_plain_string_organisation_and_address():
    assert (posting(LISTING)["company"], posting(LISTING)["location"]) == ("LMArena", "Bay Area, CA, USA")


def test_plain_text_description_becomes_paragraphs():
    assert posting(LISTING)["description_html"].startswith("<p>MACHINE LEARNING ENGINEER AT LMARENA</p><p>")


# --- lenient JSON -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1}', [{"a": 1}]),
    ('[{"a": 1}, {"b": 2}]', [[{"a": 1}, {"b": 2}]]),
    ('{"d": "line one\nline two\ttabbed"}', [{"d": "line one\nline two\ttabbed"}]),
    ('{"a": [1, 2,], "b": {"c": 3,},}', [{"a": [1, 2], "b": {"c": 3}}]),
    ('<!--\n{"a": 1}\n-->', [{"a": 1}]),
    ('{"a": 1, <!-- meta --> "b": 2}', [{"a": 1, "b": 2}]),
    ('<![CDATA[{"a": 1}]]>', [{"a": 1}]),
    ('//<![CDATA[\n{"a": 1}\n//]]>', [{"a": 1}]),
    ('/* <![CDATA[ */ {"a": 1} /* ]]> */', [{"a": 1}]),
    ('{"url": "https://x.test/a,}", // a comment\n "n": 1 /* another */}', [{"url": "https://x.test/a,}", "n": 1}]),
    ('{"t": "it\\\'s", "u": "a\\/b"}', [{"t": "it's", "u": "a/b"}]),
    ('{"a": 1}\n{"b": 2};', [{"a": 1}, {"b": 2}]),
    ('{"a": 1},{"b": 2},', [{"a": 1}, {"b": 2}]),
    ("{&quot;@type&quot;: &quot;JobPosting&quot;}", [{"@type": "JobPosting"}]),
    ('\ufeff{"a": 1}', [{"a": 1}]),
], ids=["strict", "array", "control-characters", "trailing-commas", "comment-wrapper", "inner-comment",
        "cdata", "js-cdata", "c-cdata", "js-comments-outside-strings", "bad-escape", "two-values", "commas-between",
        "entity-escaped", "bom"])
def test_lenient_parsing(text, expected):
    assert parse_block(text) == expected


@pytest.mark.parametrize("text", ["", "  ", '{"a": "unterminated', "undefined", "<p>not json</p>", '{"a": 1'])
def test_unreadable_blocks_raise(text):
    with pytest.raises(ValueError):
        parse_block(text)


def test_unreadable_block_does_not_hide_the_others():
    page = extract_job_postings(ld_page('{"@type": "JobPosting", "title": ', '{"@type": "JobPosting", "title": "A"}'),
                                "https://x.test/j")
    assert [p["title"] for p in page.postings] == ["A"] and len(page.errors) == 1


# --- types, contexts, graphs and references -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["JobPosting", "schema:JobPosting", "http://schema.org/JobPosting",
                                   "https://schema.org/JobPosting", "https://www.schema.org/JobPosting",
                                   " JobPosting "])
def test_type_prefixes_are_dropped(value):
    assert clean_type(value) == "JobPosting"


def test_type_may_be_a_list():
    assert types_of({"@type": ["JobPosting", "http://schema.org/Thing"]}) == {"JobPosting", "Thing"}


@pytest.mark.parametrize("block", [
    '{"@context": "https://schema.org", "@type": "JobPosting", "title": "A"}',
    '{"@context": "http://schema.org/", "@type": ["JobPosting"], "title": "A"}',
    '{"@type": "http://schema.org/JobPosting", "http://schema.org/title": "A"}',
    '[{"@type": "WebSite", "name": "x"}, {"@type": "JobPosting", "title": "A"}]',
    '{"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, {"@type": "JobPosting", "title": "A"}]}',
    '{"@type": "WebPage", "mainEntity": {"@type": "JobPosting", "title": "A"}}',
    '{"@type": "ItemList", "itemListElement": [{"@type": "ListItem", "item": {"@type": "JobPosting", "title": "A"}}]}',
], ids=["plain", "type-array", "full-iri", "top-level-array", "graph", "main-entity", "item-list"])
def test_every_embedding_of_a_posting_is_found(block):
    assert one(ld_page(block))["title"] == "A"


def test_reference_to_an_organisation_in_another_block_is_resolved():
    org = '{"@context": "https://schema.org", "@type": "Organization", "@id": "https://acme.test/#org", "name": "Acme"}'
    job = '{"@type": "JobPosting", "title": "A", "hiringOrganization": {"@id": "https://acme.test/#org"}}'
    assert one(ld_page(job, org))["company"] == "Acme"


def test_relative_reference_is_resolved_against_the_page():
    graph = ('{"@graph": [{"@type": "Organization", "@id": "#org", "name": "Acme"},'
             '{"@type": "JobPosting", "title": "A", "hiringOrganization": {"@id": "https://x.test/jobs/1#org"}}]}')
    assert one(ld_page(graph), "https://x.test/jobs/1")["company"] == "Acme"


def test_reference_cycles_end():
    graph = ('{"@graph": [{"@type": "Organization", "@id": "#org", "name": "Acme", "subOrganization": {"@id": "#org"}},'
             '{"@type": "JobPosting", "title": "A", "hiringOrganization": {"@id": "#org"}}]}')
    assert one(ld_page(graph))["company"] == "Acme"


def test_unresolvable_reference_leaves_the_configured_company():
    job = '{"@type": "JobPosting", "title": "A", "hiringOrganization": {"@id": "#nowhere"}}'
    assert one(ld_page(job), company="Configured")["company"] == "Configured"


def test_same_posting_in_json_ld_and_microdata_is_returned_once():
    markup = ld_page('{"@type": "JobPosting", "title": "A", "identifier": "7"}').replace(
        "<h1>Job</h1>", '<div itemscope itemtype="https://schema.org/JobPosting"><meta itemprop="identifier" '
        'content="7"><h1 itemprop="title">A</h1></div>')
    assert one(markup)["extras"]["syntax"] == "json-ld"


def test_different_postings_sharing_the_page_url_get_numbered_ids():
    block = '[{"@type": "JobPosting", "title": "A"}, {"@type": "JobPosting", "title": "B"}]'
    page = extract_job_postings(ld_page(block), "https://x.test/jobs")
    assert [p["external_id"] for p in page.postings] == ["https://x.test/jobs", "https://x.test/jobs#2"]


def test_page_without_any_markup_has_nothing():
    assert extract_job_postings("<html><body><p>No jobs</p></body></html>", "https://x.test/").postings == []
    assert extract_job_postings("", "https://x.test/").postings == []
    assert extract_job_postings(b"\x00\x01", "https://x.test/").postings == []


def test_bytes_and_xml_declarations_are_accepted():
    markup = '<?xml version="1.0" encoding="utf-8"?>' + ld_page('{"@type": "JobPosting", "title": "Ingénieur"}')
    assert one(markup)["title"] == "Ingénieur"
    assert one(markup.encode("utf-8"))["title"] == "Ingénieur"


def test_base_href_is_honoured_for_relative_urls():
    markup = ld_page('{"@type": "JobPosting", "title": "A", "url": "42"}', head='<base href="https://x.test/jobs/">')
    assert one(markup, "https://x.test/careers")["url"] == "https://x.test/jobs/42"


# --- microdata ------------------------------------------------------------------------------------------------------

MICRODATA = """<html><body>
<div itemscope itemtype="http://schema.org/WebPage">
  <div itemprop="mainEntity" itemscope itemtype="http://schema.org/JobPosting" itemid="#job">
    <h1 itemprop="title name">Data &amp; ML Engineer</h1>
    <a itemprop="url" href="/jobs/9">permalink</a>
    <img itemprop="image" src="logo.png">
    <span itemprop="employmentType">FULL_TIME</span><span itemprop="employmentType">CONTRACTOR</span>
    <div itemprop="jobLocation" itemscope itemtype="http://schema.org/Place">
      <span itemprop="address">Berlin, Germany</span></div>
    <div itemprop="jobLocation" itemscope itemtype="http://schema.org/Place">
      <span itemprop="name">Remote EU</span></div>
    <data itemprop="identifier" value="J-9">#9</data>
    <div itemprop="description"><p>Build <b>evals</b> &amp; pipelines.</p><!-- note --></div>
  </div>
</div></body></html>"""


def test_microdata_items_nest_and_keep_their_types():
    (page,) = microdata_items(parse_html(MICRODATA), "https://x.test/jobs/")
    job = page["mainEntity"]
    assert (page["@type"], job["@type"], job["@id"]) == (
        "http://schema.org/WebPage", "http://schema.org/JobPosting", "https://x.test/jobs/#job")
    assert (job["title"], job["name"]) == ("Data & ML Engineer", "Data & ML Engineer")
    assert (job["url"], job["image"]) == ("https://x.test/jobs/9", "https://x.test/jobs/logo.png")
    assert job["employmentType"] == ["FULL_TIME", "CONTRACTOR"]


def test_microdata_posting_fields():
    item = one(MICRODATA, "https://x.test/jobs/")
    assert (item["external_id"], item["url"], item["title"]) == ("J-9", "https://x.test/jobs/9", "Data & ML Engineer")
    assert (item["employment_type"], item["location"]) == ("FULL_TIME, CONTRACTOR", "Berlin, Germany; Remote EU")
    assert item["description_html"] == "<p>Build <b>evals</b> &amp; pipelines.</p><!-- note -->"


# --- normalisation of single fields ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ({"@type": "PropertyValue", "name": "Acme", "value": "ML-42"}, "ML-42"),
    ({"@type": "PropertyValue", "value": 4012345}, "4012345"),
    ("R1001", "R1001"),
    (77, "77"),
    ([{"@type": "PropertyValue", "value": ""}, "second"], "second"),
    ({"@type": "PropertyValue", "name": "Acme"}, None),
    (None, None),
    (True, None),
])
def test_identifier(value, expected):
    assert identifier(value) == expected


@pytest.mark.parametrize(("node", "expected"), [
    ({"jobLocationType": "TELECOMMUTE"}, True),
    ({"jobLocationType": ["TELECOMMUTE"], "jobLocation": {"address": "Paris"}}, True),
    ({"jobLocation": {"address": "Paris"}}, False),
    ({}, None),
])
def test_remote(node, expected):
    assert remote(node) is expected


@pytest.mark.parametrize(("node", "expected"), [
    ({"jobLocation": {"@type": "Place", "address": {"addressLocality": "Paris", "addressCountry": "FR"}}}, "Paris, FR"),
    ({"jobLocation": {"address": {"addressLocality": "NYC", "addressCountry": {"@type": "Country", "name": "USA"}}}},
     "NYC, USA"),
    ({"jobLocation": [{"address": "London"}, {"address": "London"}, {"name": "HQ"}]}, "London; HQ"),
    ({"jobLocation": "Toronto, ON"}, "Toronto, ON"),
    ({"jobLocation": {"address": [{"addressLocality": "A"}, {"addressLocality": "B"}]}}, "A; B"),
    ({"jobLocationType": "TELECOMMUTE"}, "Remote"),
    ({"jobLocationType": "TELECOMMUTE", "applicantLocationRequirements": [{"name": "USA"}, {"name": "Canada"}]},
     "Remote (USA, Canada)"),
    ({}, None),
])
def test_location(node, expected):
    assert location(node) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("<p>HTML</p>", "<p>HTML</p>"),
    ("&lt;p&gt;Escaped &amp;amp; once&lt;/p&gt;", "<p>Escaped &amp; once</p>"),
    ("&amp;lt;p&amp;gt;twice&amp;lt;/p&amp;gt;", "&amp;lt;p&amp;gt;twice&amp;lt;/p&amp;gt;"),  # not HTML: as is
    ("Plain text, one line", "Plain text, one line"),
    ("Tom &amp; Jerry\nsecond line", "<p>Tom &amp; Jerry<br>second line</p>"),
    ({"@value": "<p>value object</p>"}, "<p>value object</p>"),
    (None, ""),
])
def test_description(value, expected):
    assert description(value) == expected


def test_posting_fields_fallbacks():
    item = posting_fields({"name": "  Research &amp; Development  ", "hiringOrganization": {"legalName": "Acme Inc"},
                           "employmentType": ["FULL_TIME", "FULL_TIME", "INTERN"], "datePosted": " 2026-05-01 "},
                          "https://x.test/p?utm=1", canonical="https://x.test/p")
    assert (item["external_id"], item["url"], item["title"]) == ("https://x.test/p", "https://x.test/p",
                                                                   "Research & Development")
    assert (item["company"], item["employment_type"], item["posted_at"]) == ("Acme Inc", "FULL_TIME, INTERN",
                                                                            "2026-05-01")
    assert item["extras"] == {"syntax": "json-ld"}


def test_context_is_dropped_from_extras():
    item = posting_fields({"title": "A", "baseSalary": {"@context": "https://schema.org", "@type": "MonetaryAmount",
                                                         "currency": "EUR"}}, "https://x.test/")
    assert item["extras"]["baseSalary"] == {"@type": "MonetaryAmount", "currency": "EUR"}


def test_malformed_urls_in_markup_do_not_make_the_page_unreadable():
    block = ('{"@type": "JobPosting", "title": "A", "url": "http://[broken", '
             '"hiringOrganization": {"@id": "http://[org"}, "identifier": "9"}')
    item = one(ld_page(block, head='<link rel="canonical" href="http://[x">'), "https://x.test/jobs/9")
    assert (item["external_id"], item["url"], item["company"]) == ("9", "https://x.test/jobs/9", None)
