"""Fill ``description_text`` from ``description_html`` with :func:`jobtrend.text.html_to_text`.

The HTML arrives without control characters (``strip_control_chars`` runs first), but a character reference
can still name one (``&#1;``); the text loses those the same way. A posting stored exactly as listed never gets
here: the spider middleware ``crawler/middlewares/unchanged_postings.py`` keeps it back.
"""

from __future__ import annotations

from crawler.pipelines.strip_control_chars import strip_control_chars
from jobtrend.text import html_to_text


class CleanHtmlPipeline:
    """Turn each posting's HTML description into clean text (one line per block, ``- `` list items)."""

    def process_item(self, item):
        html = item.get("description_html")
        text = html_to_text(html if isinstance(html, str) else "")  # a list or an object: none
        item["description_text"] = strip_control_chars(text)
        return item
