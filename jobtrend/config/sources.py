"""``sources.toml``: the job boards and career sites to crawl, one ``[[sources]]`` table each, plus the boards of
the registry files it includes (``[registry] include = ["ashby", ...]``: ``registry/<name>.csv`` beside it, read by
:mod:`jobtrend.registry`) and those ``jobtrend sources import`` added (``registry/imported.csv``, always read)."""

from __future__ import annotations

import re
from pathlib import Path

from jobtrend.addresses import PRIVATE_ADDRESS, url_refusal
from jobtrend.config.errors import ConfigError
from jobtrend.config.fields import (
    REQUIRED,
    Key,
    Table,
    array_of_tables,
    between,
    check_items,
    nonblank,
    one_of,
    read_fields,
    read_table,
    sub_table,
)
from jobtrend.config.files import read_toml
from jobtrend.config.settings import SourceConfig
from jobtrend.patterns import pattern_error
from jobtrend.registry import IMPORTED, RegistryError, read_registry

SOURCE_KINDS = ("ashby", "greenhouse", "lever", "hackernews", "jsonld")
MAX_SITE_PAGES = 10_000  # max_pages: at one page a second, about three hours, the scheduler's crawl timeout
# Extra keys a [[sources]] table of each kind may have: type, what is expected, and a check of the value.
SOURCE_OPTIONS: dict[str, Table] = {
    "ashby": {},
    "greenhouse": {},
    "lever": {"region": Key(str, None, '"global" or "eu" (the EU instance api.eu.lever.co)')},
    "hackernews": {"since": Key(str, None, 'the first month to backfill, "YYYY-MM" (threads start in 2011-04)')},
    "jsonld": {
        "sitemap": Key(bool, None, "true when key is a sitemap.xml listing career pages"),
        "follow": Key(str, None, "a regular expression RE2 accepts (no backreferences or lookaround); only links (or "
                                 "sitemap URLs) whose absolute URL it matches are fetched as job pages, on any host, "
                                 'e.g. "/jobs/[0-9]+$"', lambda pattern: pattern_error(pattern) is None),
        "max_pages": Key(int, None, "the most pages fetched per crawl besides the key page, an integer of at least 1 "
                                    f"and at most {MAX_SITE_PAGES} (default 200)", between(1, MAX_SITE_PAGES)),
    },
}
URL_KEY_KINDS = ("jsonld",)  # kinds whose key is a URL the crawler fetches, checked like every crawl target
# The keys every [[sources]] table has; the others are its kind's options (SOURCE_OPTIONS).
SOURCE: Table = {
    "kind": Key(str, REQUIRED, "one of " + ", ".join(SOURCE_KINDS), one_of(SOURCE_KINDS)),
    "key": Key(str, REQUIRED, "the board token, site name or URL", nonblank),
    "company": Key(str, None),
    "enabled": Key(bool, True),
}
REGISTRY_FOLDER = "registry"  # beside sources.toml
REGISTRY_NAME = r"[A-Za-z0-9_-]+"
# [registry] of sources.toml: which registry files (registry/<name>.csv) are crawled besides the [[sources]] tables
REGISTRY: Table = {
    "include": Key(list, [], 'a list of registry file names, e.g. ["ashby", "greenhouse", "lever"] '
                             "(registry/<name>.csv beside sources.toml)"),
}
URL_EXPECTED = {
    "scheme": "an http:// or https:// URL (the career page or sitemap)",
    "host": "an http:// or https:// URL with a host name",
    PRIVATE_ADDRESS: "a URL on a public host, not a private, loopback or link-local address "
                     "(jobtrend.toml's crawl.allow_private_addresses = true permits them)",
}


def load_sources(path: Path, *, allow_private_addresses: bool = False) -> tuple[SourceConfig, ...]:
    """Read sources.toml: a list of ``[[sources]]`` tables with kind, key, company, enabled and options.
    A URL key naming a private, loopback or link-local host is refused unless ``allow_private_addresses``
    (``crawl.allow_private_addresses`` of jobtrend.toml)."""
    data = read_toml(path)
    include = registry_include(path, data.pop("registry", {}))
    seen: set[tuple[str, str]] = set()
    sources = []
    for prefix, entry in array_of_tables(path, data, "sources", "a table with kind and key"):
        values = read_fields(path, entry, SOURCE, prefix)
        if (values["kind"], values["key"]) in seen:
            raise ConfigError(path, prefix + "key", f"a key not already listed for {values['kind']}", values["key"])
        seen.add((values["kind"], values["key"]))
        if values["kind"] in URL_KEY_KINDS:
            refusal = url_refusal(values["key"], allow_private_addresses)
            if refusal:
                raise ConfigError(path, prefix + "key", URL_EXPECTED[refusal], values["key"])
        options = {k: v for k, v in entry.items() if k not in SOURCE}
        _check_options(path, values["kind"], options, prefix)
        sources.append(SourceConfig(**values, options=options))
    return tuple(sources) + registry_sources(path, include, sources)


def registry_include(path: Path, table: dict) -> tuple[str, ...]:
    """The registry files ``[registry] include`` names, checked (a name each, no path)."""
    table = sub_table(path, {"registry": table}, "registry")
    include = read_table(path, table, REGISTRY, "registry.")["include"]
    check_items(path, include, "include", "registry.", lambda name: isinstance(name, str)
                and re.fullmatch(REGISTRY_NAME, name), "a registry file name such as \"ashby\" (letters, digits, - "
                "and _)")
    return tuple(dict.fromkeys(include))


def registry_sources(path: Path, include: tuple[str, ...], configured: list[SourceConfig]) -> tuple[SourceConfig, ...]:
    """The boards of the included registry files and of ``registry/imported.csv`` (when it exists), minus those
    already configured: a board is listed once, the first spelling wins (sources.toml, imported, then the
    included files in order), ignoring case."""
    folder = path.parent / REGISTRY_FOLDER
    files = [folder / f"{IMPORTED}.csv"] if (folder / f"{IMPORTED}.csv").exists() else []
    files += [folder / f"{name}.csv" for name in include if name != IMPORTED]
    for i, name in enumerate(include):
        if not (folder / f"{name}.csv").is_file():
            raise ConfigError(path, f"registry.include[{i}]", f"the name of a file {folder}/<name>.csv", name)
    seen = {(s.kind, s.key.casefold()) for s in configured}
    sources = []
    for file in files:
        try:
            boards = read_registry(file)
        except RegistryError as exc:
            raise ConfigError(exc.path, f"line {exc.line}" if exc.line else "(file)", exc.problem) from None
        for board in boards:
            ident = board.ident
            if ident not in seen:
                seen.add(ident)
                sources.append(SourceConfig(kind=board.kind, key=board.token, company=board.company,
                                            options={"region": board.region} if board.region else {}))
    return tuple(sources)


def _check_options(path: Path, kind: str, options: dict, prefix: str) -> None:
    allowed = SOURCE_OPTIONS.get(kind, {})
    for key in options:
        if key not in allowed:
            names = ", ".join([*SOURCE, *allowed])
            raise ConfigError(path, prefix + key, f"one of {names} for a {kind} source", "unknown key")
    for key, value in options.items():
        spec = allowed[key]
        if not isinstance(value, spec.kind) or isinstance(value, bool) != (spec.kind is bool):
            raise ConfigError(path, prefix + key, spec.expected, value)
        if spec.check is not None and not spec.check(value):
            reason = pattern_error(value) if key == "follow" else None
            raise ConfigError(path, prefix + key, spec.expected + (f" (RE2: {reason})" if reason else ""), value)
