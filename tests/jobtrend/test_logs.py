"""Log line formats: JSON objects for a log collector, and console lines without tracebacks."""

import json
import logging
import sys

from jobtrend.logs import TRACEBACK_HINT, JsonFormatter, WithoutTraceback, formatter


def record_with_traceback() -> logging.LogRecord:
    try:
        raise ValueError("bad value")
    except ValueError:
        return logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "it failed: %s", ("boom",),
                                                  sys.exc_info())


def test_json_lines_hold_time_level_logger_message_and_traceback():
    entry = json.loads(JsonFormatter().format(record_with_traceback()))
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "x", "it failed: boom")
    assert "ValueError: bad value" in entry["traceback"] and entry["time"].endswith("+00:00")


def test_without_traceback_prints_the_message_and_a_hint_and_leaves_the_record_whole():
    record = record_with_traceback()
    line = WithoutTraceback(formatter("text")).format(record)
    assert line.endswith("ERROR x: it failed: boom" + TRACEBACK_HINT) and "\n" not in line
    assert "Traceback" in formatter("text").format(record)  # another handler still gets it
