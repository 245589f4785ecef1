"""Clean every text of a posting of the characters a database refuses or a reader never wants, whatever the source.

PostgreSQL refuses NUL (``\\x00``) in text: one board posting with ``\\u0000`` in its title used to fail the store
pipeline's whole batch, postings of other boards with it, on every crawl. Neither database can encode a lone
UTF-16 surrogate (``"\\ud800"`` is valid JSON). So before anything else reads the item, every string in it,
nested ones too (``extras``: lists, dicts and their keys), loses the C0 control characters except tab, newline
and carriage return; a vertical tab or form feed becomes a space; a lone surrogate becomes U+FFFD. Counted per
field as ``jobtrend/field/<name>/control_chars`` (and per source, ``jobtrend/source/<kind>:<key>/control_chars``).

The external id is cleaned the same way, so it can be stored; the spider recorded the id as the board wrote it
in its seen set. The pipeline keeps each changed id on the spider (``spider.cleaned_ids``: source key -> {id as
listed: id as stored}) and the crawl-run extension counts the stored id as seen whenever the listed one was, so
a posting whose id held a NUL is not closed by the next complete crawl.
"""

from __future__ import annotations

import re
from typing import Any

CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\ud800-\udfff]")
AS_SPACE = frozenset("\x0b\x0c")  # vertical tab and form feed: white space, kept as a space
CLEANED_IDS = "cleaned_ids"  # the spider attribute: source key -> {external id as listed: as stored}


def strip_control_chars(text: str) -> str:
    """``text`` without C0 control characters (tab, newline and carriage return stay; vertical tab and form feed
    become a space) and with each lone surrogate replaced by U+FFFD."""
    if not CONTROL_CHARS.search(text):
        return text
    return CONTROL_CHARS.sub(replacement, text)


def replacement(match: re.Match) -> str:
    char = match.group()
    if char in AS_SPACE:
        return " "
    return "\ufffd" if char >= "\ud800" else ""


def clean_value(value: Any) -> tuple[Any, bool]:
    """``value`` with every string in it cleaned (lists, tuples and dicts, keys included), and whether anything
    changed."""
    if isinstance(value, str):
        cleaned = strip_control_chars(value)
        return cleaned, cleaned != value
    if isinstance(value, list | tuple):
        pairs = [clean_value(v) for v in value]
        return type(value)(v for v, _ in pairs), any(changed for _, changed in pairs)
    if isinstance(value, dict):
        out, changed = {}, False
        for key, inner in value.items():
            new_key, key_changed = clean_value(key)
            out[new_key], inner_changed = clean_value(inner)
            changed = changed or key_changed or inner_changed
        return out, changed
    return value, False


class StripControlCharsPipeline:
    """Clean every field of every posting (see the module docstring)."""

    def __init__(self, stats, crawler=None):
        self.stats = stats
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats, crawler)

    def process_item(self, item):
        label = f"{item.get('source_kind') or '?'}:{item.get('source_key') or '?'}"
        for name in list(item.keys()):
            value, changed = clean_value(item[name])
            if not changed:
                continue
            if name == "external_id":
                self.remember_id(item.get("source_key"), item[name], value)
            item[name] = value
            self.stats.inc_value(f"jobtrend/field/{name}/control_chars")
            self.stats.inc_value(f"jobtrend/source/{label}/control_chars")
        return item

    def remember_id(self, key: Any, listed: str, stored: str) -> None:
        """Keep the id as listed and as stored on the spider, for the crawl-run extension's closing."""
        spider = getattr(self.crawler, "spider", None)
        if spider is None:
            return
        if getattr(spider, CLEANED_IDS, None) is None:
            setattr(spider, CLEANED_IDS, {})
        getattr(spider, CLEANED_IDS).setdefault(key, {})[listed] = stored
