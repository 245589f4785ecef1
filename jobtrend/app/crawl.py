"""``crawl``: every enabled source (or those asked for), through the Scrapy spiders, into the database.

One crawl at a time per database: the use case holds the ``crawl`` job lock (:class:`jobtrend.locks.JobLock`)
while it runs, so a second crawl (the scheduler's or another terminal's) is refused rather than sending every
host twice the requests. The scheduler runs the crawl in a child process (``python -m crawler.run``: the Twisted
reactor cannot restart in one process) while it holds the lock, and reads the child's summary into a
:class:`CrawlResult` like this one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from crawler.extensions.source_lines import MODE_SETTING
from crawler.run import InvalidRequest, check_request, failure_line, run_crawl
from jobtrend.app import AppError
from jobtrend.config import Config
from jobtrend.db import require_schema, require_writable
from jobtrend.locks import JobLock, Locked
from jobtrend.progress import Stages, no_bars


@dataclass(frozen=True)
class CrawlResult:
    """The crawl summary: ``sources`` maps ``kind:key`` to that source's status and counts."""

    summary: dict[str, Any]

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        return self.summary.get("sources", {})

    @property
    def failed(self) -> dict[str, dict[str, Any]]:
        """The sources whose crawl did not end ``ok``."""
        return {label: s for label, s in self.sources.items() if s.get("status") != "ok"}

    @property
    def all_failed(self) -> bool:
        """No source crawled ended ``ok`` (every one failed, partial or interrupted; none crawled: False)."""
        return bool(self.sources) and all(s.get("status") != "ok" for s in self.sources.values())

    @property
    def outcome(self) -> str:
        """The crawl as one word, as ``job_runs`` records it: "failed" when it stopped for a full disk, could not
        record sources or no source ended ok; "partial" when some did not; else "ok"."""
        if self.failure or self.all_failed:
            return "failed"
        return "partial" if self.failed else "ok"

    def reasons_line(self) -> str:
        """The sources not ok, counted by reason, most frequent first: "56 sources not ok:
        download_error:CannotResolveHostError 55, http_404 1"."""
        reasons = Counter(s.get("reason") or s.get("status") or "?" for s in self.failed.values())
        return (f"{len(self.failed)} of {len(self.sources)} sources not ok: "
                + ", ".join(f"{reason} {n}" for reason, n in reasons.most_common()))

    @property
    def interrupted(self) -> str | None:
        """The signal that stopped the crawl ("SIGINT": Ctrl-C, "SIGTERM"), or None: it ran to its end."""
        return self.summary.get("interrupted")

    @property
    def not_in_recording(self) -> list[str]:
        """A replayed crawl's sources that the recording does not hold: left untouched (``kind:key``)."""
        return self.summary.get("not_in_recording") or []

    @property
    def failure(self) -> str | None:
        """Why the crawl as a whole failed although it ran: a full disk stopped it, or sources could not be
        recorded in crawl_runs (``not_recorded:<error>``) and were not crawled; None otherwise."""
        return failure_line(self.summary)

    def counts(self) -> dict[str, Any]:
        """The totals kept in ``job_runs.details``."""
        sources = self.sources.values()
        return {"sources": len(self.sources), "sources_not_ok": len(self.failed),
                "seen": sum(s.get("seen") or 0 for s in sources),
                "new": sum(s.get("new") or 0 for s in sources),
                "updated": sum(s.get("updated") or 0 for s in sources),
                "not_recorded": self.summary.get("not_recorded") or 0,
                "elapsed_s": round(self.summary.get("elapsed_s") or 0, 1)}


class InvalidCrawl(AppError):
    """The crawl asked for is invalid (a bad month, a board of no kind asked for, a recording holding none of the
    sources): a usage mistake, found before anything ran or was stored."""


def crawl(config: Config, *, kinds: Sequence[str] | None = None, keys: Sequence[str] | None = None,
          replay_dir: Path | None = None, api_base: str | None = None, since: str | None = None,
          settings: dict[str, Any] | None = None, progress: Stages = no_bars,
          source_lines: bool = False, estimate_s: float | None = None) -> CrawlResult:
    """Crawl the configured sources (``kinds``/``keys`` narrow them) and store their postings.

    ``source_lines``: print one line per source on stderr as soon as its outcome is known (a person watching);
    otherwise they are logged (crawler/extensions/source_lines.py). ``progress`` draws one stage, "sources":
    sources finished of all, how many not ok, and the time left, never less than ``estimate_s`` (the politeness
    estimate, crawler/plan.py) leaves; with ``since``, the Hacker News threads read instead.

    ``replay_dir`` serves recorded responses on 127.0.0.1 instead of the network (politeness off: see
    :data:`crawler.run.REPLAY_SETTINGS`) and crawls only the sources the recording holds, leaving the others
    untouched; ``since`` backfills Hacker News from that month, one progress step per thread.
    :class:`InvalidCrawl` when the request is invalid (checked before anything runs), AppError when another crawl
    of this database is running. A crawl stopped by SIGINT or SIGTERM returns, its cut-short sources recorded as
    ``interrupted`` (:attr:`CrawlResult.interrupted`).
    """
    try:
        check_request(config, kinds=kinds, keys=keys, since=since, replay_dir=replay_dir)
    except InvalidRequest as exc:
        raise InvalidCrawl(str(exc)) from None
    require_schema(config.database_url)  # neither creates a database nor takes a lock beside one it cannot write
    require_writable(config.database_url)
    try:
        with JobLock(config.database_url, "crawl"), \
                progress("Hacker News threads" if since else "sources") as update:
            summary = run_crawl(config, kinds=kinds or None, keys=list(keys) if keys else None, api_base=api_base,
                                replay_dir=replay_dir,
                                extra_settings={MODE_SETTING: "stderr"} | (settings or {}) if source_lines
                                else settings or {},
                                spider_args={"hackernews": {"since": since, "on_thread": update}} if since else None,
                                progress=None if since else partial(update, estimate_s=estimate_s))
    except (Locked, ValueError) as exc:
        raise AppError(str(exc)) from None
    return CrawlResult(summary)

