"""One line per source as its crawl is recorded: ``greenhouse:anthropic ok 123 seen, 4 new`` or
``ashby:foo failed: DNS lookup failed for api.ashbyhq.com (download_error:CannotResolveHostError)``.

The crawl-run extension sends :data:`source_recorded` when it has written a source's outcome to ``crawl_runs``
(when that source's spider closes: its counts are final then). ``JOBTREND_SOURCE_LINES`` says where the line goes:
``"stderr"`` (`jobtrend crawl`: a person watching), ``"log"`` (the default: the ``crawler.sources`` logger, INFO
for ok, WARNING otherwise: the scheduler's crawl) or ``"off"``. ``JOBTREND_SOURCE_HOSTS`` (``kind:key`` -> host,
set by :func:`crawler.run.run_crawl`) lets the plain-words reason name the host.
"""

from __future__ import annotations

import logging
import sys

from scrapy.exceptions import NotConfigured

from jobtrend.reasons import with_words

logger = logging.getLogger("crawler.sources")

MODE_SETTING = "JOBTREND_SOURCE_LINES"
HOSTS_SETTING = "JOBTREND_SOURCE_HOSTS"
MODES = ("stderr", "log", "off")

source_recorded = object()  # signal: label, status, reason, seen, new, updated


def source_line(label: str, status: str, reason: str | None, seen: int, new: int, host: str | None = None) -> str:
    """The line of one source's crawl."""
    counts = f"{seen} seen, {new} new"
    if status == "ok":
        return f"{label} ok {counts}"
    if status == "failed" and not seen:
        return f"{label} failed: {with_words(reason, host)}"
    return f"{label} {status} {counts}: {with_words(reason, host)}"


def emit(mode: str, line: str, ok: bool) -> None:
    """Write ``line`` where ``mode`` says."""
    if mode == "stderr":
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    elif mode == "log":
        (logger.info if ok else logger.warning)("%s", line)


class SourceLinesExtension:
    """Say each source's outcome as soon as it is recorded."""

    def __init__(self, mode: str, hosts: dict[str, str]):
        self.mode = mode
        self.hosts = hosts

    @classmethod
    def from_crawler(cls, crawler):
        mode = crawler.settings.get(MODE_SETTING) or "log"
        if mode not in MODES:
            raise NotConfigured(f"{MODE_SETTING} must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "off":
            raise NotConfigured
        ext = cls(mode, dict(crawler.settings.getdict(HOSTS_SETTING)))
        crawler.signals.connect(ext.source_recorded, signal=source_recorded)
        return ext

    def source_recorded(self, label: str, status: str, reason: str | None, seen: int, new: int) -> None:
        emit(self.mode, source_line(label, status, reason, seen, new, self.hosts.get(label)), status == "ok")
