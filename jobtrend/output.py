"""Render query results as an aligned text table, CSV, JSON or a Markdown table: one function, used by every
command.

The values are scraped text as often as not, so the table, CSV and Markdown formats pass every text through
:func:`jobtrend.messages.terminal_text` (no escape sequence, control character or bidi override reaches the
reader's terminal), and CSV puts a ``'`` before a text cell a spreadsheet would run as a formula
(:func:`formula_safe`; ``raw_csv`` leaves it). JSON is exact: it escapes control characters itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from collections.abc import Sequence
from typing import Any

from jobtrend.messages import terminal_text

FORMATS = ("table", "csv", "json", "markdown")
# What makes a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> Any:
    """A JSON-friendly version of a database value."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def formula_safe(value: Any, original: str | None = None) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return (or cleaned from an ``original`` that did) gets a leading ``'``. Numbers, dates and None are returned
    as they are: only text is changed, so -5 stays -5."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or (original or "").startswith(FORMULA_STARTS)):
        return "'" + value
    return value


def _csv_cell(value: Any, raw: bool) -> Any:
    value = plain(value)
    if not isinstance(value, str):
        return value
    shown = terminal_text(value, multiline=True)
    return shown if raw else formula_safe(shown, value)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table", *,
           raw_csv: bool = False) -> str:
    """Format ``rows`` under ``columns`` as ``table``, ``csv``, ``json`` (a list of objects) or ``markdown``.
    ``raw_csv``: CSV text cells as they are, without the ``'`` before a formula."""
    if fmt == "json":
        return json.dumps([dict(zip(columns, map(plain, row), strict=True)) for row in rows], indent=2,
                          ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([_csv_cell(c, raw_csv) for c in columns])
        writer.writerows([[_csv_cell(v, raw_csv) for v in row] for row in rows])
        return buf.getvalue().rstrip("\n")
    if fmt == "markdown":
        return _markdown(columns, rows)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _table(columns, rows)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _number(value)
    text = terminal_text(str(plain(value)))
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: float) -> str:
    """A float as a person reads it in a table: every digit before the point (never ``1.235e+05``), at most four
    after it, trailing zeros dropped; a value too small for four decimals keeps four significant digits."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value and abs(value) < 0.0001:
        return f"{value:.4g}"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    columns = [terminal_text(str(c)) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(r[i], int | float | decimal.Decimal) or r[i] is None for r in rows) and rows
               for i in range(len(columns))]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def markdown_cell(value: Any) -> str:
    """One Markdown table cell: the full value on one line (safe for a terminal), with pipes and backslashes
    escaped."""
    if value is None:
        return ""
    text = str(plain(value))
    text = " ".join(text.split()) if ("\n" in text or "\r" in text) else text
    return terminal_text(text).replace("\\", "\\\\").replace("|", "\\|")


def _markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    numeric = [bool(rows) and all(isinstance(r[i], int | float | decimal.Decimal) and not isinstance(r[i], bool)
                                  or r[i] is None for r in rows) for i in range(len(columns))]
    out = ["| " + " | ".join(markdown_cell(c) for c in columns) + " |",
           "| " + " | ".join("---:" if num else "---" for num in numeric) + " |"]
    out += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)
