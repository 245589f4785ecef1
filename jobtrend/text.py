"""Turn posting HTML into clean plain text, shared by the crawler and the analysis stages.

One BeautifulSoup parse (lxml parser, which tolerates the broken markup job boards publish) and one walk over
the tree: block elements (paragraphs, headings, ``<div>``, ``<br>``, table rows) start new lines, list items
become ``- `` lines, scripts, styles and other non-content elements are dropped, entities are decoded.
Whitespace is collapsed within each line and blank lines are removed.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag

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


def html_to_text(html: str | None) -> str:
    """Return the readable text of ``html``: one line per block, list items as ``- item``."""
    if not html or not html.strip():
        return ""
    soup = BeautifulSoup(html, "lxml")
    return _tidy(_flatten(soup))


def _flatten(root: Tag) -> str:
    """Walk the tree once (iteratively, so deep nesting cannot overflow the stack) and join its text."""
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
        if raw.startswith(_BULLET):
            bullet, raw = True, raw.replace(_BULLET, " ")
        line = " ".join(raw.split())
        if line:
            lines.append("- " + line if bullet else line)
            bullet = False
    return "\n".join(lines)
