"""Check a posting's required fields, parse its posted date and normalise its types before it is stored.

A posting missing a required field is dropped and counted (``jobtrend/field/<name>/missing`` and
``jobtrend/source/<kind>:<key>/dropped``). An unreadable posted date is counted
(``jobtrend/field/posted_at/invalid``) and set to None, so the store falls back to the first-seen time.
Strings are stripped and cut to the size of their column (``jobtrend/field/<name>/truncated``); a field of the
wrong type (a list, an object, a boolean where text belongs) is left out rather than stored as its repr.
"""

from __future__ import annotations

import datetime as dt

from scrapy.exceptions import DropItem

from crawler.items import text_field
from jobtrend.models import Posting, Source

REQUIRED = ("external_id", "title", "source_kind", "source_key", "url")
STRING_FIELDS = ("source_kind", "source_key", "external_id", "url", "title", "company", "location",
                 "employment_type", "department")
TRUE_WORDS = frozenset({"true", "yes", "1", "remote"})
FALSE_WORDS = frozenset({"false", "no", "0", "onsite", "on-site"})


def column_sizes() -> dict[str, int]:
    """Maximum lengths of the item's string fields, read from the models' column types."""
    columns = {"source_kind": Source.__table__.c.kind, "source_key": Source.__table__.c.key}
    columns |= {name: Posting.__table__.c[name] for name in STRING_FIELDS if name in Posting.__table__.c}
    return {name: col.type.length for name, col in columns.items() if getattr(col.type, "length", None)}


class ValidatePostingPipeline:
    """Drop postings without identity or title, parse ``posted_at``, normalise ``remote`` and strings."""

    def __init__(self, stats, max_lengths: dict[str, int] | None = None):
        self.stats = stats
        self.max_lengths = column_sizes() if max_lengths is None else max_lengths

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        self.normalise_strings(item)
        missing = [name for name in REQUIRED if not item.get(name)]
        if missing:
            for name in missing:
                self.stats.inc_value(f"jobtrend/field/{name}/missing")
            label = f"{item.get('source_kind') or '?'}:{item.get('source_key') or '?'}"
            self.stats.inc_value(f"jobtrend/source/{label}/dropped")
            raise DropItem(f"posting {item.get('external_id')!r} from {label} lacks {', '.join(missing)}")
        item["posted_at"] = self.posted_at(item.get("posted_at"))
        item["remote"] = to_bool(item.get("remote"))
        if not isinstance(item.get("description_text"), str):
            item["description_text"] = ""
        return item

    def normalise_strings(self, item) -> None:
        """Strip string fields, turn empty ones into None and cut over-long ones to their column size."""
        for name in STRING_FIELDS:
            value = item.get(name)
            if value is None:
                continue
            value = (text_field(value) or "").strip() or None
            limit = self.max_lengths.get(name)
            if value and limit and len(value) > limit:
                self.stats.inc_value(f"jobtrend/field/{name}/truncated")
                value = value[:limit]
            item[name] = value

    def posted_at(self, value) -> dt.datetime | None:
        """The posted date as an aware UTC datetime; None (and counted) when absent or unreadable."""
        if value is None or value == "":
            self.stats.inc_value("jobtrend/field/posted_at/missing")
            return None
        try:
            return parse_datetime(value)
        except (TypeError, ValueError, OverflowError, OSError):
            self.stats.inc_value("jobtrend/field/posted_at/invalid")
            return None


def parse_datetime(value) -> dt.datetime:
    """ISO-8601 (offset, ``Z`` or naive taken as UTC), a date, or epoch seconds/milliseconds, in UTC."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a date")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.strip())
    else:
        raise TypeError(f"cannot read a date from {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def to_bool(value) -> bool | None:
    """True, False or None (unknown) from a boolean, a number or a word such as "yes" or "remote"."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
