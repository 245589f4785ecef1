"""Fill ``description_text`` from ``description_html`` with :func:`jobtrend.text.html_to_text`."""

from __future__ import annotations

from jobtrend.text import html_to_text


class CleanHtmlPipeline:
    """Turn each posting's HTML description into clean text (one line per block, ``- `` list items)."""

    def process_item(self, item):
        item["description_text"] = html_to_text(item.get("description_html") or "")
        return item
