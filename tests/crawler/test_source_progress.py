"""The pieces of a crawl's live progress: a spider announces each source as its result is set, a tally counts
them for the bar, and the bar (jobtrend/progress.py) shows sources finished of all, the not-ok count and the time
left, with the lines per source printed above it; without a terminal there is no bar."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from rich.console import Console

from crawler.extensions.source_lines import (
    MODE_SETTING,
    SourceLinesExtension,
    SourceTally,
    finished_line,
    source_recorded,
)
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.source import SourceResult, source_finished
from jobtrend.config import SourceConfig
from jobtrend.progress import progress_bar, time_left
from tests.crawler.conftest import make_spider, parse_board

CHARACTER, NOPE = SourceConfig("ashby", "character"), SourceConfig("ashby", "nope")


def test_a_spider_announces_each_source_as_its_result_is_set():
    spider = make_spider(AshbySpider, [CHARACTER, NOPE])
    heard = []

    def listen(label, result):
        heard.append((label, result.status, result.reason, len(result.seen_ids)))

    spider.crawler.signals.connect(listen, signal=source_finished)
    parse_board(spider, CHARACTER)  # the whole board read: ok
    assert heard == [("ashby:character", "ok", None, 15)]
    spider.source_failed(NOPE, "http_404")
    assert heard[1:] == [("ashby:nope", "failed", "http_404", 0)]
    assert set(spider.source_results) == {"character", "nope"}


def test_the_schedulers_log_gets_the_line_as_the_source_finishes(caplog):
    """Mode "log" (the scheduler's crawl) has the same timing: logged when the board is read, not at close."""
    spider = make_spider(AshbySpider, [CHARACTER, NOPE], {MODE_SETTING: "log"})
    lines = SourceLinesExtension.from_crawler(spider.crawler)  # kept: signals hold their receivers weakly
    with caplog.at_level(logging.INFO, logger="crawler.sources"):
        parse_board(spider, CHARACTER)
        spider.source_failed(NOPE, "http_404")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "crawler.sources"] == [
        ("crawler.sources", "INFO", "ashby:character ok 15 listed"),
        ("crawler.sources", "WARNING", "ashby:nope failed: the board does not exist (HTTP 404): check its key "
                                       "(http_404)")]
    assert set(lines.said) == {"ashby:character", "ashby:nope"}


def test_the_early_line_says_what_is_known_before_the_postings_are_stored():
    assert finished_line("ashby:cohere", "ok", None, 123) == "ashby:cohere ok 123 listed"
    assert finished_line("ashby:foo", "failed", "http_404", 0) == \
        "ashby:foo failed: the board does not exist (HTTP 404): check its key (http_404)"
    assert finished_line("lever:x", "partial", "page_limit_reached", 500) == \
        "lever:x partial 500 listed: more pages than crawl.max_board_pages (page_limit_reached)"


def test_the_tally_counts_each_source_once_by_its_latest_outcome():
    calls = []
    tally = SourceTally(3, lambda done, total, **fields: calls.append((done, total, fields["note"])))
    tally.source_finished(label="ashby:a", result=SourceResult("ok"))
    tally.source_finished(label="ashby:b", result=SourceResult("failed", "http_404"))
    tally.source_recorded(label="ashby:a", status="partial", reason="store_error", seen=1, new=0)  # corrected
    tally.source_recorded(label="ashby:b", status="failed", reason="http_404", seen=0, new=0)
    tally.source_recorded(label="ashby:c", status="partial", reason="cut_short:shutdown", seen=0, new=0)
    assert calls == [(1, 3, "0 not ok"), (2, 3, "1 not ok"), (2, 3, "2 not ok"), (2, 3, "2 not ok"),
                     (3, 3, "3 not ok")]
    unresolved = SourceTally(2, lambda done, total, **fields: calls.append((done, total, fields["note"])))
    unresolved.all_failed(["ashby:a", "ashby:b"])  # no host resolved: one update for all
    assert calls[-1] == (2, 2, "2 not ok") and len(calls) == 6


def test_the_tally_hears_a_crawlers_signals():
    spider = make_spider(AshbySpider, [CHARACTER])
    calls = []
    tally = SourceTally(1, lambda done, total, **fields: calls.append((done, total, fields["note"])))
    tally.connect(spider.crawler.signals)
    parse_board(spider, CHARACTER)
    spider.crawler.signals.send_catch_log(source_recorded, label="ashby:character", status="ok", reason=None,
                                          seen=15, new=15)
    assert calls == [(1, 1, "0 not ok"), (1, 1, "0 not ok")]


@pytest.fixture
def stderr_log():
    """A root handler writing to stderr, as the CLI sets one up."""
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def test_a_terminal_gets_the_sources_bar_with_its_lines_above(not_ci, stderr_log):
    out = io.StringIO()
    with progress_bar("sources", console=Console(file=out, force_terminal=True, width=120)) as update:
        update(0, 3, note="0 not ok", estimate_s=600)
        sys.stderr.write("ashby:a ok 12 listed\n")  # what the source-lines extension writes
        update(1, 3, note="0 not ok", estimate_s=600)
        sys.stderr.write("ashby:b failed: the board does not exist (HTTP 404): check its key (http_404)\n")
        logging.getLogger("crawler.extensions.crawl_run").warning("a warning while the bar is drawn")
        update(3, 3, note="1 not ok", estimate_s=600)
    text = out.getvalue()
    assert "ashby:a ok 12 listed" in text and "(http_404)" in text and "a warning while the bar is drawn" in text
    assert text.index("ashby:a ok 12 listed") < text.index("1/3") < text.index("(http_404)") < text.rindex("3/3")
    assert stderr_log.stream is sys.stderr  # the handler writes to stderr again, not to the bar's console
    assert "sources" in text and "1/3" in text and "3/3" in text and "1 not ok" in text
    assert "elapsed" in text and "~0:09:" in text  # the politeness estimate bounds the time left


def test_no_terminal_no_bar_and_the_lines_go_straight_to_stderr(not_ci, capsys):
    out = io.StringIO()
    with progress_bar("sources", console=Console(file=out, width=120)) as update:
        update(1, 3, note="0 not ok")
        sys.stderr.write("ashby:a ok 12 listed\n")
    assert out.getvalue() == ""
    assert capsys.readouterr().err == "ashby:a ok 12 listed\n"


@pytest.mark.parametrize(("measured", "estimate_s", "elapsed", "left"), [
    (None, None, 5.0, None),  # nothing known yet
    (30.0, None, 5.0, 30.0),  # the pace so far
    (None, 600.0, 60.0, 540.0),  # before any pace: what the lower bound leaves
    (30.0, 600.0, 60.0, 540.0),  # the pace says less than the politeness budget allows: the bound wins
    (900.0, 600.0, 60.0, 900.0),  # slower than the bound: the pace
    (None, 600.0, 700.0, 0.0),  # past the bound, no pace: nothing left that it knows of
])
def test_time_left_is_the_pace_never_less_than_the_lower_bound_leaves(measured, estimate_s, elapsed, left):
    assert time_left(measured, estimate_s, elapsed) == left
