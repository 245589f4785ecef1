"""The BENCH line contract: benchmarks/_figures.py writes it, benchmarks/__main__.py reads it into the table and
RESULTS.md, keeping the hand-written "What limits each figure" section between runs."""

from __future__ import annotations

import json

from benchmarks import __main__ as harness
from benchmarks._figures import PREFIX, figure, parse


def test_figure_prints_one_parsable_line_with_the_ratio(capsys):
    record = figure("ingest", "demo crawl", 812.04, "postings/s", reference="no-op crawl", reference_value=1400.0,
                    target=">= 50 %", met=True)
    line = capsys.readouterr().out
    assert line.startswith(PREFIX) and line.count("\n") == 1
    assert json.loads(line[len(PREFIX):]) == record
    assert record["ratio"] == round(812.04 / 1400.0, 4)
    assert parse(line.rstrip("\n")) == record


def test_no_reference_means_no_ratio(capsys):
    record = figure("memory", "peak RSS", 203.1, "MiB")
    assert record["ratio"] is None and record["met"] is None and record["reference"] is None


def test_other_and_malformed_lines_are_not_figures():
    assert parse("html_to_text: 4,000 pages/s") is None
    assert parse("BENCH {not json") is None
    assert parse('BENCH {"stage": "x"}') is None  # lacks figure, value, unit


def test_table_rows_show_reference_ratio_and_met():
    rows = harness.rows([{"stage": "mentions", "figure": "Matcher.find", "value": 54.6, "unit": "MB/s",
                          "reference": "naive loop", "reference_value": 0.17, "ratio": 321.2, "target": ">= 40",
                          "met": False}])
    assert rows == [("mentions", "Matcher.find", "54.6 MB/s", "naive loop (0.17 MB/s)", "321x", ">= 40", "NO")]
    assert "| mentions | Matcher.find |" in harness.markdown_table(rows)


def test_limits_section_is_kept_between_runs(tmp_path):
    results = tmp_path / "RESULTS.md"
    assert harness.kept_limits(results) == harness.LIMITS_TEMPLATE
    written = harness.results_markdown({"CPU": "test"}, [], [], "## What limits each figure\n\nThe disk.\n")
    results.write_text(written)
    assert "The disk." in harness.kept_limits(results)
    again = harness.results_markdown({"CPU": "test"}, [], ["bench_x.py"], harness.kept_limits(results))
    assert again.count("The disk.") == 1 and "bench_x.py" in again
