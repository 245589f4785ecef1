"""``crawl``: every enabled source (or those asked for), through the Scrapy spiders, into the database.

One crawl at a time per database: the use case holds the ``crawl`` job lock (:class:`jobtrend.locks.JobLock`)
while it runs, so a second crawl (the scheduler's or another terminal's) is refused rather than sending every
host twice the requests. The scheduler runs the crawl in a child process (``python -m crawler.run``: the Twisted
reactor cannot restart in one process) while it holds the lock, and reads the child's summary into a
:class:`CrawlResult` like this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.run import failure_line, run_crawl
from jobtrend.app import AppError
from jobtrend.config import Config
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
        """Every source crawled failed (none crawled: False)."""
        return bool(self.sources) and all(s.get("status") == "failed" for s in self.sources.values())

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


def crawl(config: Config, *, kinds: Sequence[str] | None = None, keys: Sequence[str] | None = None,
          replay_dir: Path | None = None, api_base: str | None = None, since: str | None = None,
          settings: dict[str, Any] | None = None, progress: Stages = no_bars) -> CrawlResult:
    """Crawl the configured sources (``kinds``/``keys`` narrow them) and store their postings.

    ``replay_dir`` serves recorded responses on 127.0.0.1 instead of the network (politeness off: see
    :data:`crawler.run.REPLAY_SETTINGS`); ``since`` backfills Hacker News from that month, one progress step per thread.
    AppError when another crawl of this database is running or the request is invalid.
    """
    try:
        with JobLock(config.database_url, "crawl"), \
                progress("Hacker News threads") if since else nullcontext() as update:
            summary = run_crawl(config, kinds=kinds or None, keys=list(keys) if keys else None, api_base=api_base,
                                replay_dir=replay_dir, extra_settings=settings or {},
                                spider_args={"hackernews": {"since": since, "on_thread": update}} if since else None)
    except (Locked, ValueError) as exc:
        raise AppError(str(exc)) from None
    return CrawlResult(summary)

