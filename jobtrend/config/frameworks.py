"""``frameworks.toml``: the framework taxonomy the mention matcher looks for, one ``[[frameworks]]`` table each.

Each entry's keys are declared once (:data:`FRAMEWORK`) and read by the generic reader; what relates keys or
entries to each other (forms used once, the gates, the parents) is checked after that read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jobtrend.config.errors import ConfigError
from jobtrend.config.fields import REQUIRED, Key, Table, array_of_tables, at_least, check_items, read_table
from jobtrend.config.files import read_toml
from jobtrend.config.settings import AVOID_WINDOW, NEAR_WINDOW, FrameworkConfig

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
WORDS = "a number of words, at least 1"
FRAMEWORK: Table = {
    "slug": Key(str, REQUIRED, "a lower-case slug such as 'pytorch'", SLUG_RE.match),
    "name": Key(str, REQUIRED, "a non-empty string", bool),
    "category": Key(str, REQUIRED, "a non-empty string", bool),
    "aliases": Key(list, []),
    "exact": Key(list, []),
    "parent": Key(str, None),
    "near": Key(list, []),
    "near_window": Key(int, NEAR_WINDOW, WORDS, at_least(1)),
    "gated": Key(list, []),
    "exclude": Key(list, []),
    "avoid": Key(list, []),
    "avoid_window": Key(int, AVOID_WINDOW, WORDS, at_least(1)),
    "near_technology": Key(bool, False),
    "organisation": Key(bool, False),
}
STRING_LISTS = ("aliases", "exact", "near", "gated", "exclude", "avoid")


def load_frameworks(path: Path) -> tuple[FrameworkConfig, ...]:
    """Read frameworks.toml: ``[[frameworks]]`` tables with slug, name, category, forms, gates and parent."""
    slugs: set[str] = set()
    owner: dict[str, str] = {}
    result = []
    for prefix, entry in array_of_tables(path, read_toml(path), "frameworks", "a table with slug, name, category"):
        values = read_table(path, entry, FRAMEWORK, prefix)
        slug = values["slug"]
        if slug in slugs:
            raise ConfigError(path, prefix + "slug", "a slug not used by another entry", slug)
        slugs.add(slug)
        for key in STRING_LISTS:
            check_items(path, values[key], key, prefix, lambda value: isinstance(value, str) and value.strip(),
                        "a non-empty string")
        aliases, exact = values["aliases"], values["exact"]
        if not aliases and not exact:
            raise ConfigError(path, prefix + "aliases", "at least one alias or exact form", [])
        for form in [a.lower() for a in aliases] + exact:
            if owner.setdefault(form, slug) != slug:
                raise ConfigError(path, prefix + "aliases", f"forms not already used by '{owner[form]}'", form)
        _check_gates(path, entry, prefix, values)
        result.append(FrameworkConfig(**{key: tuple(value) if isinstance(value, list) else value
                                         for key, value in values.items()}))
    _check_parents(path, result)
    return tuple(result)


def _check_gates(path: Path, entry: dict, prefix: str, values: dict[str, Any]) -> None:
    """``gated`` lists the entry's forms and comes with ``near`` (or ``near_technology``); each ``exclude`` phrase
    holds one of the forms; ``near_window`` and ``avoid_window`` come with what they apply to."""
    aliases, exact, gated = values["aliases"], values["exact"], values["gated"]
    near = values["near"] or values["near_technology"]
    alias_forms, exact_forms = {_squash(a).lower() for a in aliases}, {_squash(e) for e in exact}
    for j, form in enumerate(gated):
        if _squash(form) not in exact_forms and _squash(form).lower() not in alias_forms:
            raise ConfigError(path, f"{prefix}gated[{j}]", "one of this entry's aliases or exact forms", form)
    if gated and not near:
        raise ConfigError(path, prefix + "near", "at least one word or phrase (or near_technology = true), as the "
                          "entry has gated forms", [])
    if near and not gated and not exact:
        raise ConfigError(path, prefix + "gated", "the forms `near` applies to (the entry has no exact forms)",
                          [])
    if "near_window" in entry and not near:
        raise ConfigError(path, prefix + "near", "words or phrases for near_window to apply to", [])
    lowered = alias_forms | {form.lower() for form in exact_forms}
    for j, phrase in enumerate(values["exclude"]):
        if not any(re.search(rf"(?<!\w){re.escape(form)}(?!\w)", _squash(phrase).lower()) for form in lowered):
            raise ConfigError(path, f"{prefix}exclude[{j}]", "a phrase containing one of this entry's forms",
                              phrase)
    if "avoid_window" in entry and not (values["avoid"] or values["organisation"]):
        raise ConfigError(path, prefix + "avoid", "words or phrases (or organisation = true) for avoid_window to "
                          "apply to", [])


def _squash(form: str) -> str:
    return " ".join(form.split())


def _check_parents(path: Path, frameworks: list[FrameworkConfig]) -> None:
    """Every ``parent`` names another entry, and following parents never comes back to an entry."""
    index = {f.slug: i for i, f in enumerate(frameworks)}
    for i, framework in enumerate(frameworks):
        key = f"frameworks[{i}].parent"
        if framework.parent is None:
            continue
        if framework.parent not in index or framework.parent == framework.slug:
            raise ConfigError(path, key, "the slug of another entry", framework.parent)
        chain, slug = [framework.slug], framework.parent
        while slug is not None:
            if slug in chain:
                raise ConfigError(path, key, "a parent chain without a cycle", " -> ".join([*chain, slug]))
            chain.append(slug)
            slug = frameworks[index[slug]].parent
