"""``sources.toml``: the job boards and career sites to crawl, one ``[[sources]]`` table each."""

from __future__ import annotations

from pathlib import Path

from jobtrend.config.errors import ConfigError
from jobtrend.config.fields import REQUIRED, Key, Table, array_of_tables, nonblank, one_of, read_fields
from jobtrend.config.files import read_toml
from jobtrend.config.settings import SourceConfig

SOURCE_KINDS = ("ashby", "greenhouse", "lever", "hackernews", "jsonld")
# Extra keys a [[sources]] table of each kind may have, with their type and what is expected.
SOURCE_OPTIONS: dict[str, dict[str, tuple[type, str]]] = {
    "ashby": {},
    "greenhouse": {},
    "lever": {"region": (str, '"global" or "eu" (the EU instance api.eu.lever.co)')},
    "hackernews": {"since": (str, 'the first month to backfill, "YYYY-MM" (threads start in 2011-04)')},
    "jsonld": {
        "sitemap": (bool, "true when key is a sitemap.xml listing career pages"),
        "follow": (str, "a regular expression; only links (or sitemap URLs) whose absolute URL it matches are "
                        'fetched as job pages, on any host, e.g. "/jobs/[0-9]+$"'),
        "max_pages": (int, "the most pages fetched per crawl besides the key page, an integer of at least 1 "
                           "(default 200)"),
    },
}
# The keys every [[sources]] table has; the others are its kind's options (SOURCE_OPTIONS).
SOURCE: Table = {
    "kind": Key(str, REQUIRED, "one of " + ", ".join(SOURCE_KINDS), one_of(SOURCE_KINDS)),
    "key": Key(str, REQUIRED, "the board token, site name or URL", nonblank),
    "company": Key(str, None),
    "enabled": Key(bool, True),
}


def load_sources(path: Path) -> tuple[SourceConfig, ...]:
    """Read sources.toml: a list of ``[[sources]]`` tables with kind, key, company, enabled and options."""
    seen: set[tuple[str, str]] = set()
    sources = []
    for prefix, entry in array_of_tables(path, read_toml(path), "sources", "a table with kind and key"):
        values = read_fields(path, entry, SOURCE, prefix)
        if (values["kind"], values["key"]) in seen:
            raise ConfigError(path, prefix + "key", f"a key not already listed for {values['kind']}", values["key"])
        seen.add((values["kind"], values["key"]))
        options = {k: v for k, v in entry.items() if k not in SOURCE}
        _check_options(path, values["kind"], options, prefix)
        sources.append(SourceConfig(**values, options=options))
    return tuple(sources)


def _check_options(path: Path, kind: str, options: dict, prefix: str) -> None:
    allowed = SOURCE_OPTIONS.get(kind, {})
    for key, value in options.items():
        if key not in allowed:
            names = ", ".join([*SOURCE, *allowed])
            raise ConfigError(path, prefix + key, f"one of {names} for a {kind} source", "unknown key")
        kind_of, expected = allowed[key]
        if not isinstance(value, kind_of) or isinstance(value, bool) != (kind_of is bool):
            raise ConfigError(path, prefix + key, expected, value)
