"""Ashby's public Job Posting API: one GET per job board returns every posting with its HTML description.

``GET {ASHBY_API_BASE}/posting-api/job-board/{board}?includeCompensation=true`` (board names are
case-sensitive). Unlisted jobs (``isListed: false``) are dropped and counted (``jobtrend/ashby/unlisted``); they
do not count as seen, so a posting that becomes unlisted is closed by the next complete crawl.
"""

from __future__ import annotations

from urllib.parse import quote

from crawler.items import JobPosting
from crawler.spiders.board import BoardSpider
from jobtrend.config import SourceConfig

REMOTE_BY_WORKPLACE = {"Remote": True, "OnSite": False, "Hybrid": False}


class AshbySpider(BoardSpider):
    """Crawl the Ashby job boards listed in sources.toml (``kind = "ashby"``)."""

    name = "ashby"
    api_base_setting = "ASHBY_API_BASE"

    def board_url(self, base: str, key: str) -> str:
        return f"{base}/posting-api/job-board/{quote(key, safe='')}?includeCompensation=true"

    def skip_job(self, job: dict, source: SourceConfig) -> bool:
        if job.get("isListed") is False:
            self.count(source, "unlisted")  # jobtrend/ashby/unlisted, and in crawl_runs.stats
            return True
        return False

    def parse_job(self, job: dict, source: SourceConfig, external_id: str) -> JobPosting:
        return self.new_item(
            source,
            external_id,
            url=job.get("jobUrl"),
            title=(job.get("title") or "").strip(),
            company=source.company or source.key,
            location=location(job),
            remote=remote(job),
            employment_type=job.get("employmentType"),
            department=job.get("department"),
            description_html=job.get("descriptionHtml") or "",
            posted_at=job.get("publishedAt"),
            extras=extras(job),
        )


def location(job: dict) -> str | None:
    """The primary location, then the secondary locations' names, joined with "; "."""
    names = [job.get("location")]
    names += [s.get("location") for s in job.get("secondaryLocations") or () if isinstance(s, dict)]
    names = [n.strip() for n in names if isinstance(n, str) and n.strip()]
    return "; ".join(dict.fromkeys(names)) or None


def remote(job: dict) -> bool | None:
    """``isRemote`` when given, else from ``workplaceType`` (Hybrid counts as not remote), else unknown."""
    if isinstance(job.get("isRemote"), bool):
        return job["isRemote"]
    workplace = job.get("workplaceType")
    return REMOTE_BY_WORKPLACE.get(workplace) if isinstance(workplace, str) else None


def extras(job: dict) -> dict:
    """Team, workplace type, and the compensation only when the employer shows it on the posting."""
    kept = {"team": job.get("team"), "workplaceType": job.get("workplaceType")}
    if job.get("shouldDisplayCompensationOnJobPostings") is True and job.get("compensation"):
        kept["compensation"] = job["compensation"]
    return {k: v for k, v in kept.items() if v is not None}
