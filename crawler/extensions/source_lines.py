"""One line per source as soon as its outcome is known: ``ashby:cohere ok 123 listed`` or
``ashby:foo failed: DNS lookup failed for api.ashbyhq.com (download_error:CannotResolveHostError)``.

A spider crawls every source of its kind and closes after the last one, so a line written when the
``crawl_runs`` rows are (at spider close) would keep 1,590 Ashby boards silent for half an hour and then print
them all at once. The line is printed instead when the spider sets the source's result (its last page read, or
its failure): the spider sends :data:`~crawler.spiders.source.source_finished`. It says what is known then: the
status, how many postings the source listed and, when it is not ok, why in plain words
(:func:`jobtrend.reasons.with_words`); how many were new is known only once the store has written its last
batch, and is in the table the crawl prints at its end.

The crawl-run extension sends :data:`source_recorded` when it has written the source's ``crawl_runs`` row (at
spider close). When that changes the outcome (a lost batch makes it ``partial``, a full disk ``failed``, a crawl
cut short ``partial``) a second, correcting line is printed for that source: ``ashby:cohere now partial 123 seen,
120 new: some postings could not be stored (store_error)``; when it does not, nothing more. A source that never
got a result (the crawl was stopped before it finished) gets its one line then, as recorded.

``JOBTREND_SOURCE_LINES`` says where the lines go: ``"stderr"`` (`jobtrend crawl`: a person watching; above the
progress bar when one is drawn, jobtrend/progress.py), ``"log"`` (the default: the ``crawler.sources`` logger,
INFO for ok, WARNING otherwise: the scheduler's crawl) or ``"off"``. ``JOBTREND_SOURCE_HOSTS`` (``kind:key`` ->
host, set by :func:`crawler.run.run_crawl`) lets the plain-words reason name the host.

:class:`SourceTally` counts the same two signals for a progress bar: sources finished, and how many not ok.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from scrapy.exceptions import NotConfigured

from crawler.spiders.source import SourceResult, source_finished
from jobtrend.logs import log_to_file
from jobtrend.reasons import with_words

logger = logging.getLogger("crawler.sources")

MODE_SETTING = "JOBTREND_SOURCE_LINES"
HOSTS_SETTING = "JOBTREND_SOURCE_HOSTS"
MODES = ("stderr", "log", "off")

source_recorded = object()  # signal: label, status, reason, seen, new


def source_line(label: str, status: str, reason: str | None, seen: int, new: int, host: str | None = None) -> str:
    """The line of one source's crawl as recorded in ``crawl_runs``."""
    counts = f"{seen} seen, {new} new"
    if status == "ok":
        return f"{label} ok {counts}"
    if status == "failed" and not seen:
        return f"{label} failed: {with_words(reason, host)}"
    return f"{label} {status} {counts}: {with_words(reason, host)}"


def finished_line(label: str, status: str, reason: str | None, listed: int, host: str | None = None) -> str:
    """The line of a source whose spider has just set its result: what is known before it is recorded."""
    if status == "ok":
        return f"{label} ok {listed} listed"
    if status == "failed" and not listed:
        return f"{label} failed: {with_words(reason, host)}"
    return f"{label} {status} {listed} listed: {with_words(reason, host)}"


def correcting_line(label: str, status: str, reason: str | None, seen: int, new: int, host: str | None = None) -> str:
    """The second line of a source whose recorded outcome differs from the one its first line said."""
    return f"{label} now {source_line(label, status, reason, seen, new, host).removeprefix(label).lstrip()}"


def emit(mode: str, line: str, ok: bool) -> None:
    """Write ``line`` where ``mode`` says (``sys.stderr`` as it is now: under a live progress bar, rich's proxy
    that prints it above the bar); on stderr, also into the log file when one is open (``--log-file``)."""
    if mode == "stderr":
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        log_to_file(logger.name, line, level=logging.INFO if ok else logging.WARNING)  # the file only, if open
    elif mode == "log":
        (logger.info if ok else logger.warning)("%s", line)


class SourceLinesExtension:
    """Say each source's outcome as soon as its spider knows it, and correct it if recording changes it."""

    def __init__(self, mode: str, hosts: dict[str, str]):
        self.mode = mode
        self.hosts = hosts
        self.said: dict[str, tuple[str, str | None]] = {}  # label -> (status, reason) its line said

    @classmethod
    def from_crawler(cls, crawler):
        mode = crawler.settings.get(MODE_SETTING) or "log"
        if mode not in MODES:
            raise NotConfigured(f"{MODE_SETTING} must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "off":
            raise NotConfigured
        ext = cls(mode, dict(crawler.settings.getdict(HOSTS_SETTING)))
        crawler.signals.connect(ext.source_finished, signal=source_finished)
        crawler.signals.connect(ext.source_recorded, signal=source_recorded)
        return ext

    def source_finished(self, label: str, result: SourceResult) -> None:
        if label in self.said:  # a spider that sets a source's result twice: its first line stands
            return
        self.said[label] = (result.status, result.reason)
        line = finished_line(label, result.status, result.reason, len(result.seen_ids), self.hosts.get(label))
        emit(self.mode, line, result.status == "ok")

    def source_recorded(self, label: str, status: str, reason: str | None, seen: int, new: int) -> None:
        said = self.said.get(label)
        if said == (status, reason):
            return
        write = source_line if said is None else correcting_line
        self.said[label] = (status, reason)
        emit(self.mode, write(label, status, reason, seen, new, self.hosts.get(label)), status == "ok")


class SourceTally:
    """Sources finished so far and how many of them not ok, from :data:`source_finished` and
    :data:`source_recorded` of every crawler of a crawl (:func:`crawler.run.run_spiders` connects it): each change
    calls ``update(done, total, note="<n> not ok")`` (jobtrend/progress.py). A source's latest outcome counts."""

    def __init__(self, total: int, update: Callable[..., None]):
        self.total = total
        self.update = update
        self.status: dict[str, str] = {}  # label -> its latest status

    def connect(self, signals) -> None:
        """Listen to one crawler's signals."""
        signals.connect(self.source_finished, signal=source_finished)
        signals.connect(self.source_recorded, signal=source_recorded)

    def source_finished(self, label: str, result: SourceResult) -> None:
        self.status.setdefault(label, result.status)
        self.report()

    def source_recorded(self, label: str, status: str, **_counts) -> None:
        self.status[label] = status
        self.report()

    def all_failed(self, labels: list[str]) -> None:
        """Every one of ``labels`` failed at once (no host resolved: crawler/preflight.py)."""
        self.status.update(dict.fromkeys(labels, "failed"))
        self.report()

    def report(self) -> None:
        not_ok = sum(status != "ok" for status in self.status.values())
        self.update(len(self.status), self.total, note=f"{not_ok} not ok")
