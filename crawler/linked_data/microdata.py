"""HTML microdata (``itemscope``/``itemtype``/``itemprop``) as JSON-LD-shaped dicts, after the WHATWG algorithm.

Each top-level item (``itemscope`` without ``itemprop``) becomes ``{"@type": [...], "@id": ..., name: value}``;
a property given more than once becomes a list. Values follow the specification: ``content`` of ``meta``,
absolute ``href``/``src``/``data`` of links and media, ``value`` of ``data``/``meter``, ``datetime`` of ``time``,
a nested item for an element with ``itemscope``, else the element's text. One deliberate difference: a
``description`` on an ordinary element keeps its inner HTML, because job descriptions are HTML (lists,
headings) and the text alone would lose their structure. ``itemref`` is not followed.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from lxml import etree, html

from crawler.linked_data.jsonld import join

URL_ATTRIBUTES = {"a": "href", "area": "href", "link": "href", "audio": "src", "embed": "src", "iframe": "src",
                  "img": "src", "source": "src", "track": "src", "video": "src", "object": "data"}
VALUE_ATTRIBUTES = {"meta": "content", "data": "value", "meter": "value"}
HTML_PROPERTIES = frozenset({"description"})
SPACES = re.compile(r"\s+")


def microdata_items(doc: html.HtmlElement, base_url: str) -> list[dict]:
    """Every top-level microdata item of the document, with its nested items."""
    tops = doc.xpath("//*[@itemscope and not(@itemprop)]")
    return [item_of(element, base_url) for element in tops]


def item_of(element: html.HtmlElement, base_url: str, depth: int = 0) -> dict:
    """The item whose ``itemscope`` is on ``element``, its properties collected from its descendants."""
    item: dict[str, Any] = {}
    types = (element.get("itemtype") or "").split()
    if types:
        item["@type"] = types if len(types) > 1 else types[0]
    if element.get("itemid"):
        item["@id"] = join(base_url, element.get("itemid").strip())
    for prop, child in properties(element):
        value = item_of(child, base_url, depth + 1) if child.get("itemscope") is not None and depth < 20 \
            else property_value(child, prop, base_url)
        for name in prop.split():
            if name in item:
                item[name] = [*item[name], value] if isinstance(item[name], list) else [item[name], value]
            else:
                item[name] = value
    return item


def properties(element: html.HtmlElement) -> list[tuple[str, html.HtmlElement]]:
    """(itemprop, element) of the descendants that belong to ``element``'s item, in document order."""
    found = []
    stack = list(reversed(element))
    while stack:
        child = stack.pop()
        if not isinstance(child.tag, str):  # comments and processing instructions
            continue
        prop = (child.get("itemprop") or "").strip()
        if prop:
            found.append((prop, child))
        if child.get("itemscope") is None:
            stack.extend(reversed(child))
    return found


def property_value(element: html.HtmlElement, prop: str, base_url: str) -> str:
    """A property's value by the element it is written on (see the module docstring)."""
    tag = element.tag.lower()
    if tag in VALUE_ATTRIBUTES:
        return (element.get(VALUE_ATTRIBUTES[tag]) or "").strip()
    if tag in URL_ATTRIBUTES:
        return join(base_url, (element.get(URL_ATTRIBUTES[tag]) or "").strip())
    if tag == "time" and element.get("datetime"):
        return element.get("datetime").strip()
    if HTML_PROPERTIES & set(prop.split()):
        return inner_html(element)
    return SPACES.sub(" ", element.text_content()).strip()


def inner_html(element: html.HtmlElement) -> str:
    """The element's content as HTML, without the element's own tag."""
    parts = [escape(element.text or "", quote=False)]
    parts += [etree.tostring(child, encoding="unicode", method="html", with_tail=True) for child in element]
    return "".join(parts).strip()
