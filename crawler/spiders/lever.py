"""Lever's Postings API: a board's postings come a page at a time, as a bare JSON array.

``GET {LEVER_API_BASE}/v0/postings/{site}?mode=json&skip=N&limit=L`` (``L`` is ``LEVER_PAGE_SIZE``), with ``skip``
growing by ``L`` until a page holds fewer than ``L`` postings or none. Sites on Lever's EU instance (``region =
"eu"`` in sources.toml) are read from ``LEVER_EU_API_BASE``; the US host answers 404 for them, so a site with no
``region`` (``jobtrend crawl --source lever --board X`` for one not in sources.toml) that is 404 on the US host is
asked for once on the EU host before it counts as gone (``jobtrend/lever/eu_fallback``, ``eu_fallback`` in its
``crawl_runs.stats``; the log says to add
``region = "eu"``). Site names are
case-sensitive. An unknown site is ``404 {"ok":false,"error":"Document not found"}``; a site with no postings is
``200 []``. ``createdAt`` (epoch milliseconds) is the posted date; ``workplaceType`` is ``onsite`` live and
``on-site`` in the docs, both read as not remote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import parse_qs, quote, urlsplit

from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.url import add_or_replace_parameter

from crawler.items import JobPosting, text_field
from crawler.spiders.board import BoardSpider
from crawler.spiders.source import json_list
from jobtrend.config import SourceConfig

REMOTE_BY_WORKPLACE = {"remote": True, "onsite": False, "on-site": False, "hybrid": False}
DEFAULT_PAGE_SIZE = 100
EU_FALLBACK = "jobtrend_lever_eu_fallback"  # request meta: this first page is the EU host tried after a US 404


class LeverSpider(BoardSpider):
    """Crawl the Lever sites listed in sources.toml (``kind = "lever"``), page by page."""

    name = "lever"
    api_base_setting = "LEVER_API_BASE"
    api_base_settings = ("LEVER_API_BASE", "LEVER_EU_API_BASE")  # both follow run_crawl's api_base

    def api_base(self, source: SourceConfig) -> str:
        setting = "LEVER_EU_API_BASE" if is_eu(source) else "LEVER_API_BASE"
        return self.settings.get(setting, "").rstrip("/")

    def board_url(self, base: str, key: str) -> str:
        page_size = self.settings.getint("LEVER_PAGE_SIZE", DEFAULT_PAGE_SIZE)
        return f"{base}/v0/postings/{quote(key, safe='')}?mode=json&skip=0&limit={page_size}"

    def board_failed(self, failure: Failure) -> list[Request] | None:
        """A site with no ``region`` that is 404 on the US host is asked for on the EU host once; any other
        failure is recorded as for every board."""
        request = failure.request
        source = request.cb_kwargs["source"]
        eu_base = self.settings.get("LEVER_EU_API_BASE", "").rstrip("/")
        if (failure.check(HttpError) and failure.value.response.status == 404 and "region" not in source.options
                and "seen" not in request.cb_kwargs and not request.meta.get(EU_FALLBACK)
                and eu_base and eu_base != self.api_base(source)):
            self.count(source, "eu_fallback")  # jobtrend/lever/eu_fallback, and in crawl_runs.stats
            self.logger.info("lever site %r is not on the US host: trying Lever's EU host", source.key)
            retry = self.board_request(self.board_url(eu_base, source.key), source)
            retry.meta[EU_FALLBACK] = True
            return [retry]
        super().board_failed(failure)
        return None

    def parse_board(self, response: Response, source: SourceConfig,
                    seen: set[str] | None = None) -> Iterator[JobPosting | Request]:
        if response.meta.get(EU_FALLBACK) and seen is None:
            self.logger.warning("lever site %r is on Lever's EU instance: add region = \"eu\" to its sources.toml "
                                "entry to skip the US request", source.key)
        return super().parse_board(response, source, seen)

    def decode(self, body: bytes) -> tuple[list, str | None]:
        return json_list(body)  # a bare array

    def next_page_url(self, response: Response, jobs: list) -> str | None:
        query = parse_qs(urlsplit(response.url).query)
        skip, limit = int(query.get("skip", ["0"])[0]), int(query.get("limit", ["0"])[0])
        if not limit or len(jobs) < limit:
            return None
        return add_or_replace_parameter(response.url, "skip", str(skip + limit))

    def parse_job(self, job: dict, source: SourceConfig, external_id: str) -> JobPosting:
        categories = job.get("categories") if isinstance(job.get("categories"), dict) else {}
        return self.new_item(
            source,
            external_id,
            url=job.get("hostedUrl"),
            title=(job.get("text") or "").strip(),
            company=source.company or source.key,
            location=location(categories),
            remote=remote(job, categories),
            employment_type=categories.get("commitment"),
            department=text_field(categories.get("department")) or text_field(categories.get("team")),
            description_html=description_html(job),
            posted_at=posted_at(job.get("createdAt")),
            extras=extras(job, categories),
        )


def is_eu(source: SourceConfig) -> bool:
    """True for a site on Lever's EU instance (``region = "eu"``)."""
    return str(source.options.get("region", "")).strip().lower() == "eu"


def location(categories: dict) -> str | None:
    """The primary location, then the other locations in ``allLocations``, joined with "; "."""
    names = [categories.get("location"), *(categories.get("allLocations") or ())]
    names = [n.strip() for n in names if isinstance(n, str) and n.strip()]
    return "; ".join(dict.fromkeys(names)) or None


def remote(job: dict, categories: dict) -> bool | None:
    """From ``workplaceType`` (hybrid counts as not remote); when unspecified, True if the location says remote."""
    kind = str(job.get("workplaceType") or "").strip().lower()
    if kind in REMOTE_BY_WORKPLACE:
        return REMOTE_BY_WORKPLACE[kind]
    return True if "remote" in (location(categories) or "").lower() else None


def description_html(job: dict) -> str:
    """``description`` (opening and body), each list as a heading over its ``<li>`` items, then ``additional``."""
    parts = [job.get("description") or ""]
    for entry in job.get("lists") or ():
        if isinstance(entry, dict):
            heading, items = text_field(entry.get("text")) or "", text_field(entry.get("content")) or ""
            parts.append(f"<h3>{heading}</h3><ul>{items}</ul>")
    parts.append(job.get("additional") or "")
    return "".join(p for p in parts if isinstance(p, str))


def posted_at(created_at) -> str | None:
    """``createdAt`` (epoch milliseconds) as an ISO-8601 UTC string; anything else is passed on for validation."""
    if isinstance(created_at, int | float) and not isinstance(created_at, bool):
        try:
            return dt.datetime.fromtimestamp(created_at / 1000, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(created_at)
    return created_at


def extras(job: dict, categories: dict) -> dict:
    """Team, level, country, workplace type, apply URL, and the salary range when it names an amount."""
    salary = job.get("salaryRange")
    kept = {
        "team": categories.get("team"),
        "level": categories.get("level"),
        "country": job.get("country"),
        "workplaceType": job.get("workplaceType"),
        "applyUrl": job.get("applyUrl"),
        "salaryRange": salary if isinstance(salary, dict) and (salary.get("min") or salary.get("max")) else None,
    }
    return {k: v for k, v in kept.items() if v is not None}
