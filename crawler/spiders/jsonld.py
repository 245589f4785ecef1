"""Career pages that publish schema.org ``JobPosting``s (Google for Jobs markup), on any site.

Each ``kind = "jsonld"`` source's key is a career page URL, or with ``sitemap = true`` a sitemap of job pages;
``follow`` (a regular expression over absolute URLs) and ``max_pages`` narrow or widen what is fetched. A new
career site is a sources.toml entry: :class:`~crawler.spiders.structured_data.StructuredDataSpider` does the
rest (fetching, link following, JSON-LD and microdata, completeness). The posted date is ``datePosted``.
"""

from __future__ import annotations

from crawler.spiders.structured_data import StructuredDataSpider


class JsonLdSpider(StructuredDataSpider):
    """Crawl the career sites listed in sources.toml (``kind = "jsonld"``)."""

    name = "jsonld"
