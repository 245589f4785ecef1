"""One schema.org ``JobPosting`` node (references already resolved) as JobPosting item fields.

- ``external_id``: ``identifier`` (a ``PropertyValue``'s ``value``, or a plain string or number), else the
  posting's own ``url``, else the page's canonical URL, else the page URL;
- ``url``: the posting's ``url``, else the canonical URL, else the page URL (relative URLs made absolute);
- ``title``: ``title``, else ``name``; ``company``: ``hiringOrganization.name`` (or a plain string), else the
  source's company;
- ``location``: every ``jobLocation`` (one ``Place`` or a list) as "locality, region, country" (``address`` as
  a ``PostalAddress`` or a plain string, else the place's name), joined with "; "; for a remote job without
  one, "Remote" with the ``applicantLocationRequirements`` names;
- ``remote``: True when ``jobLocationType`` is ``TELECOMMUTE``, False when the job only has a ``jobLocation``,
  else unknown (None);
- ``employment_type``: the value, or the values of a list joined with ", ";
- ``description_html``: the ``description``, unescaped once when it is entity-escaped HTML (``&lt;p&gt;``);
  plain text with line breaks as ``<p>`` paragraphs and ``<br>``;
- ``posted_at``: ``datePosted`` as written (a date or a datetime), parsed by the validation pipeline;
- ``extras``: ``validThrough``, ``baseSalary``, ``applicantLocationRequirements`` and the other recommended
  fields that have no column, plus the markup the posting came from (``syntax``).

Entities in short texts (``R&amp;D``) are decoded; white space is collapsed.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

from crawler.linked_data.jsonld import join

SPACES = re.compile(r"\s+")
HTML_TAG = re.compile(r"<[a-zA-Z!/][^>]*>")
ESCAPED_TAG = re.compile(r"&lt;/?[a-zA-Z][^&]{0,200}?&gt;")
BLANK_LINE = re.compile(r"\n\s*\n")
EXTRA_FIELDS = ("validThrough", "baseSalary", "estimatedSalary", "applicantLocationRequirements", "jobLocationType",
                "directApply", "educationRequirements", "experienceRequirements", "experienceInPlaceOfEducation",
                "qualifications", "responsibilities", "skills", "industry", "occupationalCategory", "workHours",
                "jobBenefits", "totalJobOpenings", "employmentUnit", "jobStartDate")


def posting_fields(node: dict, page_url: str, *, canonical: str | None = None, company: str | None = None,
                   syntax: str = "json-ld") -> dict:
    """The item fields of one JobPosting found on ``page_url`` (see the module docstring)."""
    page = canonical or page_url
    own_url = absolute(first(node.get("url")), page_url)
    return {
        "external_id": identifier(node.get("identifier")) or own_url or page,
        "url": own_url or page,
        "title": text(node.get("title")) or text(node.get("name")),
        "company": organisation_name(node.get("hiringOrganization")) or company,
        "location": location(node),
        "remote": remote(node),
        "employment_type": employment_type(node.get("employmentType")),
        "description_html": description(node.get("description")),
        "posted_at": text(node.get("datePosted")),
        "extras": extras(node, syntax),
    }


def first(value: Any) -> Any:
    """The first element of a list, or the value itself."""
    if isinstance(value, list):
        return next((v for v in value if v not in (None, "", [], {})), None)
    return value


def raw_text(value: Any) -> str | None:
    """A string from a string, a number or a JSON-LD value object (``{"@value": ...}``), else None."""
    value = first(value)
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) else None


def text(value: Any) -> str | None:
    """A short text: entities decoded, white space collapsed, None when empty."""
    raw = raw_text(value)
    if raw is None:
        return None
    return SPACES.sub(" ", html.unescape(raw)).strip() or None


def absolute(value: Any, base: str) -> str | None:
    """``value`` as an absolute http(s) URL against ``base``, or None."""
    raw = raw_text(value)
    if not raw or not raw.strip():
        return None
    url = join(base, raw.strip())
    try:
        return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else None
    except ValueError:  # malformed (``http://[x``)
        return None


def identifier(value: Any) -> str | None:
    """The posting's own id: a ``PropertyValue``'s ``value``, a plain string or a number (the first of a list)."""
    for candidate in value if isinstance(value, list) else [value]:
        if isinstance(candidate, dict):
            candidate = candidate.get("value", candidate.get("@value"))
        found = text(candidate)
        if found:
            return found
    return None


def organisation_name(value: Any) -> str | None:
    """``hiringOrganization.name``, or the organisation written as a plain string."""
    value = first(value)
    if isinstance(value, dict):
        return text(value.get("name")) or text(value.get("legalName"))
    return text(value)


def place_name(place: Any) -> str | None:
    """"Locality, region, country" of a ``Place`` (or its plain-string address, or its name)."""
    if not isinstance(place, dict):
        return text(place)
    addresses = place.get("address")
    names = [address_name(a) for a in (addresses if isinstance(addresses, list) else [addresses])]
    joined = "; ".join(dict.fromkeys(n for n in names if n))
    return joined or text(place.get("name"))


def address_name(address: Any) -> str | None:
    """"Locality, region, country" of a ``PostalAddress``, or a plain-string address as it is."""
    if not isinstance(address, dict):
        return text(address)
    parts = [text(address.get(k)) for k in ("addressLocality", "addressRegion")]
    country = address.get("addressCountry")
    parts.append(text(country.get("name")) if isinstance(country, dict) else text(country))
    return ", ".join(dict.fromkeys(p for p in parts if p)) or text(address.get("name"))


def location(node: dict) -> str | None:
    """Every job location joined with "; ", else "Remote (...)" for a remote job, else None."""
    places = node.get("jobLocation")
    names = [place_name(p) for p in (places if isinstance(places, list) else [places]) if p]
    joined = "; ".join(dict.fromkeys(n for n in names if n))
    if joined:
        return joined
    if remote(node):
        allowed = node.get("applicantLocationRequirements")
        areas = [place_name(a) for a in (allowed if isinstance(allowed, list) else [allowed]) if a]
        areas = [a for a in dict.fromkeys(areas) if a]
        return f"Remote ({', '.join(areas)})" if areas else "Remote"
    return None


def remote(node: dict) -> bool | None:
    """True for ``jobLocationType: TELECOMMUTE``; False when only a ``jobLocation`` is given; else None."""
    kinds = node.get("jobLocationType")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if any((text(k) or "").upper().endswith("TELECOMMUTE") for k in kinds):
        return True
    return False if node.get("jobLocation") else None


def employment_type(value: Any) -> str | None:
    """One employment type, or several joined with ", " (``["FULL_TIME", "CONTRACTOR"]``)."""
    values = value if isinstance(value, list) else [value]
    names = [text(v) for v in values]
    return ", ".join(dict.fromkeys(n for n in names if n)) or None


def description(value: Any) -> str:
    """The description as HTML: unescaped once when the HTML arrived entity-escaped; plain text with line
    breaks becomes paragraphs (``<p>``, ``<br>``) so that its structure survives the HTML-to-text step."""
    raw = (raw_text(value) or "").strip()
    if not HTML_TAG.search(raw) and ESCAPED_TAG.search(raw):
        raw = html.unescape(raw).strip()
    if "\n" in raw and not HTML_TAG.search(raw):
        paragraphs = [p.strip() for p in BLANK_LINE.split(raw) if p.strip()]
        raw = "".join(f"<p>{html.escape(html.unescape(p), quote=False)}</p>".replace("\n", "<br>")
                      for p in paragraphs)
    return raw


def extras(node: dict, syntax: str) -> dict:
    """Recommended fields without a column, the employer's site and the markup the posting came from."""
    kept = {name: without_context(node[name]) for name in EXTRA_FIELDS if node.get(name) not in (None, "", [])}
    organisation = first(node.get("hiringOrganization"))
    if isinstance(organisation, dict):
        site = text(organisation.get("sameAs")) or text(organisation.get("url"))
        if site:
            kept["employerUrl"] = site
    kept["syntax"] = syntax
    return kept


def without_context(value: Any) -> Any:
    """A copy of ``value`` without ``@context`` entries (noise once the type is known)."""
    if isinstance(value, dict):
        return {k: without_context(v) for k, v in value.items() if k != "@context"}
    if isinstance(value, list):
        return [without_context(v) for v in value]
    return value
