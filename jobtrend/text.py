"""Turn posting HTML into clean plain text, shared by the crawler and the analysis stages.

One parse and one pass over the tree: block elements (paragraphs, headings, ``<div>``, ``<br>``, table rows)
start new lines, list items become ``- `` lines, scripts, styles and other non-content elements are dropped,
entities are decoded. Whitespace is collapsed within each line and blank lines are removed.

The parse is lxml's HTML parser (libxml2) building an lxml tree directly, and the pass an XSLT stylesheet run by
libxslt that writes the text with line-break and list-item markers (private-use characters U+E000 and U+E001;
a page that holds one of them is walked in Python instead): together about 8 times faster than building a
BeautifulSoup tree from the same parser's events (~650 pages/s), and the same text on every page of the bundled
demo corpus (tests/jobtrend/test_text.py compares both on all of them). BeautifulSoup, whose tree builder
tolerates what libxml2 gives up on, takes over when lxml cannot parse the input (an XML encoding declaration in
a str; lone surrogates, which become U+FFFD), finds no tree, or reports a fatal error (nesting deeper than 256
elements, where libxml2 drops the rest of the document).
"""

from __future__ import annotations

import re
import threading
import warnings

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning
from lxml import etree

# Elements whose text is never content.
DROPPED = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "iframe", "object"})

# Elements that sit on lines of their own.
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "html", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot",
    "tr", "ul",
})

# Table cells are kept on their row's line, separated by a space.
CELLS = frozenset({"td", "th"})

# Markers the walk emits; characters that never occur in posting text. A newline in the HTML source is just
# whitespace, so line breaks need a marker of their own.
_BREAK = "\x1e"
_BULLET = "\x1f"

# JSON may escape half of a surrogate pair ("\ud800"): no parser can encode it, so it becomes U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# The same walk as an XSLT stylesheet (libxslt, in C). XML cannot carry \x1e or \x1f, so it writes private-use
# characters instead, translated back afterwards.
_XSLT_BREAK, _XSLT_BULLET = "\ue000", "\ue001"
_XSLT_SOURCE = f"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="text" encoding="utf-8"/>
<xsl:template match="{'|'.join(sorted(DROPPED))}"/>
<xsl:template match="br"><xsl:text>{_XSLT_BREAK}</xsl:text></xsl:template>
<xsl:template match="li"><xsl:text>{_XSLT_BREAK}{_XSLT_BULLET}</xsl:text><xsl:apply-templates/>\
<xsl:text>{_XSLT_BREAK}</xsl:text></xsl:template>
<xsl:template match="{'|'.join(sorted(BLOCKS))}"><xsl:text>{_XSLT_BREAK}</xsl:text><xsl:apply-templates/>\
<xsl:text>{_XSLT_BREAK}</xsl:text></xsl:template>
<xsl:template match="{'|'.join(sorted(CELLS))}"><xsl:apply-templates/><xsl:text> </xsl:text></xsl:template>
<xsl:template match="comment()|processing-instruction()"/>
</xsl:stylesheet>"""
_local = threading.local()  # an XSLT object per thread: lxml does not share one between threads


def _stylesheet() -> etree.XSLT:
    transform = getattr(_local, "xslt", None)
    if transform is None:
        transform = _local.xslt = etree.XSLT(etree.XML(_XSLT_SOURCE))
    return transform


# What each kind of element emits before its content, and what it leaves to emit after it (None: nothing).
_OPEN = {name: _BREAK for name in BLOCKS} | {"li": _BREAK + _BULLET}
_CLOSE = {name: _BREAK for name in BLOCKS} | {"li": _BREAK} | {name: " " for name in CELLS}


def html_to_text(html: str | None) -> str:
    """Return the readable text of ``html``: one line per block, list items as ``- item``."""
    if not html or not html.strip():
        return ""
    root = _lxml_tree(html)
    if root is None:
        return bs4_text(html)
    if _XSLT_BREAK in html or _XSLT_BULLET in html:
        return _tidy(_flatten_lxml(root))
    text = str(_stylesheet()(root))
    return _tidy(text.replace(_XSLT_BREAK, _BREAK).replace(_XSLT_BULLET, _BULLET))  # replace() beats translate()


def bs4_text(html: str | None) -> str:
    """:func:`html_to_text` through a BeautifulSoup tree (lxml parser): the tolerant, ~20x slower path."""
    if not html or not html.strip():
        return ""
    with warnings.catch_warnings():  # an XML document is read as HTML on purpose: its text is what we want
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(_LONE_SURROGATE.sub("\ufffd", html), "lxml")
    return _tidy(_flatten_soup(soup))


def _lxml_tree(html: str):
    """The lxml root of ``html``, or None when BeautifulSoup should parse it instead."""
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(html, parser)
    except (ValueError, etree.LxmlError):  # encoding declaration in a str, unencodable characters
        return None
    if root is None or any(error.level_name == "FATAL" for error in parser.error_log):
        return None
    return root


def _flatten_lxml(root) -> str:
    """Walk the lxml tree once (iteratively, so deep nesting cannot overflow the stack) and join its text."""
    parts: list[str] = []
    stack: list = [root]
    pop, push, emit = stack.pop, stack.append, parts.append
    while stack:
        node = pop()
        if node.__class__ is str:  # text, a tail or a marker pushed below
            emit(node)
            continue
        name = node.tag
        if name.__class__ is not str or name in DROPPED:  # entities left unresolved and the like
            continue
        if name == "br":
            emit(_BREAK)
            continue
        opening = _OPEN.get(name)
        if opening:
            emit(opening)
        closing = _CLOSE.get(name)
        if closing:
            push(closing)
        children = list(node)
        for child in reversed(children):
            tail = child.tail
            if tail:
                push(tail)
            push(child)
        text = node.text
        if text:
            emit(text)
    return "".join(parts)


def _flatten_soup(root: Tag) -> str:
    """Walk the BeautifulSoup tree once (iteratively) and join its text."""
    parts: list[str] = []
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if node.__class__ is str:  # a marker pushed below: text to emit after a tag's children
            parts.append(node)
            continue
        if isinstance(node, NavigableString):
            if node.__class__ is NavigableString:  # skips comments, doctypes, CDATA, processing instructions
                parts.append(node)
            continue
        name = node.name
        if name in DROPPED:
            continue
        if name == "br":
            parts.append(_BREAK)
            continue
        if name == "li":
            parts.append(_BREAK + _BULLET)
            stack.append(_BREAK)
        elif name in BLOCKS:
            parts.append(_BREAK)
            stack.append(_BREAK)
        elif name in CELLS:
            stack.append(" ")
        stack.extend(reversed(node.contents))
    return "".join(parts)


def _tidy(text: str) -> str:
    """Collapse whitespace within lines, drop empty lines, prefix the first line of each list item with "- "."""
    lines = []
    bullet = False
    for raw in text.split(_BREAK):
        if not raw:
            continue
        if raw[0] == _BULLET:
            bullet = True
        line = " ".join(raw.split())  # _BULLET is whitespace to str.split()
        if line:
            lines.append("- " + line if bullet else line)
            bullet = False
    return "\n".join(lines)
