"""schema.org ``JobPosting``s embedded in an HTML page, from JSON-LD and microdata, as JobPosting item fields.

Pure functions on a page's markup and URL, without Scrapy, so every embedding variant is easy to test::

    page = extract_job_postings(markup, "https://careers.example.ai/jobs/42", company="Example AI")
    page.postings   # one dict of item fields per JobPosting on the page (crawler.linked_data.job_posting)
    page.errors     # one message per JSON-LD block that could not be read, even leniently

JSON-LD (``crawler.linked_data.jsonld``): every ``<script type="application/ld+json">`` block; top-level arrays
and ``@graph`` lists; ``@id`` references (``"hiringOrganization": {"@id": "#org"}``) resolved against every
node on the page; ``@type`` as a string or a list, with or without a schema.org prefix; JobPostings nested
under ``mainEntity`` or an ``ItemList``; slightly broken JSON read leniently. Microdata
(``crawler.linked_data.microdata``): ``itemscope itemtype="http://schema.org/JobPosting"`` with nested items.

A posting written both ways, or twice, is returned once. Postings sharing an id without being the same job
(a listing page whose postings have no ``identifier`` or ``url``) get ``#2``, ``#3``... after the id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree, html

from crawler.linked_data.job_posting import absolute, posting_fields
from crawler.linked_data.jsonld import find_typed, id_index, join, parse_block, resolve, top_nodes
from crawler.linked_data.microdata import microdata_items

__all__ = ["PageData", "extract_job_postings", "json_ld_values", "parse_html"]

WANTED_TYPE = "JobPosting"
UTF8_PARSER = html.HTMLParser(encoding="utf-8")


@dataclass
class PageData:
    """What a page holds: its JobPostings as item fields, unreadable JSON-LD blocks, its canonical URL."""

    postings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    canonical: str | None = None


def extract_job_postings(markup: str | bytes, url: str, *, company: str | None = None) -> PageData:
    """Every JobPosting on the page at ``url`` (JSON-LD first, then microdata), with its item fields."""
    doc = parse_html(markup)
    if doc is None:
        return PageData()
    base = base_url(doc, url)
    canonical = canonical_url(doc, base)
    values, errors = json_ld_values(doc)
    nodes = top_nodes(values)
    index = id_index(nodes, base)
    found = [("json-ld", resolve(node, index, base)) for node in find_typed(nodes, WANTED_TYPE)
             if set(node) - {"@id", "@type", "@context"}]
    found += [("microdata", node) for node in find_typed(top_nodes(microdata_items(doc, base)), WANTED_TYPE)]
    postings = [posting_fields(node, base, canonical=canonical, company=company, syntax=syntax)
                for syntax, node in found]
    return PageData(distinct(postings), errors, canonical)


def parse_html(markup: str | bytes) -> html.HtmlElement | None:
    """The parsed document, or None for an empty or unparseable page."""
    data = markup.encode("utf-8") if isinstance(markup, str) else markup
    if not data.strip():
        return None
    try:
        return html.document_fromstring(data, parser=UTF8_PARSER if isinstance(markup, str) else None)
    except (etree.ParserError, ValueError):
        return None


def json_ld_values(doc: html.HtmlElement) -> tuple[list, list[str]]:
    """The JSON values of every JSON-LD block, and a message for each block that could not be read."""
    values, errors = [], []
    for script in doc.iter("script"):
        kind = (script.get("type") or "").split(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        text = script.text or ""
        try:
            values += parse_block(text)
        except ValueError as exc:
            errors.append(f"unreadable JSON-LD ({exc}) in block starting {text.strip()[:60]!r}")
    return values, errors


def base_url(doc: html.HtmlElement, url: str) -> str:
    """The URL relative links resolve against: ``<base href>`` when the page has one, else the page URL."""
    href = doc.xpath("string(//base[@href][1]/@href)").strip()
    return join(url, href) if href else url


def canonical_url(doc: html.HtmlElement, base: str) -> str | None:
    """The absolute ``<link rel="canonical">`` URL, or None (also when it is empty or malformed)."""
    for link in doc.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return absolute(link.get("href"), base)
    return None


def distinct(postings: list[dict]) -> list[dict]:
    """Each posting once (same id and title: written twice); different postings sharing an id get ``#n``."""
    kept: list[dict] = []
    by_id: dict[str, list[dict]] = {}
    for posting in postings:
        same_id = by_id.setdefault(posting["external_id"], [])
        if any(p["title"] == posting["title"] for p in same_id):
            continue
        if same_id:
            posting = posting | {"external_id": f"{posting['external_id']}#{len(same_id) + 1}"}
        same_id.append(posting)
        kept.append(posting)
    return kept
