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

Nothing that held postings reads as a page without any. libxml2 keeps at most 10 MB in one text node unless
told otherwise, and a larger ``<script>`` used to come back empty; the page is parsed with ``huge_tree`` (1 GB,
above any ``download_maxsize``). Should the parser still stop at a resource limit, ``unreadable`` is
``too_large``; a JSON-LD block that cannot be read even leniently and names ``JobPosting`` (it may have held
some) makes it ``jsonld_unreadable``. The spider does not take such a page for one without postings (see
:class:`~crawler.spiders.structured_data.StructuredDataSpider`). An unreadable block that names no JobPosting
(a broken ``Event`` in the site's template) is only reported in ``errors``.

A posting written both ways, or twice, is returned once. Postings sharing an id without being the same job
(a listing page whose postings have no ``identifier`` or ``url``) get ``#2``, ``#3``... after the id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree, html

from crawler.linked_data.job_posting import absolute, posting_fields
from crawler.linked_data.jsonld import find_typed, id_index, join, parse_block, resolve, top_nodes
from crawler.linked_data.microdata import microdata_items

__all__ = ["JSONLD_UNREADABLE", "TOO_LARGE", "PageData", "extract_job_postings", "json_ld_values", "parse_html"]

WANTED_TYPE = "JobPosting"
HUGE_TREE = True  # lift libxml2's 10 MB limit on one text node (a JSON-LD @graph of 5,000 postings is 12 MB)
TOO_LARGE = "too_large"  # the parser stopped at a resource limit: the page is not read whole
JSONLD_UNREADABLE = "jsonld_unreadable"  # a JSON-LD block naming JobPosting could not be read
RESOURCE_LIMIT = etree.ErrorTypes.ERR_RESOURCE_LIMIT


@dataclass
class PageData:
    """What a page holds: its JobPostings as item fields, unreadable JSON-LD blocks, its canonical URL."""

    postings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    canonical: str | None = None
    unreadable: str | None = None  # why the page may hold postings that were not read (too_large, jsonld_unreadable)


def extract_job_postings(markup: str | bytes, url: str, *, company: str | None = None) -> PageData:
    """Every JobPosting on the page at ``url`` (JSON-LD first, then microdata), with its item fields."""
    doc, too_large = parse_page(markup)
    if doc is None:
        return PageData(unreadable=TOO_LARGE if too_large else None)
    base = base_url(doc, url)
    canonical = canonical_url(doc, base)
    values, errors, lost = read_json_ld(doc)
    nodes = top_nodes(values)
    index = id_index(nodes, base)
    found = [("json-ld", resolve(node, index, base)) for node in find_typed(nodes, WANTED_TYPE)
             if set(node) - {"@id", "@type", "@context"}]
    found += [("microdata", node) for node in find_typed(top_nodes(microdata_items(doc, base)), WANTED_TYPE)]
    postings = [posting_fields(node, base, canonical=canonical, company=company, syntax=syntax)
                for syntax, node in found]
    unreadable = TOO_LARGE if too_large else JSONLD_UNREADABLE if lost else None
    return PageData(distinct(postings), errors, canonical, unreadable)


def parse_html(markup: str | bytes) -> html.HtmlElement | None:
    """The parsed document, or None for an empty or unparseable page."""
    return parse_page(markup)[0]


def parse_page(markup: str | bytes) -> tuple[html.HtmlElement | None, bool]:
    """The parsed document (None for an empty or unparseable page), and whether the parser stopped at a
    resource limit (a text node or the document too large for it), so that the page was not read whole."""
    data = markup.encode("utf-8") if isinstance(markup, str) else markup
    if not data.strip():
        return None, False
    parser = html.HTMLParser(encoding="utf-8" if isinstance(markup, str) else None, huge_tree=HUGE_TREE)
    try:
        doc = html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None, hit_resource_limit(parser)
    return doc, hit_resource_limit(parser)


def hit_resource_limit(parser: etree.HTMLParser) -> bool:
    """Whether libxml2 gave up on part of the document for its size ("Resource limit exceeded")."""
    return any(error.type == RESOURCE_LIMIT for error in parser.error_log)


def json_ld_values(doc: html.HtmlElement) -> tuple[list, list[str]]:
    """The JSON values of every JSON-LD block, and a message for each block that could not be read."""
    values, errors, _ = read_json_ld(doc)
    return values, errors


def read_json_ld(doc: html.HtmlElement) -> tuple[list, list[str], bool]:
    """The JSON values of every JSON-LD block, a message for each block that could not be read, and whether
    one of those may have held a JobPosting (its text names the type)."""
    values, errors, lost = [], [], False
    for script in doc.iter("script"):
        kind = (script.get("type") or "").split(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        text = script.text or ""
        try:
            values += parse_block(text)
        except ValueError as exc:
            errors.append(f"unreadable JSON-LD ({exc}) in block starting {text.strip()[:60]!r}")
            lost = lost or WANTED_TYPE.lower() in text.lower()
    return values, errors, lost


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
