"""The one-line figure format every benchmarks/bench_*.py script prints, and benchmarks/__main__.py collects.

Each figure is the literal prefix ``BENCH `` and a one-line JSON object::

    BENCH {"stage": "mentions", "figure": "matcher throughput", "value": 52.1, "unit": "MB/s",
           "reference": "one regex per form", "reference_value": 0.1, "ratio": 521.0, "target": ">= 40 MB/s",
           "met": true}

``reference`` names what the value is compared with in the same run (``reference_value`` its figure, in the same
unit); ``ratio`` is value / reference_value; ``target`` is text, ``met`` whether this run reached it.

Example:
    from benchmarks._figures import figure
    figure("ingest", "demo crawl into SQLite", 812.0, "postings/s", reference="no-op crawl",
           reference_value=1400.0, target=">= 50 % of the no-op rate", met=812.0 >= 0.5 * 1400.0)
"""

from __future__ import annotations

import json
import math

PREFIX = "BENCH "
KEYS = ("stage", "figure", "value", "unit", "reference", "reference_value", "ratio", "target", "met")


def figure(stage: str, figure: str, value: float, unit: str, reference: str | None = None,
           reference_value: float | None = None, target: str | None = None, met: bool | None = None) -> dict:
    """Print one ``BENCH`` line (ratio computed from ``value`` and ``reference_value``) and return its record."""
    ratio = None
    if reference_value not in (None, 0) and value is not None:
        ratio = round(value / reference_value, 4)
    record = {"stage": stage, "figure": figure, "value": _round(value), "unit": unit, "reference": reference,
              "reference_value": _round(reference_value), "ratio": ratio, "target": target,
              "met": None if met is None else bool(met)}
    print(PREFIX + json.dumps(record, ensure_ascii=False), flush=True)
    return record


def parse(line: str) -> dict | None:
    """The record of a ``BENCH`` line, or None for any other line (or a malformed one)."""
    if not line.startswith(PREFIX):
        return None
    try:
        record = json.loads(line[len(PREFIX):])
    except ValueError:
        return None
    if not isinstance(record, dict) or not {"stage", "figure", "value", "unit"} <= record.keys():
        return None
    return {key: record.get(key) for key in KEYS}


def _round(value: float | None) -> float | None:
    """Four significant digits: figures are noisy well before that."""
    if value is None or value == 0 or not math.isfinite(value):
        return value
    digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
    return round(value, digits)
