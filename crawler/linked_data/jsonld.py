"""Read ``<script type="application/ld+json">`` blocks as sites really write them, and walk the nodes they hold.

Parsing is lenient, in this order: ``json.loads(strict=False)`` (raw newlines and control characters inside
strings are accepted); then a repair pass outside strings (HTML comments, ``CDATA`` markers, ``//`` and ``/* */``
comments and trailing commas are dropped, invalid escapes such as ``\\'`` lose their backslash) that also reads
several values written one after another; then the same on the entity-unescaped text (``{&quot;@type&quot;...``).
What still cannot be read raises :class:`ValueError`; the caller logs and counts it.

Types and property names are compared without their schema.org prefix: ``JobPosting``, ``schema:JobPosting``,
``http://schema.org/JobPosting`` and ``https://schema.org/JobPosting`` are one type.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin as _urljoin

SCHEMA_PREFIX = re.compile(r"^(?:https?://(?:www\.)?schema\.org/|schema:)", re.I)
WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|/\*\s*<!\[CDATA\[\s*\*/|<!\[CDATA\[)|"
                      r"(?:-->|//\s*\]\]>|/\*\s*\]\]>\s*\*/|\]\]>)\s*$")
DROPPED_OUTSIDE_STRINGS = ("<![CDATA[", "]]>", "-->")
JSON_ESCAPES = frozenset('"\\/bfnrtu')
SEPARATORS = frozenset(" \t\r\n,;\ufeff")
DECODER = json.JSONDecoder(strict=False)


def join(base: str, ref: str) -> str:
    """``ref`` resolved against ``base``; ``ref`` as it is when either is a malformed URL (``http://[x``)."""
    try:
        return _urljoin(base, ref)
    except ValueError:
        return ref


def parse_block(text: str) -> list:
    """The JSON values in one script block (usually one); ValueError when it cannot be read even leniently."""
    body = strip_wrappers(text)
    if not body:
        raise ValueError("empty block")
    try:
        return [json.loads(body, strict=False)]
    except ValueError:
        pass
    try:
        return decode_values(repair(body))
    except ValueError:
        if "&quot;" not in body and "&#34;" not in body:
            raise
    return decode_values(repair(html.unescape(body)))


def strip_wrappers(text: str) -> str:
    """The block without the ``<!-- -->`` or ``CDATA`` wrappers old CMS templates put around it."""
    previous = None
    body = text.strip()
    while body != previous:
        previous, body = body, WRAPPERS.sub("", body).strip()
    return body


def repair(text: str) -> str:
    """``text`` with comments, CDATA markers and trailing commas removed outside strings, bad escapes fixed."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                nxt = text[i + 1:i + 2]
                out.append(text[i:i + 2] if nxt in JSON_ESCAPES and nxt else nxt)
                i += 2
                continue
            in_string = ch != '"'
            out.append(ch)
            i += 1
            continue
        skip = skipped_at(text, i)
        if skip:
            i = skip
            continue
        if ch == "," and next_significant(text, i + 1) in ("}", "]", ""):
            i += 1
            continue
        in_string = ch == '"'
        out.append(ch)
        i += 1
    return "".join(out)


def skipped_at(text: str, i: int) -> int:
    """The index after a comment or marker starting at ``i`` (outside strings), or 0 when there is none."""
    for start, end in (("<!--", "-->"), ("/*", "*/"), ("//", "\n")):
        if text.startswith(start, i):
            stop = text.find(end, i + len(start))
            return len(text) if stop < 0 else stop + (len(end) if end != "\n" else 0)
    for marker in DROPPED_OUTSIDE_STRINGS:
        if text.startswith(marker, i):
            return i + len(marker)
    return 0


def next_significant(text: str, i: int) -> str:
    """The next character from ``i`` that is not white space ("" at the end)."""
    match = re.compile(r"\S").search(text, i)
    return match.group() if match else ""


def decode_values(text: str) -> list:
    """Every JSON value in ``text``, written one after another (separated by white space, commas or ``;``)."""
    values, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in SEPARATORS:
            i += 1
        if i >= n:
            break
        value, i = DECODER.raw_decode(text, i)
        values.append(value)
    if not values:
        raise ValueError("no JSON value")
    return values


# --- nodes ------------------------------------------------------------------------------------------------------

def clean_type(value: Any) -> str:
    """``JobPosting`` from ``JobPosting``, ``schema:JobPosting`` or ``http(s)://schema.org/JobPosting``."""
    return SCHEMA_PREFIX.sub("", str(value).strip())


def types_of(node: Any) -> set[str]:
    """The node's ``@type`` values (a string or a list) without schema.org prefixes."""
    if not isinstance(node, dict):
        return set()
    types = node.get("@type")
    types = types if isinstance(types, list) else [types]
    return {clean_type(t) for t in types if isinstance(t, str) and t.strip()}


def clean_keys(value: Any) -> Any:
    """A copy of ``value`` whose property names lose any schema.org prefix (``http://schema.org/title``)."""
    if isinstance(value, dict):
        return {clean_type(k) if isinstance(k, str) and not k.startswith("@") else k: clean_keys(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [clean_keys(v) for v in value]
    return value


def top_nodes(values: Iterable[Any]) -> list[dict]:
    """The nodes at the top of the blocks: top-level arrays flattened and ``@graph`` lists unpacked."""
    nodes = []
    for value in values:
        if isinstance(value, list):
            nodes += top_nodes(value)
        elif isinstance(value, dict):
            graph = value.get("@graph")
            if isinstance(graph, list | dict):
                nodes += top_nodes(graph if isinstance(graph, list) else [graph])
                rest = {k: v for k, v in value.items() if k not in ("@graph", "@context")}
                if rest.get("@type"):
                    nodes.append(rest)
            else:
                nodes.append(value)
    return [clean_keys(n) for n in nodes]


def walk(value: Any) -> Iterator[dict]:
    """Every dict inside ``value``, depth first, ``value`` itself included."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            yield current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))


def id_index(nodes: Iterable[dict], base_url: str) -> dict[str, dict]:
    """Nodes with an ``@id`` and more than a reference, by their absolute id (``#org`` against the page)."""
    index: dict[str, dict] = {}
    for node in nodes:
        for found in walk(node):
            ref = found.get("@id")
            if isinstance(ref, str) and set(found) - {"@id", "@type", "@context"}:
                index.setdefault(join(base_url, ref.strip()), found)
    return index


def resolve(value: Any, index: dict[str, dict], base_url: str, path: frozenset = frozenset()) -> Any:
    """A copy of ``value`` with ``{"@id": ...}`` references replaced by the nodes they name (no cycles)."""
    if isinstance(value, list):
        return [resolve(v, index, base_url, path) for v in value]
    if not isinstance(value, dict):
        return value
    ref = value.get("@id")
    key = join(base_url, ref.strip()) if isinstance(ref, str) else None
    if key and not set(value) - {"@id", "@type"} and key in index and key not in path:
        value = index[key]
    inner = path | {key} if key else path
    return {k: resolve(v, index, base_url, inner) for k, v in value.items()}


def find_typed(nodes: Iterable[dict], wanted: str) -> list[dict]:
    """Nodes of type ``wanted`` at any depth (a JobPosting under ``mainEntity`` or an ``ItemList`` too),
    each once, in document order; the inside of a found node is not searched."""
    found, seen_ids = [], set()
    stack = list(reversed(list(nodes)))
    while stack:
        current = stack.pop()
        if isinstance(current, list):
            stack.extend(reversed(current))
        elif isinstance(current, dict):
            if wanted in types_of(current):
                if id(current) not in seen_ids:
                    seen_ids.add(id(current))
                    found.append(current)
            else:
                stack.extend(reversed(list(current.values())))
    return found
