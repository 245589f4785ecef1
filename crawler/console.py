"""A quiet console for a crawl at the default log level: one line per source, not Scrapy's chatter.

At the default level (WARNING) a network outage made Scrapy log every failed request, its retries and robots.txt
downloads with their tracebacks: hundreds of lines that say what the one line per source says better
(crawler/extensions/source_lines.py). :func:`quiet_console` leaves out, on the root handlers and for the time of
the crawl, Scrapy's and Twisted's records below CRITICAL (except the scraper's ERRORs, a spider bug, shown
without traceback) and the spiders' own per-source warnings, and prints every other record without its
traceback, with a hint saying where it is: the log file when one is open (``(traceback in
data/logs/jobtrend.log)``, jobtrend/logs.py), which gets every record whole, else ``-v``. With ``-v`` (INFO or
DEBUG) nothing is filtered: every line and traceback is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from jobtrend.logs import console_handlers, console_level, without_traceback

NOISY_PREFIXES = ("scrapy", "twisted", "py.warnings")
SPIDER_BUG_LOGGER = "scrapy.core.scraper"  # "Spider error processing ...": a bug in a callback


class CrawlNoiseFilter(logging.Filter):
    """Drop the per-request records of Scrapy, Twisted and the spiders (``spider_names``) below their bar."""

    def __init__(self, spider_names: Iterable[str]):
        super().__init__()
        self.spider_names = frozenset(spider_names)

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name == SPIDER_BUG_LOGGER:
            return record.levelno >= logging.ERROR
        if name.split(".")[0] in NOISY_PREFIXES:
            return record.levelno >= logging.CRITICAL
        if name in self.spider_names:
            return record.levelno >= logging.ERROR
        return True


@contextmanager
def quiet_console(spider_names: Iterable[str]) -> Iterator[None]:
    """For the block: when the console is at the default level or quieter, filter the console handlers' crawl
    noise and print their records without tracebacks; restore the handlers afterwards. The log file is left
    alone."""
    handlers = console_handlers()
    if console_level() < logging.WARNING or not handlers:
        yield
        return
    noise = CrawlNoiseFilter(spider_names)
    saved = [(handler, handler.formatter) for handler in handlers]
    for handler, inner in saved:
        handler.addFilter(noise)
        handler.setFormatter(without_traceback(inner))
    try:
        yield
    finally:
        for handler, inner in saved:
            handler.removeFilter(noise)
            handler.setFormatter(inner)
