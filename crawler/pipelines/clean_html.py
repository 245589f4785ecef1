"""Fill ``description_text`` from ``description_html`` with :func:`jobtrend.text.html_to_text`."""

from __future__ import annotations

from jobtrend.text import html_to_text


class CleanHtmlPipeline:
    """Turn each posting's HTML description into clean text (one line per block, ``- `` list items)."""

    def process_item(self, item):
        html = item.get("description_html")
        item["description_text"] = html_to_text(html if isinstance(html, str) else "")  # a list or an object: none
        return item
