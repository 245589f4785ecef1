"""Greenhouse's Job Board API: one GET per board returns every job post, with ``content=true`` its description.

``GET {GREENHOUSE_API_BASE}/v1/boards/{token}/jobs?content=true``. ``content`` is HTML-entity-escaped HTML and is
unescaped exactly once here. The posted date is ``first_published``, never ``updated_at`` (Greenhouse refreshes
that constantly). Boards recorded without ``content=true`` (the bundled demo data) give empty descriptions.

A board with pay transparency switched on renders each pay range inside ``content`` as
``div.content-pay-transparency > div.pay-input > (div.title, div.pay-range > span + span.divider + span)``; each
block is kept in ``extras["pay_ranges"]`` as ``{"title", "text"}`` (``pay_input_ranges``, when a response has
them, are kept as they are), and stored by the pipeline as the posting's structured pay.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from lxml import etree
from lxml import html as lxml_html

from crawler.items import JobPosting, text_field
from crawler.spiders.board import BoardSpider
from jobtrend.config import SourceConfig

EMPLOYMENT_TYPE_FIELDS = {"employment type", "employment_type", "job type", "time type", "type of employment"}
LOCATION_TYPE_FIELDS = {"location type", "workplace type", "remote status"}


class GreenhouseSpider(BoardSpider):
    """Crawl the Greenhouse job boards listed in sources.toml (``kind = "greenhouse"``)."""

    name = "greenhouse"
    api_base_setting = "GREENHOUSE_API_BASE"

    def board_url(self, base: str, key: str) -> str:
        return f"{base}/v1/boards/{quote(key, safe='')}/jobs?content=true"

    def parse_job(self, job: dict, source: SourceConfig, external_id: str) -> JobPosting:
        return self.new_item(
            source,
            external_id,
            url=job.get("absolute_url"),
            title=(job.get("title") or "").strip(),
            company=text_field(job.get("company_name")) or source.company or source.key,
            location=location(job),
            remote=remote(job),
            employment_type=metadata_value(job, EMPLOYMENT_TYPE_FIELDS),
            department=department(job),
            description_html=html.unescape(text_field(job.get("content")) or ""),
            posted_at=job.get("first_published"),
            extras=extras(job),
        )


def location(job: dict) -> str | None:
    """``location.name`` (free text, may be empty)."""
    loc = job.get("location")
    name = loc.get("name") if isinstance(loc, dict) else None
    if not isinstance(name, str):
        return None
    return name.strip() or None


def remote(job: dict) -> bool | None:
    """From a "Location Type" custom field when there is one, else True when the location says remote."""
    kind = (metadata_value(job, LOCATION_TYPE_FIELDS) or "").strip().lower()
    if kind:
        return "remote" in kind
    return True if "remote" in (location(job) or "").lower() else None


def department(job: dict) -> str | None:
    """The first department's name (departments come only with ``content=true``)."""
    departments = job.get("departments") or []
    first = departments[0] if departments and isinstance(departments[0], dict) else {}
    return first.get("name")


def metadata_value(job: dict, names: set[str]) -> str | None:
    """The value of the first custom field whose name (lower-cased) is in ``names``, when it is a string."""
    for entry in job.get("metadata") or ():
        if isinstance(entry, dict) and str(entry.get("name", "")).strip().lower() in names:
            value = entry.get("value")
            return value if isinstance(value, str) else None
    return None


def extras(job: dict) -> dict:
    """Fields worth keeping that have no column: custom metadata, requisition id, internal job id, offices."""
    offices = [o.get("name") for o in job.get("offices") or () if isinstance(o, dict)]
    kept = {
        "metadata": job.get("metadata"),
        "requisition_id": job.get("requisition_id"),
        "internal_job_id": job.get("internal_job_id"),
        "offices": offices or None,
        "pay_ranges": pay_ranges(job) or None,
    }
    return {k: v for k, v in kept.items() if v is not None}


def pay_ranges(job: dict) -> list[dict]:
    """The job's pay ranges: ``pay_input_ranges`` when given, else the pay-range blocks of its content."""
    given = job.get("pay_input_ranges")
    if isinstance(given, list) and given:
        return [r for r in given if isinstance(r, dict)]
    content = html.unescape(text_field(job.get("content")) or "")
    if "pay-range" not in content:
        return []
    try:
        tree = lxml_html.fromstring(content)
    except (etree.ParserError, ValueError):
        return []
    blocks = []
    for block in tree.xpath('//div[contains(concat(" ", normalize-space(@class), " "), " pay-input ")]'):
        spans = block.xpath('.//div[contains(@class, "pay-range")]//span')
        text = " ".join(" ".join(s.text_content().split()) for s in spans).strip()
        if text:
            title = " ".join(" ".join(t.text_content().split()) for t in block.xpath('./div[@class="title"]'))
            blocks.append({"title": title, "text": text})
    return blocks
