"""The one item every spider yields: a job posting as the source described it."""

from typing import Any

import scrapy


class JobPosting(scrapy.Item):
    """A posting as read from a source; pipelines clean, validate and store it.

    Spiders fill the raw fields; ``description_text`` is filled by the clean_html pipeline from
    ``description_html``; ``posted_at`` is the source's own posted date as a string (ISO-8601) or None.
    """

    source_kind = scrapy.Field()  # "ashby", "greenhouse", ... (sources.kind)
    source_key = scrapy.Field()  # board token or site (sources.key)
    external_id = scrapy.Field()  # the source's own id, as a string
    url = scrapy.Field()
    title = scrapy.Field()
    company = scrapy.Field()
    location = scrapy.Field()
    remote = scrapy.Field()  # True, False or None (unknown)
    employment_type = scrapy.Field()
    department = scrapy.Field()
    description_html = scrapy.Field()
    description_text = scrapy.Field()
    posted_at = scrapy.Field()
    posted_month = scrapy.Field()  # "YYYY-MM" when not posted_at's month (HN: the thread's month)
    extras = scrapy.Field()  # source-specific fields worth keeping (dict)
    # the hash of the fields as the spider yielded them (crawler/pipelines/unchanged.py), set by the spider
    # middleware that keeps back a posting stored exactly so (crawler/middlewares/unchanged_postings.py)
    raw_hash = scrapy.Field()


def text_field(value: Any) -> str | None:
    """A text field as the board wrote it: a string as it is, a number as text, anything else (a list, an
    object, a boolean) None, so that validation drops or leaves out the field instead of storing its repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
