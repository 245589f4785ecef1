"""Run the board spiders in this process and summarise each source's crawl from ``crawl_runs``.

:func:`run_crawl` starts one CrawlerProcess for every requested source kind, so it can run once per process
(the Twisted reactor cannot restart): long-lived callers such as the scheduler run it in a child process, e.g.::

    python -m crawler.run --source ashby --board cohere --replay data/demo

which prints the summary as JSON, and exits 1 with one line on stderr (:func:`failure_line`) when the disk was
full or sources could not be recorded. ``JOBTREND_CONFIG_DIR`` and ``JOBTREND_DATABASE_URL`` choose the
configuration and the database, as everywhere else.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from crawler.console import quiet_console
from crawler.extensions.crawl_run import INTERRUPTED
from crawler.extensions.source_lines import HOSTS_SETTING, MODE_SETTING, SourceTally
from crawler.middlewares.replay_hosts import replay_hosts_url
from crawler.pipelines.store_posting import DISK_FULL, DISK_FULL_STAT, close_spider
from crawler.plan import narrower, parse_part
from crawler.preflight import fail_unresolved, preflight, source_hosts, uses_system_dns
from crawler.recording import split_by_recording
from crawler.replay import ReplayServer
from crawler.spiders.ashby import AshbySpider
from crawler.spiders.greenhouse import GreenhouseSpider
from crawler.spiders.hackernews import MONTH_RE, HackerNewsSpider
from crawler.spiders.jsonld import JsonLdSpider
from crawler.spiders.lever import LeverSpider
from crawler.spiders.source import SOURCES_SETTING
from jobtrend.config import Config, SourceConfig, load_config
from jobtrend.db import open_engine, require_schema
from jobtrend.logs import configure_from_env
from jobtrend.models import CrawlRun, Source
from jobtrend.weeks import utcnow

logger = logging.getLogger(__name__)

SPIDERS = {"ashby": AshbySpider, "greenhouse": GreenhouseSpider, "lever": LeverSpider,
           "jsonld": JsonLdSpider, "hackernews": HackerNewsSpider}
SUMMARY_FIELDS = ("status", "seen", "new", "updated", "dropped", "errors", "closed")
CONFIGURED_FROM_SETTING = "JOBTREND_CONFIGURED_FROM"  # the config directory crawl_settings read; unset: not yet

SHUTDOWN_REASON = "shutdown"  # Scrapy's close reason for spiders stopped by a signal
# Politeness is pointless against the local replay server: no delay, several requests at once.
REPLAY_SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def run_crawl(config: Config, *, kinds: Sequence[str] | None = None,
              keys: Iterable[str] | None = None, api_base: str | None = None, replay_dir: Path | None = None,
              extra_settings: dict[str, Any] | None = None,
              spider_args: dict[str, dict[str, Any]] | None = None,
              narrow: Callable[[dict[str, list[SourceConfig]]], dict[str, list[SourceConfig]]] | None = None,
              progress: Callable[..., None] | None = None) -> dict:
    """Crawl the configured boards of ``kinds`` (default: every kind with a spider; only ``keys`` when given)
    and return a summary.

    ``api_base`` replaces every ``*_API_BASE`` setting and sends career-site requests to ``<api_base>/sites/<host>``
    (``REPLAY_HOSTS_URL``, crawler/middlewares/replay_hosts.py); ``replay_dir`` serves that directory with a
    :class:`ReplayServer` for the duration of the crawl and points the spiders at it, crawling only the sources the
    recording holds (:mod:`crawler.recording`): the others are left untouched, listed in the summary's
    ``not_in_recording``. An invalid request (:func:`check_request`) raises :class:`InvalidRequest` before anything
    runs. A crawl stopped by SIGINT or SIGTERM records the sources it cut short as ``interrupted``
    (:func:`mark_stopped_runs`) and names the signal in the summary's ``interrupted``. The summary holds, per
    "kind:key", the crawl_runs figures (status, seen, new, updated, dropped, errors, closed, reason), plus
    ``elapsed_s``, ``postings_seen``, ``postings_stored`` and ``postings_per_s``. ``spider_args`` gives
    keyword arguments per kind, e.g. ``{"hackernews": {"since": "2011-04"}}``. ``progress`` (a progress bar's
    ``update(done, total, note="<n> not ok")``) is called as sources finish
    (:class:`~crawler.extensions.source_lines.SourceTally`).

    Nothing crawled goes unreported. A source whose start could not be recorded in crawl_runs (the database
    locked past its timeout, a full disk) was not crawled: it is in the summary as ``failed`` with the reason
    ``not_recorded:<error>``, and ``not_recorded`` counts them. A full disk stops the whole crawl (every spider
    is closed with the reason ``disk_full``) and the summary's ``disk_full`` holds the database's message.
    :func:`failure_line` turns either into the line that makes the crawl's exit status non-zero.
    """
    plan = plan_sources(config, tuple(kinds or SPIDERS), keys)
    plan = narrow(plan) if narrow else plan  # a slice or shard of the sources (crawler/plan.py: --slice, --shard)
    check_since((spider_args or {}).get("hackernews", {}).get("since"))
    not_in_recording: list[str] = []
    if replay_dir is not None:
        plan, not_in_recording = replayable_plan(Path(replay_dir), plan)
    require_schema(config.database_url)
    with ExitStack() as stack:
        if replay_dir is not None:
            api_base = stack.enter_context(ReplayServer(Path(replay_dir))).url
        settings = crawl_settings(config, api_base=api_base, replay=replay_dir is not None, extra=extra_settings)
        hosts = source_hosts(settings, plan)
        settings.set(HOSTS_SETTING, hosts, priority="cmdline")
        tally = SourceTally(sum(len(sources) for sources in plan.values()), progress or ignore_progress)
        tally.report()
        started = time.perf_counter()
        if not uses_system_dns(settings) or preflight(hosts):
            with quiet_console(SPIDERS):
                runs = run_spiders(settings, plan, spider_args or {}, tally)
        else:  # no network: fail every source at once rather than after minutes of retries
            runs = SpiderRuns(run_ids=fail_unresolved(config.database_url, plan, hosts, settings.get(MODE_SETTING)))
            tally.all_failed([source.label for sources in plan.values() for source in sources])
        elapsed = time.perf_counter() - started
    if runs.interrupted:
        mark_stopped_runs(config.database_url, runs.run_ids)
    summary = summarise(config.database_url, runs.run_ids, elapsed)
    summary["not_in_recording"] = not_in_recording
    summary["interrupted"] = runs.interrupted
    return with_unrecorded(summary, runs)


def check_request(config: Config, *, kinds: Sequence[str] | None = None, keys: Iterable[str] | None = None,
                  since: str | None = None, replay_dir: Path | None = None) -> None:
    """Check a crawl request as :func:`run_crawl` would, running nothing: :class:`InvalidRequest` when it is
    invalid."""
    plan = plan_sources(config, tuple(kinds or SPIDERS), list(keys) if keys else None)
    check_since(since)
    if replay_dir is not None:
        replayable_plan(Path(replay_dir), plan)


class InvalidRequest(ValueError):
    """The crawl asked for cannot run as asked (a bad month, a board of no kind, a recording holding none of the
    sources): nothing was crawled or stored."""


def check_since(since: str | None) -> None:
    """Refuse a ``since`` month that is not ``YYYY-MM`` (2026-13 included) before anything is crawled."""
    if since is not None and not MONTH_RE.match(since):
        raise InvalidRequest(f"--since must be a month YYYY-MM (01 to 12), got {since!r}")


def replayable_plan(replay_dir: Path, plan: dict[str, list[SourceConfig]]
                    ) -> tuple[dict[str, list[SourceConfig]], list[str]]:
    """``plan`` narrowed to the sources the recording in ``replay_dir`` holds (:mod:`crawler.recording`), and the
    labels of those left untouched; InvalidRequest when it holds none of them."""
    held, left_out = split_by_recording(replay_dir, plan)
    if left_out and not any(held.values()):
        raise InvalidRequest(f"the recording in {replay_dir} holds none of the {len(left_out)} sources asked for "
                             f"({', '.join(left_out[:3])}{', ...' if len(left_out) > 3 else ''}); nothing crawled")
    if left_out:
        logger.info("not in the recording, left untouched: %s", ", ".join(left_out))
    return held, left_out


def plan_sources(config: Config, kinds: Sequence[str], keys: Iterable[str] | None) -> dict[str, list[SourceConfig]]:
    """The sources to crawl per kind: the enabled configured ones, or those named in ``keys``.

    A key not configured for any kind is crawled too when exactly one kind is asked for; with several kinds it is
    refused (:class:`InvalidRequest`), as is a key configured only for kinds not asked for.
    """
    unknown = [k for k in kinds if k not in SPIDERS]
    if unknown:
        raise InvalidRequest(f"no spider for source kind {', '.join(unknown)} (known: {', '.join(SPIDERS)})")
    if keys is None:
        return {kind: config.sources_of(kind) for kind in kinds}
    keys = list(dict.fromkeys(keys))
    kinds_of: dict[str, set[str]] = {}
    for source in config.sources:
        kinds_of.setdefault(source.key, set()).add(source.kind)
    unknown_keys = [k for k in keys if k not in kinds_of]
    if unknown_keys and len(kinds) != 1:
        raise InvalidRequest(f"--board {', '.join(unknown_keys)}: not in sources.toml; name one --source to crawl "
                             "a board that is not configured")
    elsewhere = {k: sorted(kinds_of[k]) for k in keys if k in kinds_of and not kinds_of[k] & set(kinds)}
    if elsewhere:
        key, found = next(iter(elsewhere.items()))
        raise InvalidRequest(f"--board {key} is configured for {' and '.join(found)}, not {' or '.join(kinds)}: "
                             f"give --source {found[0]}")
    plan = {}
    for kind in kinds:
        by_key = {s.key: s for s in config.sources_of(kind, enabled_only=False)}
        extra = [SourceConfig(kind=kind, key=k) for k in unknown_keys if len(kinds) == 1]
        plan[kind] = [by_key[k] for k in keys if k in by_key] + extra
    return plan


def crawl_settings(config: Config, *, api_base: str | None = None, replay: bool = False,
                   extra: dict[str, Any] | None = None) -> Settings:
    """crawler.settings, then the values from ``config``, then replay and API base, then ``extra``.

    The one place a :class:`~jobtrend.config.Config` becomes Scrapy settings: politeness, the budgets of one source,
    the private-address switch, the database, and every configured source (``JOBTREND_SOURCES``, where a spider
    not given its sources finds them). The values from ``config`` have "cmdline" priority here; the Scrapy command
    line applies them with "project" priority instead (crawler/addons.py), so that ``scrapy crawl -s NAME=VALUE``
    still wins.
    """
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    crawl = config.crawl
    settings.setdict({
        "AUTOTHROTTLE_START_DELAY": crawl.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_MAXSIZE": crawl.download_maxsize,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "JOBTREND_BATCH_SIZE": crawl.batch_size,
        "JOBTREND_ALLOW_PRIVATE_ADDRESSES": crawl.allow_private_addresses,
        "JOBTREND_MAX_BOARD_PAGES": crawl.max_board_pages,
        "JOBTREND_MAX_BOARD_POSTINGS": crawl.max_board_postings,
        "JOBTREND_MAX_LISTING_PAGES": crawl.max_listing_pages,
        CONFIGURED_FROM_SETTING: str(config.config_dir),
        "JOBTREND_DATABASE_URL": config.database_url,
        SOURCES_SETTING: config.sources,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        "USER_AGENT": crawl.user_agent,
    }, priority="cmdline")
    if replay:
        settings.setdict(REPLAY_SETTINGS, priority="cmdline")
    if api_base:
        # a spider with several hosts (Lever's US and EU instances) lists all its settings in api_base_settings
        names = [n for cls in SPIDERS.values() for n in getattr(cls, "api_base_settings", (cls.api_base_setting,))]
        settings.setdict(dict.fromkeys(names, api_base.rstrip("/")), "cmdline")
        # career sites keep their own hosts: crawler/middlewares/replay_hosts.py maps them to <api_base>/sites/
        settings.set("REPLAY_HOSTS_URL", replay_hosts_url(api_base), "cmdline")
    settings.setdict(extra or {}, priority="cmdline")
    return settings


@dataclass
class SpiderRuns:
    """What the spiders of one crawl left: their crawl_runs ids, the sources whose start could not be recorded
    (``kind:key`` -> ``not_recorded:<error>``) and, after a full disk, the database's message."""

    run_ids: list[int] = field(default_factory=list)
    unrecorded: dict[str, str] = field(default_factory=dict)
    disk_full: str | None = None
    interrupted: str | None = None  # the signal that stopped the crawl: "SIGINT" (Ctrl-C) or "SIGTERM"


def ignore_progress(done: int, total: int, **fields: Any) -> None:
    """The progress callback of a crawl nobody watches."""


def run_spiders(settings: Settings, plan: dict[str, list[SourceConfig]],
                spider_args: dict[str, dict[str, Any]], tally: SourceTally | None = None) -> SpiderRuns:
    """Run one spider per kind that has sources, all in one CrawlerProcess; a spider closed for a full disk
    closes the others too (``disk_full``: the crawl stops). ``tally`` hears every spider's sources finish.
    Return what they recorded."""
    runs = SpiderRuns()
    jobs = [(kind, sources) for kind, sources in plan.items() if sources]
    if not jobs:
        return runs
    process = make_process(settings)
    crawlers = []

    def stop_all_on_disk_full(spider, reason: str) -> None:
        # the store may meet the full disk while its spider is already closing ("finished"): read the stats too
        if reason != DISK_FULL and not any(c.stats.get_value(DISK_FULL_STAT) for c in crawlers):
            return
        for other in crawlers:
            if other.crawling and getattr(other.engine, "spider", None) not in (None, spider):
                close_spider(other, DISK_FULL)

    for kind, sources in jobs:
        crawler = process.create_crawler(SPIDERS[kind])
        crawler.signals.connect(stop_all_on_disk_full, signal=signals.spider_closed)
        if tally is not None:
            tally.connect(crawler.signals)
        process.crawl(crawler, sources=sources, **spider_args.get(kind, {}))
        crawlers.append(crawler)
    note_stop_signal(process, runs)
    process.start()
    for crawler in crawlers:
        runs.run_ids += getattr(crawler.spider, "crawl_run_ids", {}).values()
        runs.unrecorded |= getattr(crawler.spider, "unrecorded", None) or {}
        runs.disk_full = runs.disk_full or crawler.stats.get_value(DISK_FULL_STAT)
    return runs


def note_stop_signal(process: CrawlerProcess, runs: SpiderRuns) -> None:
    """Keep the name of the signal that stops the crawl in ``runs.interrupted``.

    Scrapy answers the first SIGINT or SIGTERM by closing every spider (reason ``shutdown``) and a second one by
    stopping at once; it installs its handler, ``_signal_shutdown``, when the reactor starts. Wrapping that handler
    is the one place the signal's name is known.
    """
    graceful_stop = process._signal_shutdown

    def on_stop_signal(signum: int, frame: Any) -> None:
        from twisted.internet import reactor  # installed by now: the handler runs once the reactor does

        runs.interrupted = runs.interrupted or signal.Signals(signum).name
        graceful_stop(signum, frame)
        # not logged here: a signal handler may interrupt a write to the same stream
        reactor.callFromThread(logger.warning, "%s: stopping the crawl once the requests in flight end (at most "
                               "download_timeout); send it again to stop at once", runs.interrupted)

    process._signal_shutdown = on_stop_signal


def mark_stopped_runs(database_url: str, run_ids: list[int]) -> None:
    """After a signal stopped the crawl: the crawl_runs rows it cut short (``cut_short:shutdown``, or still
    running after a forced stop) become status and error ``interrupted``; rows that finished before are kept."""
    if not run_ids:
        return
    stopped = or_(CrawlRun.status == "running",
                  and_(CrawlRun.status == "partial", CrawlRun.error == f"cut_short:{SHUTDOWN_REASON}"))
    with open_engine(database_url) as engine, Session(engine) as session, session.begin():
        session.execute(update(CrawlRun).where(CrawlRun.id.in_(run_ids), stopped).values(
            status=INTERRUPTED, error=INTERRUPTED, finished_at=func.coalesce(CrawlRun.finished_at, utcnow())))


def make_process(settings: Settings) -> CrawlerProcess:
    """A CrawlerProcess that respects logging already set up by the caller (the CLI's level and handlers).

    Without that, Scrapy adds its own root handler next to the caller's and its loggers (level DEBUG) pour
    every scraped item through the caller's handlers.
    """
    caller_logging = bool(logging.getLogger().handlers)
    settings.set("LOG_INSTALL_ROOT_HANDLER", not caller_logging, priority="cmdline")
    level = logging.getLogger().getEffectiveLevel()
    if caller_logging:
        # CrawlerProcess() resets the "scrapy" loggers to DEBUG (dictConfig) and logs its banner at once;
        # records reach the root handlers whatever the root logger's level, so the handlers must filter.
        for handler in logging.getLogger().handlers:
            if handler.level == logging.NOTSET:
                handler.setLevel(level)
    process = CrawlerProcess(settings)
    if caller_logging:
        logging.getLogger("scrapy").setLevel(level)
    return process


def summarise(database_url: str, run_ids: list[int], elapsed: float) -> dict:
    """Per-source figures read back from crawl_runs, with totals and the rate."""
    query = select(CrawlRun, Source.kind, Source.key).join(Source).where(CrawlRun.id.in_(run_ids))
    with open_engine(database_url) as engine, Session(engine) as session:
        rows = session.execute(query.order_by(CrawlRun.id)).all()
    sources = {}
    stored = 0
    for run, kind, key in rows:
        sources[f"{kind}:{key}"] = {name: getattr(run, name) for name in SUMMARY_FIELDS} | {"reason": run.error}
        own = run.stats or {}
        stored += sum(own.get(name, 0) for name in ("new", "updated", "unchanged"))
    seen = sum(s["seen"] for s in sources.values())
    return {"sources": sources, "elapsed_s": round(elapsed, 3), "postings_seen": seen,
            "postings_stored": stored, "postings_per_s": round(stored / elapsed, 1) if elapsed else 0.0}


def with_unrecorded(summary: dict, runs: SpiderRuns) -> dict:
    """The summary with the sources that have no crawl_runs row (failed, ``not_recorded:<error>``), their count
    (``not_recorded``) and a full disk's message (``disk_full``)."""
    for label, reason in runs.unrecorded.items():
        summary["sources"].setdefault(label, dict.fromkeys(SUMMARY_FIELDS, 0) | {
            "status": "failed", "errors": 1, "reason": reason})
    summary["not_recorded"] = len(runs.unrecorded)
    summary["disk_full"] = runs.disk_full
    return summary


def failure_line(summary: dict) -> str | None:
    """The one line that makes a crawl end with a non-zero exit status, or None: a full disk, or sources whose
    crawl could not be recorded (and were not crawled)."""
    if summary.get("disk_full"):
        return f"disk full: {summary['disk_full']}; the crawl was stopped and nothing was closed"
    if summary.get("not_recorded"):
        return (f"{summary['not_recorded']} sources could not be recorded in crawl_runs and were not crawled "
                "(reason not_recorded:<error> above)")
    return None


def parse_setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def shard_option(text: str) -> tuple[int, int]:
    try:
        return parse_part(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.run``: crawl, then print the summary as JSON on stdout."""
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__.split("\n")[0])
    parser.add_argument("--config-dir", type=Path, help="configuration directory (default: JOBTREND_CONFIG_DIR)")
    parser.add_argument("--source", action="append", choices=sorted(SPIDERS), help="source kind (repeatable)")
    parser.add_argument("--board", action="append", help="board key (repeatable; default: every enabled one)")
    parser.add_argument("--replay", type=Path, help="replay recorded responses from this directory")
    parser.add_argument("--api-base", help="send every API request to this base URL instead")
    parser.add_argument("--since", metavar="YYYY-MM", help="hackernews: read every monthly thread from this month on")
    parser.add_argument("-s", "--set", action="append", type=parse_setting, default=[], metavar="NAME=VALUE",
                        help="override a Scrapy setting (repeatable)")
    parser.add_argument("--shard", type=shard_option, metavar="K/N",
                        help="crawl only shard K of N (a stable hash of kind:key, crawler/plan.py)")
    parser.add_argument("--slice", choices=("auto",),
                        help="auto: the scheduler's crawl; when a full crawl does not fit its interval, only this "
                             "run's slice (crawler/plan.py)")
    args = parser.parse_args(argv)
    # the scheduler's level and format (jobtrend.logs.child_logging_env); run by hand: Scrapy's INFO log, as ever
    configure_from_env(default_level=logging.INFO)
    config = load_config(args.config_dir)
    try:
        summary = run_crawl(config, kinds=tuple(args.source or SPIDERS), keys=args.board, api_base=args.api_base,
                            replay_dir=args.replay, extra_settings=dict(args.set),
                            spider_args={"hackernews": {"since": args.since}} if args.since else None,
                            narrow=narrower(config, crawl_settings(config), shard=args.shard,
                                            scheduled=args.slice == "auto"))
    except InvalidRequest as exc:
        parser.error(str(exc))  # one line, exit status 2, nothing run
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    failure = failure_line(summary)
    if failure:
        sys.stdout.flush()
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
