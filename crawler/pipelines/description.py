"""A posting's description as text: :func:`jobtrend.text.html_to_text` of its HTML, without control characters.

The HTML arrives without control characters (``strip_control_chars`` runs first), but a character reference can
still name one (``&#1;``); the text loses those the same way. Used by the clean_html pipeline, and by the store
for a posting marked unchanged whose row is gone (crawler/pipelines/store_posting.py).
"""

from __future__ import annotations

from crawler.pipelines.strip_control_chars import strip_control_chars
from jobtrend.text import html_to_text


def clean_description(item) -> None:
    """Set the item's ``description_text`` from its ``description_html`` (a list or an object: no text)."""
    html = item.get("description_html")
    item["description_text"] = strip_control_chars(html_to_text(html if isinstance(html, str) else ""))
